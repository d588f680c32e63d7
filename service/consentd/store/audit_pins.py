"""The database functions `audit verify` compares the facts with the log through, pinned: the
database owner could redefine them (probe GA: `consentd_event_payload` made to return what the
log holds, and an edited withdrawal verified ok; a fact's proof was rebuilt with it too). Their
source, language, volatility, security and settings must be what the migrations made, each
defined once, and the statements run with pg_catalog first (a look-alike of a built-in it calls,
put ahead of it in the role's search_path, would be used otherwise)."""

from __future__ import annotations

import hashlib

from consentd.domain.proofs import FactProblem
from consentd.store.driver import Driver

# sha256 of each function's definition as _DEFINITIONS reads it (migrations 0033, 0040, 0009's
# successors); tests/integration/test_audit_pins.py says when a migration changes one.
PINNED = {
    "consentd_event_action": "b881edd03ec72b0ffb1371f3ed8c787e574d915ff8657f80469dc1da5b16a0c0",
    "consentd_event_payload": "ecb6dbb8b76388e4862cf4bf6f9b4949c3be7eacc815e878960dde6f10c6d472",
    "consentd_cookie_choice_payload": (
        "7070109ab7308d2ffaf199d8a31baf698d55625c22ec417423d2c0eb48748aa3"
    ),
}

_DEFINITIONS = """
SELECT p.proname, n.nspname, p.prosrc, l.lanname, p.provolatile, p.prosecdef,
    coalesce(array_to_string(p.proconfig, ','), ''), pg_get_function_identity_arguments(p.oid),
    pg_get_function_result(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.proname = ANY($1::text[])
"""
# The schema of the tables the service reads, first after pg_catalog (this transaction only).
_SEARCH_PATH = """
SELECT n.nspname, set_config('search_path', 'pg_catalog, ' || quote_ident(n.nspname), true)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = 'consent_events'::regclass
"""


def digest(row: tuple[object, ...]) -> str:
    """A function's definition as pinned: everything but its name and schema."""
    return hashlib.sha256(repr(tuple(row[2:])).encode()).hexdigest()


async def check_pins(raw: Driver, timeout: float | None = None) -> list[FactProblem]:  # noqa: ASYNC109 - the driver's per-statement bound
    """What is wrong with the pinned functions (an empty list: nothing); sets the search_path
    of the transaction it runs in first. `timeout`: each statement's, when not the driver's."""
    schema = (await raw.fetchrow(_SEARCH_PATH, timeout=timeout))[0]
    rows = await raw.fetch(_DEFINITIONS, list(PINNED), timeout=timeout)
    problems = []
    for name, pinned in PINNED.items():
        found = [tuple(r) for r in rows if r[0] == name]
        if len(found) != 1:
            wrong = "is defined more than once" if found else "is missing"
        elif found[0][1] != schema:
            wrong = f"is in schema {found[0][1]}, not {schema}"
        elif digest(found[0]) != pinned:
            wrong = "is not the one the migrations made (redefined?)"
        else:
            continue
        problems.append(FactProblem("pg_proc", None, None, f"function {name} {wrong}"))
    return problems
