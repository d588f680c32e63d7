"""A host whose clock is behind the facts already recorded says so at start (an error in the
log): what it writes is dated before them (found by a fault probe with a clock two years behind: its
withdrawal was stamped before the grant it withdrew, and a later import of an older grant
undid it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consentd.bootstrap import App
from consentd.domain.model import LawfulBasis, Purpose
from consentd.domain.tenancy import Tenant
from consentd.runtime import CLOCK_TOLERANCE, check_clock
from consentd.store.database import newest_fact
from tests.integration.helpers import principal


async def test_a_clock_behind_the_newest_fact_is_reported(
    app: App, tenant: Tenant, owner_url: str
) -> None:
    """Facts written now; a host whose clock says two years ago is told how far behind it is,
    one a few seconds behind (an NTP step) is not."""
    await app.catalog.put_purpose(principal(tenant), Purpose("newsletter", LawfulBasis.CONSENT))
    await app.sequencer.drain(tenant.tenant_id)
    now = datetime.now(UTC)
    newest = await newest_fact(owner_url)
    assert newest is not None
    assert newest >= now - timedelta(minutes=1)  # ours at least (tests share the database)
    two_years_ago = now - timedelta(days=730)
    assert await check_clock(owner_url, two_years_ago) == newest - two_years_ago
    assert await check_clock(owner_url, newest - CLOCK_TOLERANCE / 2) is None
