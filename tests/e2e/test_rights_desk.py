"""A tenant's rights desk is mailed, once a day after 08:00 Paris time, the rights requests to
answer (rights_desk.py): a request near or past its month was said only in the operator's log
and metrics, nothing reached the tenant's DPO who answers it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import consent_pb2, rights_pb2, rights_pb2_grpc, types_pb2
from structlog.testing import capture_logs

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.errors import FailedPrecondition, InvalidInput
from consentd.domain.months import LEGAL_ZONE
from consentd.domain.tenancy import Tenant
from consentd.notifiers import SmtpNotifier, SmtpRelay
from consentd.rights_desk import RightsDesk
from consentd.store.tables import audit_entries
from tests.conftest import Stubs, owner
from tests.e2e.helpers import by_email, grant, put_purpose, target
from tests.e2e.mailbox import Mailbox, body_of, smtp_server
from tests.integration.helpers import ended_long_ago


@pytest.fixture
def relay() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


def _desk(app: App, port: int, at: datetime, language: str = "fr") -> RightsDesk:
    relay = SmtpRelay("127.0.0.1", port, "consent@consentd.example", tls="none")
    return RightsDesk(owner(app), SmtpNotifier(relay, language), language, clock=lambda: at)


def _paris(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.astimezone(LEGAL_ZONE).replace(hour=hour, minute=minute).astimezone(UTC)


async def _requests(channel: grpc.aio.Channel, stubs: Stubs, person: str) -> list[str]:
    """An access request and an erase request of `person`, received now; their ids."""
    await put_purpose(stubs, "newsletter")
    recorded = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=person),
        choices=[grant(target("newsletter"))],
        source=types_pb2.SOURCE_PORTAL,
    )
    await stubs.consent.RecordConsent(recorded, metadata=stubs.metadata)
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    ids = []
    for kind in (rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, rights_pb2.RIGHTS_REQUEST_KIND_ERASE):
        filed = await rights.SubmitRightsRequest(
            rights_pb2.SubmitRightsRequestRequest(kind=kind, subject=by_email(person)),
            metadata=stubs.metadata,
        )
        ids.append(filed.request.request_id)
    return ids


def _to(mailbox: Mailbox, address: str) -> list[Any]:
    return [m for m in mailbox.messages if m["To"] == address]


async def test_the_desk_gets_one_digest_a_day_of_the_requests_to_answer(
    app: App, channel: grpc.aio.Channel, stubs: Stubs, tenant: Tenant, relay: tuple[Mailbox, int]
) -> None:
    """Set, the desk is mailed on the first pass after 08:00 Paris time the requests late, due
    within 7 days or new, by id, kind, state and dates, never the person's address; once,
    however many passes and replicas run; not before the next day's 08:00."""
    assert app.admin is not None
    mailbox, port = relay
    desk = f"dpo-{uuid4().hex[:8]}@acme.example"
    person = f"lea-{uuid4().hex[:8]}@example.fr"
    ids = await _requests(channel, stubs, person)
    assert await app.admin.set_rights_desk(tenant.slug, desk.upper().replace("@ACME", "@acme"))
    late = _paris(datetime.now(UTC) + timedelta(days=40), 9)  # a month and more: both late
    # Two replicas' watches, at once and again: one digest.
    replicas = [_desk(app, port, late), _desk(app, port, late)]
    await asyncio.gather(*(r.send_due() for r in replicas))
    await replicas[0].send_due()
    (message,) = _to(mailbox, desk)
    assert tenant.name in message["Subject"]
    body = body_of(message)
    assert "- en retard : 2" in body
    for request_id in ids:
        assert f"{request_id}  " in body
    assert "accès — identité à vérifier — reçue le" in body
    assert "effacement — identité à vérifier — reçue le" in body
    assert body.count("EN RETARD") == 2
    assert person not in body
    assert person.split("@", maxsplit=1)[0] not in body
    # Before the next day's 08:00: nothing more; after it, the next digest.
    await _desk(app, port, late + timedelta(hours=22, minutes=30)).send_due()
    assert len(_to(mailbox, desk)) == 1
    await _desk(app, port, late + timedelta(days=1)).send_due()
    assert len(_to(mailbox, desk)) == 2
    # The change is audited with the address's digest, never the address.
    query = sa.select(audit_entries.c.payload).where(
        audit_entries.c.tenant_id == tenant.tenant_id,
        audit_entries.c.action == "tenant.rights_desk_set",
    )
    await app.sequencer.drain(tenant.tenant_id)
    async with owner(app).connect() as conn:
        (payload,) = (await conn.execute(query)).scalars()
    assert set(payload) == {"address_sha256"}
    assert desk not in repr(payload)


