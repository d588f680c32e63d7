"""Engine, migrations and the connection to PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.domain.errors import ConsentError
from consentd.store.driver import quiet_engine
from consentd.telemetry import PoolUsage

# The repository's migrations/ folder; a deployment that installs the package elsewhere sets
# CONSENTD_MIGRATIONS_DIR (read by Settings).
DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


# The longest any statement, lock wait or connection attempt may take unless a setting says
# (CONSENTD_DB_TIMEOUT_SECONDS): a hung PostgreSQL or a held lock holds no call longer than this.
DEFAULT_DB_TIMEOUT = 5.0


def connect_args(application: str, ceiling: float) -> dict[str, Any]:
    """asyncpg's connection arguments: a connection attempt and every statement bounded on the
    client (a stopped PostgreSQL answers nothing) and the server (the backend stops waiting)."""
    milliseconds = str(max(1, int(ceiling * 1000)))
    return {
        "timeout": ceiling,
        "command_timeout": ceiling,
        "server_settings": {
            "application_name": application,
            "statement_timeout": milliseconds,
            "lock_timeout": milliseconds,
        },
    }


UNAVAILABLE = "unavailable"
DEADLINE = "deadline"
# Not an outage: the tenant was purged (migration 0011's guard refused the transaction).
PURGED = "purged"
PURGED_STATE = "CDP01"
# Migration 0019: an append named a subject erased meanwhile (its write waited on the erasure).
ERASED = "erased"
ERASED_STATE = "CDP03"
# Migration 0032: a system's grant named a subject who objected meanwhile (it waited on the lock).
OBJECTED = "objected"
OBJECTED_STATE = "CDP04"
# Migration 0037: a system's grant of a target the person stopped (a withdrawal of everything).
STOPPED = "stopped"
STOPPED_STATE = "CDP05"
# A transaction the database rolled back for a conflict with another (40P01: a deadlock; 40001:
# a serialization failure): nothing written, a retry succeeds. It answered INTERNAL (probe DO).
CONFLICT = "conflict"
_CONFLICT_STATES = ("40P01", "40001")
# SQLSTATEs of a database that cannot serve now (class 08: connection exceptions; 57P01-03:
# shutting down, crashed, starting; class 53, insufficient resources: a full disk (53100), out
# of memory, too many connections; class 58, system errors: an I/O error writing a file; 25006:
# a write reached a node still read-only: a standby being promoted, in tests/ha's failovers) and
# of a wait cut short. INTERNAL for a full disk was a withdrawal lost unless retried by hand.
READ_ONLY_STATE = "25006"  # read_only_sql_transaction
_UNAVAILABLE_STATES = ("08", "28", "57P01", "57P02", "57P03", "53", "58", READ_ONLY_STATE)
_DEADLINE_STATES = ("57014", "55P03")
# What an operator must fix (shortage_of): a login refused (class 28: a password rotated under
# the pools), a resource short, an I/O error, a read-only node.
_SHORT = ("28", "53", "58", READ_ONLY_STATE)


def outage_of(error: BaseException) -> str | None:
    """UNAVAILABLE when `error` (or what it wraps) says the database cannot be reached or is not
    serving, DEADLINE when a wait was cut short (statement or lock timeout, a client-side
    timeout), PURGED when the tenant's data was purged; None for anything else (a bug, a
    constraint: not the database's availability)."""
    return next((k for e in _chain(error) if (k := _outage_kind(e)) is not None), None)


def shortage_of(error: BaseException) -> str | None:
    """The SQLSTATE when `error` (or what it wraps) says the database is short of a resource:
    class 53 (a full disk, memory, connections) or 58 (an I/O error); or that it is read-only
    (25006: a standby, or default_transaction_read_only) — what an operator must fix."""
    states = (_sqlstate(e) for e in _chain(error))
    return next((s for s in states if isinstance(s, str) and s.startswith(_SHORT)), None)


