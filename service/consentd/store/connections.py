"""Connections' lifetimes: the SQLAlchemy engines, and dropping a connection at once when
waiting on it could hold a shutdown (a database that does not answer)."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consentd.store.database import (
    DEFAULT_DB_TIMEOUT,
    connect_args,
    database_not_answering,
)
from consentd.store.driver import quiet_engine


def create_engine(url: str, pool_size: int, ceiling: float = DEFAULT_DB_TIMEOUT) -> AsyncEngine:
    """The SQLAlchemy engine: up to twice `pool_size` connections, each kept once opened. (An
    overflow connection is closed when returned to a full pool: under a steady load of writes
    that was a new connection — authentication, type introspection — every few calls, about
    170 in 20 s of the write benchmark.) A pooled connection PostgreSQL closed (a restart, a
    failover) is replaced when checked out, before a call uses it: see `_replace_closed`."""
    engine = quiet_engine(
        url,
        pool_size=2 * pool_size,
        max_overflow=0,
        pool_timeout=ceiling,
        connect_args=connect_args("consentd", ceiling),
    )
    pool = engine.sync_engine.pool
    sa.event.listen(pool, "checkout", _replace_closed)
    opened = _OPENED.setdefault(pool, weakref.WeakSet())
    sa.event.listen(pool, "connect", lambda dbapi, _: opened.add(dbapi.driver_connection))
    return engine


# Each engine's asyncpg connections, for terminate_connections().
_OPENED: weakref.WeakKeyDictionary[Any, weakref.WeakSet[Any]] = weakref.WeakKeyDictionary()


def terminate_connections(engine: AsyncEngine) -> None:
    """Close the sockets of every connection `engine` opened, at once: what a shutdown does when
    the database does not answer. (SQLAlchemy closes each pooled connection gracefully, up to
    2 s, one after the other, and a cancelled dispose() goes on doing so.)"""
    for driver in list(_OPENED.get(engine.sync_engine.pool, ())):
        driver.terminate()


def _replace_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A connection the server closed is known to asyncpg at once (the event loop reads every
    socket, idle or not, and sees its end): checking it costs nothing, where SQLAlchemy's
    pool_pre_ping ran BEGIN, a statement and ROLLBACK — three round trips before every
    transaction. DisconnectionError makes the pool drop it and check out another."""
    if dbapi_connection.driver_connection.is_closed():
        raise sa.exc.DisconnectionError("the server closed this connection")


def discards_connection(error: BaseException) -> bool:
    """A connection left by `error` is closed, not given back: the database is unreachable, the
    work on it was cancelled mid-statement (its rollback would wait on the statement, up to
    the ceiling, with a frozen database at every shutdown), or a statement on it timed out
    (its rollback waited the ceiling again on a frozen database, and the call took 3 ceilings
    where it promises one; probe N)."""
    return isinstance(error, asyncio.CancelledError) or database_not_answering(error)


@contextlib.asynccontextmanager
async def connected(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """`engine.connect()`, the connection discarded when the block fails as
    `discards_connection` says."""
    conn = await engine.connect()
    try:
        driver = (await conn.get_raw_connection()).driver_connection
        yield conn
    except BaseException as error:
        if discards_connection(error):
            await discard(conn, driver)
        raise
    finally:
        await conn.close()


async def discard(conn: AsyncConnection, driver: Any) -> None:
    """Close `conn`'s socket (`driver`: its asyncpg connection) at once and never give it back
    to the pool. SQLAlchemy's own invalidate() first tries a graceful close for 2 s, shielded:
    with the database frozen, a shutdown waited that long for each connection."""
    if driver is not None:
        driver.terminate()
    if not conn.invalidated:
        await conn.invalidate()
