"""The health probe's round trip to the database (api/health.py follows its answers)."""

from __future__ import annotations

import asyncpg

# In a transaction of its own, what any write would meet: recovery, or the read-only default.
_READ_ONLY = "SELECT current_setting('transaction_read_only') = 'on'"
READ_ONLY = "read_only"  # what the probe returns then


class DatabaseProbe:
    """A round trip on a connection of its own (a busy pool must not make a healthy database
    look lost), reconnected after any failure; each attempt bounded by `timeout`. Returns
    READ_ONLY when the database takes no write (a standby, default_transaction_read_only)."""

    def __init__(self, url: str, timeout: float) -> None:
        self._dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None

    async def __call__(self) -> str | None:
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(
                    self._dsn,
                    timeout=self._timeout,
                    server_settings={"application_name": "consentd-health"},
                )
            read_only = await self._conn.fetchval(_READ_ONLY, timeout=self._timeout)
        except BaseException:
            self.reset()
            raise
        return READ_ONLY if read_only else None

    def reset(self) -> None:
        """Drop the connection without waiting on a server that may not answer."""
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def close(self) -> None:
        self.reset()
