"""What a caller is told when the database cannot do its part (store/database.py outage_of),
and what the operator is told when the cause is theirs to fix."""

from __future__ import annotations

import time

import grpc
import structlog

from consentd.domain.tenancy import PURGED_MESSAGE
from consentd.store.database import (
    CONFLICT,
    DEADLINE,
    ERASED,
    OBJECTED,
    PURGED,
    READ_ONLY_STATE,
    STOPPED,
    UNAVAILABLE,
    outage_of,
    shortage_of,
    sqlstate_of,
    timed_out_state,
)
from consentd.store.deadlines import call_deadline_spent

log = structlog.get_logger("consentd.rpc")


class DatabaseLost(ConnectionError):
    """Refused before the call reached the database: it has not answered for a while (the
    health probe says; api/health.py Reachability)."""


UNAVAILABLE_MESSAGE = "the database is unavailable; retry shortly"
# What each SQLSTATE (or its class) an operator must fix means, in a caller's words: a feed
# that only reads was told "cannot write now (short of disk space...)" when the connection
# slots were full, and a read-only database was "unavailable" like a lost one (probe AM).
SHORTAGES = {
    "53100": "it is out of disk space",
    "53200": "it is out of memory",
    "53300": "it has no connection slot free",
    "53400": "it reached a configured limit",
    "53": "it is short of a resource",
    "58": "it met a system error (I/O)",
    # A password rotated under the pools: each new connection failed INTERNAL (probe EB).
    "28": "it refused consentd's login",
}
# A read-only database takes no write however long one retries here (probe AP).
READ_ONLY_MESSAGE = (
    "the database takes no write now (it is read-only: a standby, or in read-only mode, "
    "SQLSTATE 25006); retry on another replica, or once the primary is back"
)
# The warning each says, for the operator.
_EVENTS = {READ_ONLY_STATE[:2]: "database_read_only", "28": "database_login_refused"}
SHORTAGE_MESSAGE = "the database cannot serve this call now ({}, SQLSTATE {}); retry shortly"
DEADLINE_MESSAGE = "the database did not answer in time"
# A statement cut by the call's own deadline: the database may be slow (a lock held), or the
# deadline too short (1 ms was told only "the database did not answer in time"; probe TC).
CALL_DEADLINE_MESSAGE = (
    f"{DEADLINE_MESSAGE}: not within the call's deadline (give the call more time, or retry)"
)
OBJECTED_MESSAGE = (
    "the person objected (before or while this call ran): a grant from a system does not lift "
    "an objection; nothing was written"
)
STOPPED_MESSAGE = (
    "the person said no themselves (withdrew this, or everything on this channel, before or "
    "while this call ran): a grant from a system does not lift it; only the person does; "
    "nothing was written"
)
ERASED_MESSAGE = (
    "the person was erased (before or while this call ran): nothing was written; a refusal or "
    "withdrawal naming their contact point again is recorded (for a new subject), a grant from "
    "a system is not: only the person comes back"
)
CONFLICT_MESSAGE = (
    "another call changing the same records at the same moment conflicted with this one; "
    "nothing was written; retry"
)
# What each kind of outage answers, with its ErrorInfo reason (empty: the status's name).
OUTAGES = {
    UNAVAILABLE: (grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_MESSAGE, ""),
    DEADLINE: (grpc.StatusCode.DEADLINE_EXCEEDED, DEADLINE_MESSAGE, ""),
    CONFLICT: (grpc.StatusCode.ABORTED, CONFLICT_MESSAGE, ""),
    PURGED: (grpc.StatusCode.FAILED_PRECONDITION, PURGED_MESSAGE, "TENANT_PURGED"),
    ERASED: (grpc.StatusCode.FAILED_PRECONDITION, ERASED_MESSAGE, "SUBJECT_ERASED"),
    OBJECTED: (grpc.StatusCode.FAILED_PRECONDITION, OBJECTED_MESSAGE, "OBJECTION_IN_FORCE"),
    STOPPED: (grpc.StatusCode.FAILED_PRECONDITION, STOPPED_MESSAGE, "STOP_IN_FORCE"),
}
# One warning per this many seconds at most while the database is short of a resource.
SHORTAGE_WARNING_SECONDS = 10.0
_warned = [-SHORTAGE_WARNING_SECONDS]


