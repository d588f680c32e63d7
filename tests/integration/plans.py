"""The plans PostgreSQL ran a function's statements with, read through auto_explain, as the
runtime role under row-level security (tests of the write and sequencer functions' plans)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from consentd.bootstrap import App
from consentd.store.driver import driver_of
from tests.conftest import owner

# auto_explain sends the plan of every statement a function runs to the client.
EXPLAINED = (
    "auto_explain.log_min_duration = 0",
    "auto_explain.log_nested_statements = on",
    "auto_explain.log_level = notice",
)


async def explained(
    app: App, run: Callable[[Any], Awaitable[object]], *settings: str, having: str
) -> list[str]:
    """The plans of the statements `run(raw connection)` ran whose text holds `having`, with
    `settings` set for the transaction (rolled back)."""
    notices: list[str] = []
    async with owner(app).connect() as conn:  # a superuser, to load auto_explain
        await conn.begin()
        raw = await driver_of(conn)
        raw.add_log_listener(lambda _, message: notices.append(message.message))  # type: ignore[attr-defined]
        await conn.exec_driver_sql("LOAD 'auto_explain'")
        for setting in (*EXPLAINED, *settings):
            await conn.exec_driver_sql(f"SET LOCAL {setting}")
        await conn.exec_driver_sql("SET LOCAL ROLE consentd_app")
        await run(raw)
        await conn.rollback()
    return [n for n in notices if having in n]
