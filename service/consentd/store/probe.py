"""The health probe's round trip to the database (api/health.py follows its answers)."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
from opentelemetry.instrumentation.utils import suppress_instrumentation

# In a transaction of its own, what any write would meet: recovery, or the read-only default.
_READ_ONLY = "SELECT current_setting('transaction_read_only') = 'on'"
READ_ONLY = "read_only"  # what the probe returns then
# Below this much free space on the embedded database's disk it takes no write (a WAL segment
# is 16 MiB) and soon no new session (probe BJ: every call INTERNAL, health SERVING).
LOW_DISK_BYTES = 32 * 1024 * 1024
DISK_FULL = "disk_full"  # what the probe returns then


class DatabaseProbe:
    """A round trip on a connection of its own (a busy pool must not make a healthy database
    look lost), reconnected after any failure; each attempt bounded by `timeout`. Returns
    READ_ONLY when the database takes no write (a standby, default_transaction_read_only), and
    DISK_FULL when `disk` (the embedded database's folder) has less than LOW_DISK_BYTES free."""

    def __init__(self, url: str, timeout: float, disk: Path | None = None) -> None:
        self._disk = disk
        self._dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None

    async def __call__(self) -> str | None:
        if self._disk is not None and _free(self._disk) < LOW_DISK_BYTES:
            return DISK_FULL
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(
                    self._dsn,
                    timeout=self._timeout,
                    server_settings={"application_name": "consentd-health"},
                )
            # Never traced: twice a second, a trace of one span each (probe HF: 240 traces in
            # 30 s of an idle process, with the sequencer's polls).
            with suppress_instrumentation():
                read_only = await self._conn.fetchval(_READ_ONLY, timeout=self._timeout)
        except BaseException:
            self.reset()
            raise
        return READ_ONLY if read_only else None

    async def fresh(self) -> None:
        """Open a new connection and close it (api/health.py: calls fail while this probe's
        own connection answers). Raises what connecting raises."""
        conn = await asyncpg.connect(
            self._dsn,
            timeout=self._timeout,
            server_settings={"application_name": "consentd-health"},
        )
        await conn.close(timeout=self._timeout)

    def reset(self) -> None:
        """Drop the connection without waiting on a server that may not answer."""
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def close(self) -> None:
        self.reset()


def _free(folder: Path) -> int:
    """Free bytes on the folder's file system (all of them when it cannot be read)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return LOW_DISK_BYTES
