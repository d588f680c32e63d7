"""The asyncpg connection under a SQLAlchemy one, for the hot paths.

Hot statements (the batch check, the append, the feed) are plain SQL sent through the driver:
asyncpg prepares each once per connection and caches it, where SQLAlchemy Core would build rows
and, for multi-row VALUES or tuple IN, compile the statement again on every call. They run on the
unit of work's connection, inside its transaction and its tenant.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


class Driver(Protocol):
    """The part of asyncpg.Connection the store uses. Rows are asyncpg Records (read by name)."""

    # `timeout`: asyncpg's own, replacing the connection's command timeout for one statement.
    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[Any]: ...  # noqa: ASYNC109

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None) -> Any: ...  # noqa: ASYNC109

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str: ...  # noqa: ASYNC109


async def driver_of(conn: AsyncConnection) -> Driver:
    """The asyncpg connection that `conn` (checked out, inside its transaction) wraps."""
    fairy = await conn.get_raw_connection()
    return cast(Driver, fairy.driver_connection)


def affected(status: str) -> int:
    """The rows a statement changed, from its command tag ("UPDATE 3", "INSERT 0 3")."""
    return int(status.rsplit(maxsplit=1)[-1])


def quiet_engine(url: str, **options: Any) -> AsyncEngine:
    """An engine whose errors never print their statement's values (SQLAlchemy puts them in the
    exception text, which the log carries: a failing write printed its replay answer, the
    caller's key id and idempotency key; probe DW). Every engine of the service is one.

    A URL with TLS settings (`?sslmode=require`, config.py) connects through asyncpg's own DSN
    parser: SQLAlchemy passed them to connect() as arguments, and `sslmode` there crashed the
    start (probe EB)."""
    base, query, _ = url.partition("?")
    given = in_utc(options.pop("connect_args", {}))
    if not query:
        return create_async_engine(url, hide_parameters=True, connect_args=given, **options)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def connect() -> Any:
        return await asyncpg.connect(dsn, **given)

    return create_async_engine(base, hide_parameters=True, async_creator=connect, **options)


def in_utc(connect_args: dict[str, Any]) -> dict[str, Any]:
    """asyncpg's connection arguments with the session's time zone UTC: the database's guards
    count "one month after the contract ended" and "12 months" with calendar intervals, which
    PostgreSQL adds in the session's zone, and the service counts them in UTC (probe FO: on a
    server in Europe/Paris a tenant was marked purged, then its purge refused as not due)."""
    settings = {**connect_args.get("server_settings", {}), "timezone": "UTC"}
    return {**connect_args, "server_settings": settings}
