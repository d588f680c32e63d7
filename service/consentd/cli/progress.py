"""Progress of a long command on stderr: a bar redrawn in place on a terminal, a plain line every
few seconds otherwise (logs, CI, `kubectl logs`). Standard library only."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import IO, Self

BAR = 28


class Progress:
    """`update(done, total)` as work completes; leaving the block prints the final state."""

    def __init__(
        self,
        label: str,
        *,
        unit: str = "rows",
        total: int | None = None,
        stream: IO[str] | None = None,
        every: float = 5.0,
    ) -> None:
        self._label = label
        self._unit = unit
        self._total = total
        self._done = 0
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._every = every if not self._tty else 0.1
        self._started = time.monotonic()
        self._shown = 0.0
        self._dirty = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._dirty or self._done:
            self._show(final=True)

    def update(self, done: int, total: int | None = None) -> None:
        self._done = done
        if total is not None:
            self._total = total
        self._dirty = True
        now = time.monotonic()
        if now - self._shown >= self._every:
            self._show()

    def _show(self, *, final: bool = False) -> None:
        self._shown = time.monotonic()
        self._dirty = False
        elapsed = max(self._shown - self._started, 1e-6)
        rate = f"{self._done / elapsed:.1f} {self._unit}/s"
        if self._total:
            share = min(self._done / self._total, 1.0)
            count = f"{self._done}/{self._total} {self._unit} {share:4.0%}"
        else:
            share, count = 0.0, f"{self._done} {self._unit}"
        if self._tty:
            filled = int(share * BAR)
            bar = "#" * filled + "." * (BAR - filled) if self._total else ""
            end = "\n" if final else ""
            self._stream.write(f"\r{self._label} [{bar}] {count} {rate}\x1b[K{end}")
        else:
            self._stream.write(f"{self._label}: {count} ({rate}, {elapsed:.0f} s)\n")
        self._stream.flush()