def outage_answer(error: BaseException) -> tuple[grpc.StatusCode, str, str] | None:
    """The status, message and reason of a database outage; None when `error` is not one. A
    full disk answered "the database is unavailable" and logged nothing but `rpc` lines with
    UNAVAILABLE (probe AC): it says what it is, and warns the operator with its SQLSTATE."""
    kind = outage_of(error) or ""
    outage = OUTAGES.get(kind)
    if kind == DEADLINE and call_deadline_spent():
        _warn_timed_out(error, "call_deadline")  # no new connection for health: not lost
        return grpc.StatusCode.DEADLINE_EXCEEDED, CALL_DEADLINE_MESSAGE, ""
    if kind in (DEADLINE, UNAVAILABLE):
        _failed_at[0] = time.monotonic()  # health tries a new connection (api/health.py)
    if kind == DEADLINE:
        _warn_timed_out(error, "database")
    if outage is None or outage[0] is not grpc.StatusCode.UNAVAILABLE:
        return outage
    state = shortage_of(error)
    if state is not None and state != READ_ONLY_STATE:
        # Health leaves the balancer (api/health.py); read-only is its probe's own finding (a
        # read-only spell ended with `database_short_of_resources`, 2 s more out; probe IA).
        _short_at[0] = time.monotonic()
    if state is None:
        if not isinstance(error, DatabaseLost):  # the probe said `database_lost` already
            _warn_lost(error)
        return outage
    if _due(_warned):
        event = _EVENTS.get(state[:2], "database_short_of_resources")
        log.warning(event, sqlstate=state, error=type(error).__name__)
    if state == READ_ONLY_STATE:
        return grpc.StatusCode.UNAVAILABLE, READ_ONLY_MESSAGE, ""
    words = SHORTAGES.get(state) or SHORTAGES[state[:2]]
    return grpc.StatusCode.UNAVAILABLE, SHORTAGE_MESSAGE.format(words, state), ""


# Per bound met: a caller's short deadline said once hid the database's own timeouts for the
# next 10 s, and the operator read the lock as the callers' doing (probe VA).
_timed_out_warned = {
    "call_deadline": [-SHORTAGE_WARNING_SECONDS],
    "database": [-SHORTAGE_WARNING_SECONDS],
}
# What each bound met says to the operator (the ceiling's hint named callers' deadlines too).
_TIMED_OUT_HINTS = {
    "call_deadline": "a caller's deadline too short, or a lock held by another session, or a "
    "database too busy, within it",
    "database": "a lock held by another session, or a database too busy "
    "(CONSENTD_DB_TIMEOUT_SECONDS bounds every statement)",
}
_lost_warned = [-SHORTAGE_WARNING_SECONDS]
# When a call last failed for the database (unavailable, or no answer in time); and for its
# shortage of a resource (class 53, 58: a full disk, a file it may not open).
_failed_at = [float("-inf")]
_short_at = [float("-inf")]


def _due(last: list[float]) -> bool:
    """Whether a warning whose last time `last` holds is due again (then it is now)."""
    now = time.monotonic()
    if now - last[0] < SHORTAGE_WARNING_SECONDS:
        return False
    last[0] = now
    return True


def failed_lately(within: float) -> bool:
    """Whether a call failed for the database in the last `within` seconds."""
    return time.monotonic() - _failed_at[0] <= within


def short_lately(within: float) -> bool:
    """Whether a call failed for the database's shortage of a resource in the last `within`
    seconds (its own probe, `SELECT 1` on an open connection, reads no file: probe DW)."""
    return time.monotonic() - _short_at[0] <= within


def _warn_lost(error: BaseException) -> None:
    """A call answered UNAVAILABLE for a connection lost under it (terminated by an
    administrator, an idle-in-transaction timeout, a restart) warns the operator, once every
    SHORTAGE_WARNING_SECONDS: 487 writes failed so and only `rpc` lines said it (probe BP)."""
    if not _due(_lost_warned):
        return
    log.warning(
        "database_connection_lost",
        error=type(error).__name__,
        sqlstate=sqlstate_of(error),
        hint="a connection closed under the call (terminated, idle timeout, restart) or refused",
    )


def _warn_timed_out(error: BaseException, bound: str) -> None:
    """A statement that did not finish in time (the database's timeout, a lock not granted, or
    the service's own bound) warns the operator, once every SHORTAGE_WARNING_SECONDS: calls
    answered DEADLINE_EXCEEDED while another session held a lock, and the log said nothing
    (probe AM). `bound`: what it met, `call_deadline` (the caller's) or `database` (the
    ceiling, CONSENTD_DB_TIMEOUT_SECONDS)."""
    if not _due(_timed_out_warned[bound]):
        return
    # Without a SQLSTATE when the service's own bound fired first (probe AS: a held lock gave
    # DEADLINE_EXCEEDED for 20 s and no warning).
    log.warning(
        "database_statement_timed_out",
        sqlstate=timed_out_state(error) or "",
        bound=bound,
        hint=_TIMED_OUT_HINTS[bound],
    )
