"""Every way a marketing tool asks about a contact point (unary, batch, stream, the suppression
list), for the contact-point history tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from consentd.app.checks import CheckResult
from consentd.app.commands import CheckConsent, SubjectSelector
from consentd.bootstrap import App
from consentd.domain.identifiers import Identifier
from consentd.domain.model import Target, Verdict
from consentd.domain.tenancy import Tenant
from tests.integration.helpers import principal


async def unary(
    app: App, tenant: Tenant, who: Sequence[SubjectSelector], target: Target, as_of: datetime | None
) -> list[Verdict]:
    """CheckConsent for each, concurrently (the unary path coalesces them)."""
    results = await asyncio.gather(
        *(
            app.consents.check_consent(principal(tenant), CheckConsent(w, target, as_of))
            for w in who
        )
    )
    return [r.verdict for r in results]


async def batch(
    app: App, tenant: Tenant, who: Sequence[SubjectSelector], target: Target, as_of: datetime | None
) -> list[Verdict]:
    """CheckBatch, 1,000 recipients a call."""
    verdicts: list[Verdict] = []
    for first in range(0, len(who), 1000):
        decided = await app.campaign.check_batch(
            principal(tenant), target, as_of, who[first : first + 1000]
        )
        for answer in decided.answers:
            assert isinstance(answer, CheckResult)
            verdicts.append(answer.verdict)
    return verdicts


async def stream(
    app: App, tenant: Tenant, who: Sequence[SubjectSelector], target: Target, as_of: datetime | None
) -> list[Verdict]:
    """StreamChecks in chunks of 100."""

    async def chunks() -> AsyncIterator[Sequence[SubjectSelector]]:
        for first in range(0, len(who), 100):
            yield who[first : first + 100]

    verdicts: list[Verdict] = []
    async for chunk in app.campaign.stream_checks(principal(tenant), target, as_of, chunks()):
        for answer in chunk.decided.answers:
            assert isinstance(answer, CheckResult)
            verdicts.append(answer.verdict)
    return verdicts


PATHS = {"unary": unary, "batch": batch, "stream": stream}


async def suppressed(app: App, tenant: Tenant, target: Target) -> dict[bytes, str]:
    """ExportSuppressionList for the target: digest -> reason."""
    listed: dict[bytes, str] = {}
    async for page in app.campaign.suppression_list(principal(tenant), target):
        for entry in page:
            assert entry.digest not in listed, "a contact point is listed twice"
            listed[entry.digest] = entry.reason.value
    return listed


def digest(app: App, tenant: Tenant, point: Identifier) -> bytes:
    """The keyed digest the suppression list carries for a contact point."""
    [hashed] = app.campaign.hash_contact_points(principal(tenant), [point])
    assert not isinstance(hashed, Exception)
    return hashed[1]