async def test_no_mail_when_nothing_is_to_answer_and_none_once_removed(
    app: App, tenant: Tenant, relay: tuple[Mailbox, int]
) -> None:
    assert app.admin is not None
    mailbox, port = relay
    desk = f"dpo-{uuid4().hex[:8]}@acme.example"
    await app.admin.set_rights_desk(tenant.slug, desk)
    tomorrow = datetime.now(UTC) + timedelta(days=1)  # the first digest: the next 08:00 on
    with capture_logs() as logs:
        await _desk(app, port, tomorrow).send_due()
    assert _to(mailbox, desk) == []  # no request: nothing to say
    skipped = [e for e in logs if e.get("tenant") == tenant.slug]
    assert [e["event"] for e in skipped] == ["rights_digest_skipped"]
    assert await app.admin.rights_desk(tenant.slug) == desk
    await app.admin.set_rights_desk(tenant.slug, None)
    assert await app.admin.rights_desk(tenant.slug) is None


async def test_a_relay_that_refused_leaves_the_digest_for_the_next_pass(
    app: App, channel: grpc.aio.Channel, stubs: Stubs, tenant: Tenant, relay: tuple[Mailbox, int]
) -> None:
    assert app.admin is not None
    mailbox, port = relay
    desk = f"dpo-{uuid4().hex[:8]}@acme.example"
    await app.admin.set_rights_desk(tenant.slug, desk)
    await _requests(channel, stubs, f"paul-{uuid4().hex[:8]}@example.fr")
    # Set at 03:00 it waits for 08:00 (it mailed at once, then again at 08:00: probe RA).
    await _desk(app, port, datetime.now(UTC)).send_due()
    assert _to(mailbox, desk) == []
    at = datetime.now(UTC) + timedelta(days=1)  # new ones: received since the desk was set
    with smtp_server() as (_, closed):
        pass  # a port nothing listens on any more
    await _desk(app, closed, at).send_due()
    assert _to(mailbox, desk) == []
    await _desk(app, port, at + timedelta(minutes=15)).send_due()
    (message,) = _to(mailbox, desk)
    assert "- reçues depuis le récapitulatif précédent : 2" in body_of(message)


async def test_a_purge_forgets_the_desk_and_off_works_on_a_purged_tenant(
    app: App, admin: AdminUseCases, relay: tuple[Mailbox, int]
) -> None:
    """Probe RA: a purged tenant kept its desk's address (often a named person's) for good,
    and `--off` was refused ("this tenant's data was purged")."""
    assert app.admin is not None
    assert app.retention is not None
    gone = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    await app.admin.set_rights_desk(gone.slug, "dpo.gone@acme.example")
    await ended_long_ago(app, gone, datetime.now(UTC) - timedelta(days=90))
    await app.retention.run()
    assert (await admin.tenant(gone.slug)).purged
    assert await app.admin.rights_desk(gone.slug) is None
    assert await app.admin.set_rights_desk(gone.slug, None) is None  # --off: nothing to refuse
    with pytest.raises(FailedPrecondition):
        await app.admin.set_rights_desk(gone.slug, "dpo.back@acme.example")


async def test_an_address_that_is_not_one_is_refused(app: App, tenant: Tenant) -> None:
    assert app.admin is not None
    # A relay without SMTPUTF8 refused the digest at every pass (probe RA).
    with pytest.raises(InvalidInput, match="ASCII"):
        await app.admin.set_rights_desk(tenant.slug, "jösé@exämple.fr")
    with pytest.raises(InvalidInput):
        await app.admin.set_rights_desk(tenant.slug, "dpo at acme")
