"""How many `rpc` lines a flood of refused calls writes: one connection resetting streams
without credentials wrote 9,000 UNAUTHENTICATED lines a second (17 MB in 10 s; probe DD), and a
client cancelling or over its rate limit the same; unknown methods without a credential, and
admin methods or bad bodies with a page's public key, a line each too (probe HF). Calls answered
anything but OK write at most PER_SECOND lines a second per code; the others are counted, and
said in one `rpc_lines_dropped` line (the code and how many) at the first call after their
second, or when the process stops. Every OK call writes its line; the metrics count every call."""

from __future__ import annotations

import contextlib
import time

import structlog

log = structlog.get_logger("consentd.rpc")
PER_SECOND = 20
# An OK call needs a credential and a token of its tenant's rate limit: its line is its record.
UNBOUNDED = "OK"


class LineBudget:
    """The lines left this second per code (but OK), and those dropped."""

    __slots__ = ("_dropped", "_left", "_second")

    def __init__(self) -> None:
        self._second = 0
        self._left: dict[str, int] = {}
        self._dropped: dict[str, int] = {}

    def allows(self, code: str) -> bool:
        """Whether a call answered `code` writes its line (and says what was dropped in the
        second before, once it is over)."""
        second = int(time.monotonic())
        if second != self._second:
            self._turn(second)
        if code == UNBOUNDED:
            return True
        left = self._left.get(code, PER_SECOND)
        if left > 0:
            self._left[code] = left - 1
            return True
        self._dropped[code] = self._dropped.get(code, 0) + 1
        return False

    def flush(self) -> None:
        """Say what was dropped in the second under way (the process stops)."""
        self._turn(int(time.monotonic()))

    def _turn(self, second: int) -> None:
        for code, count in self._dropped.items():
            with contextlib.suppress(OSError, ValueError):  # a broken sink: as rpc_line
                log.warning("rpc_lines_dropped", code=code, count=count, seconds=1)
        self._second, self._left, self._dropped = second, {}, {}


BUDGET = LineBudget()
