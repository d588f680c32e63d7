"""Every write hands its idempotency key to its use case: a servicer that forgot would run a
retried write twice, silently. The key reaches the use case only through `once(...)`
(api/context.py) and joins its transaction only through the unit of work (app/idempotency.py),
never through an ambient transaction."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pytest

from consentd.api.audit_servicer import AuditServicer
from consentd.api.campaign_servicer import CampaignServicer
from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.cookie_servicer import CookieServicer
from consentd.api.methods import methods
from consentd.api.retention_servicer import RetentionServicer
from consentd.api.rights_servicer import RightsServicer

SERVICERS: dict[str, type] = {
    "AuditService": AuditServicer,
    "CampaignService": CampaignServicer,
    "CatalogService": CatalogServicer,
    "ConsentService": ConsentServicer,
    "CookieService": CookieServicer,
    "RetentionService": RetentionServicer,
    "RightsService": RightsServicer,
}
PACKAGE = Path(__file__).resolve().parents[2] / "service" / "consentd"


def _calls(source: str) -> set[str]:
    """The names of the functions `source` calls."""
    tree = ast.parse(textwrap.dedent(source))
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def _rpcs(writes: bool) -> list[tuple[str, str]]:
    return [
        (path.split("/")[1].split(".")[-1], path.split("/")[2])
        for path, method in methods().items()
        if method.writes is writes
    ]


@pytest.mark.parametrize(("service", "rpc"), _rpcs(writes=True))
def test_every_write_hands_its_key_to_its_use_case(service: str, rpc: str) -> None:
    source = inspect.getsource(getattr(SERVICERS[service], rpc))
    assert "once" in _calls(source), f"{service}.{rpc} does not pass once(...) to its use case"


@pytest.mark.parametrize(("service", "rpc"), _rpcs(writes=False))
def test_reads_take_no_key(service: str, rpc: str) -> None:
    source = inspect.getsource(getattr(SERVICERS[service], rpc))
    assert "once" not in _calls(source), f"{service}.{rpc} is a read: a key means nothing there"


# The call's deadline (its remaining time bounds each statement) is the one ContextVar below
# the API: it decides how long a statement may wait, never which transaction it runs in.
DEADLINE = PACKAGE / "store" / "deadlines.py"


def test_no_transaction_is_joined_through_a_context_variable() -> None:
    """The store and the use cases hold no other ContextVar: who commits is in the arguments."""
    for layer in ("app", "store"):
        for path in (PACKAGE / layer).rglob("*.py"):
            if path != DEADLINE:
                assert "ContextVar" not in path.read_text(), path


def test_the_checks_see_a_servicer_that_forgot_its_key() -> None:
    forgot = """
    async def RecordConsent(self, request, context):
        return conv.record_out(await self._consents.record_consent(principal(), command))
    """
    kept = forgot.replace("command))", "command, once(conv.record_out)))")
    assert "once" not in _calls(forgot)
    assert "once" in _calls(kept)
