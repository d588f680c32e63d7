"""Every session of the service counts calendar intervals in UTC, as the service does, whatever
time zone the database or the server is set to (probe FO: on a PostgreSQL in Europe/Paris the
guard of the tenant purge added "one month after the contract ended" in Paris time, three days
later than the service: the tenant was marked purged, then its purge refused as not due)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store.driver import quiet_engine

_MONTH = sa.text(
    "SELECT current_setting('TimeZone'), '2027-02-28 23:30:00+00'::timestamptz + interval '1 month'"
)


async def _month_after(engine: AsyncEngine) -> tuple[str, datetime]:
    try:
        async with engine.connect() as conn:
            zone, due = (await conn.execute(_MONTH)).one()
            return str(zone), due
    finally:
        await engine.dispose()


async def test_a_month_is_counted_in_utc_on_a_database_set_to_paris(
    postgres: EmbeddedPostgres,
) -> None:
    name = f"tz_{uuid4().hex[:8]}"
    postgres.create_database(name)
    owner = postgres.url(name)
    admin = create_async_engine(owner)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f"ALTER DATABASE {name} SET timezone TO 'Europe/Paris'"))
    finally:
        await admin.dispose()
    paris = datetime(2027, 3, 31, 22, 30, tzinfo=UTC)
    assert await _month_after(create_async_engine(owner)) == ("Europe/Paris", paris)
    utc = datetime(2027, 3, 28, 23, 30, tzinfo=UTC)
    for url in (owner, f"{owner}?sslmode=disable"):  # both ways quiet_engine connects
        assert await _month_after(quiet_engine(url)) == ("UTC", utc)