def timed_out_state(error: BaseException) -> str | None:
    """The SQLSTATE when the database itself cut a statement short: 57014 (its statement
    timeout) or 55P03 (a lock not granted in time)."""
    states = (getattr(e, "sqlstate", None) for e in _chain(error))
    return next((s for s in states if s in _DEADLINE_STATES), None)


def sqlstate_of(error: BaseException) -> str:
    """The first SQLSTATE `error` (or what it wraps) carries; "" when none does."""
    states = (_sqlstate(e) for e in _chain(error))
    return next((s for s in states if isinstance(s, str)), "")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it wraps: SQLAlchemy's `orig`, else its cause or context."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )


def database_not_answering(error: BaseException) -> bool:
    """Whether `error` says the database is unreachable or did not answer in time: what any
    other statement would meet now too."""
    return outage_of(error) in (UNAVAILABLE, DEADLINE)


# PostgreSQL's words for a file it cannot use, read as the class 53/58 state they stand for: a
# new session's full disk (XX000: INTERNAL, a traceback per call; probe BJ), a data file it may
# no longer open (42501 "...: Permission denied", a GRANT's says "for"; INTERNAL, probe DW).
_FILE_ERRORS = (
    ("XX000", "could not write init file", "53100"),
    ("XX000", "No space left on device", "53100"),
    ("42501", ": Permission denied", "58030"),
)


def _sqlstate(error: BaseException) -> object:
    state = getattr(error, "sqlstate", None)
    said = str(error) if state in ("XX000", "42501") else ""
    return next((read for s, words, read in _FILE_ERRORS if s == state and words in said), state)


# The SQLSTATEs each kind but UNAVAILABLE (a class prefix) stands for.
_KINDS = dict.fromkeys(_DEADLINE_STATES, DEADLINE) | dict.fromkeys(_CONFLICT_STATES, CONFLICT) | {
    PURGED_STATE: PURGED, ERASED_STATE: ERASED, OBJECTED_STATE: OBJECTED, STOPPED_STATE: STOPPED
}  # fmt: skip


def _state_kind(error: BaseException) -> str | None:
    state = _sqlstate(error)
    if not isinstance(state, str):
        return None
    kind = _KINDS.get(state)
    return kind or (UNAVAILABLE if state.startswith(_UNAVAILABLE_STATES) else None)


def _outage_kind(error: BaseException) -> str | None:
    if (kind := _state_kind(error)) is not None:
        return kind
    if isinstance(error, TimeoutError | sa.exc.TimeoutError):
        return DEADLINE
    # InternalClientError, "cannot switch to state N; another operation is in progress": a
    # connection left mid-way by a failover (tests/ha's switchover). A fresh connection serves;
    # the unit of work drops this one (SqlUnitOfWork.__aexit__ invalidates it).
    if isinstance(
        error,
        ConnectionError
        | asyncpg.exceptions.InterfaceError
        | asyncpg.ConnectionDoesNotExistError
        | asyncpg.exceptions.InternalClientError,
    ):
        return UNAVAILABLE
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return UNAVAILABLE
    if isinstance(error, OSError) and error.errno is not None:
        return UNAVAILABLE  # connection refused, host unreachable: the socket never opened
    return None


def pool_usage(engine: AsyncEngine) -> PoolUsage:
    """The engine's connections now (for the metrics; read when scraped)."""
    pool: Any = engine.sync_engine.pool
    # store/connections.py makes the pools without overflow: size() is the limit (twice it was
    # reported, so a full pool read as half used).
    limit = pool.size() + max(getattr(pool, "_max_overflow", 0), 0)
    return PoolUsage(pool.checkedout(), pool.checkedin(), limit)


