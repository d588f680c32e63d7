"""The functions `audit verify` compares facts with the log through are pinned
(store/audit_pins.py): the database owner redefined one to return what the log holds, and an
edited withdrawal verified ok (probe GA). Each case runs in a transaction rolled back (DDL is
transactional): other tests never see the redefinitions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from consentd.bootstrap import App
from consentd.store.audit_pins import PINNED, check_pins
from consentd.store.driver import driver_of
from tests.conftest import owner

_REDEFINED = """
CREATE OR REPLACE FUNCTION consentd_event_action(p_state text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'consent.recorded' $$
"""
_ELSEWHERE = """
CREATE SCHEMA evil;
CREATE FUNCTION evil.consentd_event_action(state text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'consent.recorded' $$
"""
_OVERLOADED = """
CREATE FUNCTION consentd_cookie_choice_payload(x integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$ SELECT '{}'::jsonb $$
"""
_CHANGED = "function consentd_event_action is not the one the migrations made (redefined?)"
_TWICE = "function {} is defined more than once"
CASES = {
    "intact": ("", []),
    "redefined": (_REDEFINED, [_CHANGED]),
    "in another schema": (_ELSEWHERE, [_TWICE.format("consentd_event_action")]),
    "overloaded": (_OVERLOADED, [_TWICE.format("consentd_cookie_choice_payload")]),
}


@pytest.mark.parametrize("case", CASES)
async def test_a_pinned_function_changed_by_the_owner_is_named(app: App, case: str) -> None:
    statements, expected = CASES[case]
    async with owner(app).connect() as conn:
        try:
            await conn.execute(sa.text("SELECT 1"))  # in a transaction, as verify's
            for statement in filter(str.strip, statements.split(";")):
                await conn.execute(sa.text(statement))
            problems = await check_pins(await driver_of(conn))
            path = (await conn.execute(sa.text("SHOW search_path"))).scalar_one()
        finally:
            await conn.rollback()
    assert [p.problem for p in problems] == expected
    assert path.startswith("pg_catalog, ")
    assert set(PINNED) == {
        "consentd_event_action", "consentd_event_payload", "consentd_cookie_choice_payload"
    }  # fmt: skip
