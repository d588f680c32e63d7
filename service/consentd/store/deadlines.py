"""The current call's deadline, as the statements run for it see it: set by the RPC layer, read
by every transaction opened for the call (SET LOCAL statement_timeout / lock_timeout)."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

# The longest statement_timeout / lock_timeout PostgreSQL takes (an int of milliseconds).
MAX_TIMEOUT_MS = 2**31 - 1

# When the current call must be answered (the event loop's clock), set by the RPC layer: a
# transaction opened for it waits no longer than that (SET LOCAL statement_timeout/lock_timeout).
_call_deadline: ContextVar[float | None] = ContextVar("consentd_call_deadline", default=None)


def set_call_deadline(seconds: float | None) -> None:
    """The current call must be answered within `seconds` (None: only the ceiling bounds it)."""
    loop_time = asyncio.get_running_loop().time()
    _call_deadline.set(None if seconds is None else loop_time + seconds)


# What a call's statements leave of its deadline: a tenth, at least 2 ms (below a millisecond,
# connectrpc's own cancellation came first: logged CANCELLED; probe IJ; at 5 ms a 6 ms caller
# was refused untried, probe IL), at most half a second.
MARGIN_SHARE = 0.1
MARGIN_LEAST = 0.002
MARGIN_MOST = 0.5


def statements_bound(seconds: float | None) -> float | None:
    """The bound of a call's statements within a caller's deadline of `seconds`: a little less,
    so that the database's timeout, not grpc's cancellation, ends a wait (then answered
    DEADLINE_EXCEEDED "the database did not answer in time" and logged as such)."""
    if seconds is None:
        return None
    return seconds - min(max(seconds * MARGIN_SHARE, MARGIN_LEAST), MARGIN_MOST)


# How early before the statements' bound a timeout may come and still be the call's: the
# bound's timers fire at it or after it, the database's ceiling at its own time.
SPENT_SLACK = 0.05


def call_deadline_spent() -> bool:
    """Whether the current call's own deadline, not the database's ceiling, is what a statement
    that timed out met: the call has one and its statements' bound has come (a 1 ms deadline
    was answered "the database did not answer in time" and warned the operator of a slow
    database, probe TC; a 5.8 s one that the 5 s ceiling ended was told to give more time,
    probe VA)."""
    deadline = _call_deadline.get()
    if deadline is None:
        return False
    return deadline - asyncio.get_running_loop().time() <= SPENT_SLACK


def clear_call_deadline() -> None:
    """No call deadline in this context: only the connection's ceiling bounds its statements."""
    _call_deadline.set(None)


def remaining_milliseconds() -> int | None:
    """What is left of the current call's deadline, in milliseconds (at least 1); None when the
    call has none and the connection's own ceiling applies."""
    deadline = _call_deadline.get()
    if deadline is None:
        return None
    left = int((deadline - asyncio.get_running_loop().time()) * 1000)
    # PostgreSQL's timeouts are 32-bit: a gRPC deadline of 25 days (grpc-timeout allows 8 digits
    # of hours) made every read INTERNAL (probe O). The connection's ceiling bounds it anyway.
    return max(1, min(left, MAX_TIMEOUT_MS))