def alembic_config(url: str, migrations_dir: Path | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir or DEFAULT_MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class SchemaAhead(ConsentError):
    """The database was migrated by a newer consentd than this one (a rollback)."""


def ahead_message(current: str, latest: str | None) -> str:
    return (
        f"the database's schema ({current}) is newer than this consentd's (latest {latest}): "
        "a newer release migrated it. Run that release, or this one on it unmigrated (a "
        "rollback keeps the schema)"
    )


async def migrate(
    url: str, migrations_dir: Path | None = None, revision: str = "head"
) -> tuple[str | None, str | None]:
    """Upgrade the database to `revision`: its revisions before and after. Alembic's async env
    runs its own loop: use a thread. Raises SchemaAhead when the database's revision is one
    this consentd does not know (alembic raised "Can't locate revision" as a traceback, from
    serve and every command)."""
    config = alembic_config(url, migrations_dir)
    scripts = ScriptDirectory.from_config(config)
    current = await _revision(url)
    if current is not None and current not in {r.revision for r in scripts.walk_revisions()}:
        raise SchemaAhead(ahead_message(current, scripts.get_current_head()))
    await asyncio.to_thread(command.upgrade, config, revision)
    return current, await _revision(url)


async def _revision(url: str) -> str | None:
    """The database's alembic revision; None before the first migration."""
    engine = quiet_engine(url)
    try:
        async with engine.connect() as conn:
            if (await conn.execute(sa.text("SELECT to_regclass('alembic_version')"))).scalar():
                found = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                return found.scalar()
            return None
    finally:
        await engine.dispose()


RUNTIME_ROLE = "consentd_app"
# The advisory lock that orders provision_runtime_role's ALTER ROLE across processes.
_ROLE_LOCK = 0x636F6E73656E7464  # "consentd"
# The newest time among the last entries of each tenant's audit log: when this host's clock is
# behind it, every fact written now would be stamped before facts already recorded. Not the
# last entry's alone: one written by a clock behind (later entry, older time) hid the facts a
# clock ahead had dated a year on, and the alarm went silent after a restart (probe TB).
_NEWEST = """
SELECT max(recent.at) FROM audit_heads h CROSS JOIN LATERAL (
    SELECT e.recorded_at AS at FROM audit_entries e
    WHERE e.tenant_id = h.tenant_id AND e.seq <= h.last_seq ORDER BY e.seq DESC LIMIT 100
) recent
"""


async def newest_fact(owner: str | AsyncEngine) -> datetime | None:
    """When the newest audit-log entry of any tenant was recorded (None: none yet)."""
    return (await clock_facts(owner))[0]


async def clock_facts(owner: str | AsyncEngine) -> tuple[datetime | None, datetime]:
    """The newest audit-log entry's time (None: none yet) and the database's own clock. As the
    owner (its URL, or its engine kept open): row-level security shows the runtime role no
    tenant's rows here (as it, the clock alone: None and the database's time)."""
    engine = quiet_engine(owner) if isinstance(owner, str) else owner
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(sa.text(f"SELECT ({_NEWEST}), clock_timestamp()"))).one()
    finally:
        if isinstance(owner, str):
            await engine.dispose()
    return row[0], row[1]


async def provision_runtime_role(owner_url: str, password: str) -> str:
    """Let the runtime role log in with `password` (embedded mode and tests, where we own the
    cluster); returns the runtime role's URL. Migrations must have created the role."""
    engine = quiet_engine(owner_url)
    try:
        async with engine.begin() as conn:
            # One at a time: every embedded-mode command runs this at start, and two at once
            # failed "tuple concurrently updated" (probe GE: a cron'd verify beside an import),
            # the statement, password included, then in PostgreSQL's log.
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ROLE_LOCK})
            # A password cannot be a bind parameter in ALTER ROLE; quote it as a literal.
            literal = "'" + password.replace("'", "''") + "'"
            # Never in a span (db.statement would carry the password), whatever is traced.
            with suppress_instrumentation():
                await conn.execute(sa.text(f"ALTER ROLE {RUNTIME_ROLE} LOGIN PASSWORD {literal}"))
    finally:
        await engine.dispose()
    return (
        make_url(owner_url)
        .set(username=RUNTIME_ROLE, password=password)
        .render_as_string(hide_password=False)
    )
