"""postgres/watch.py's restart policy, on a stand-in for the embedded cluster whose restart
fails as PostgreSQL's does: a full disk is waited out (probe DB: three tries, then serve exited
1 and a supervisor would have crash-looped on the same disk), anything else is tried
RESTART_ATTEMPTS times. The real restarts: tests/e2e/test_embedded_recovery.py."""

from __future__ import annotations

from typing import cast

import pytest

from consentd.postgres import watch
from consentd.postgres.embedded import EmbeddedPostgres, EmbeddedPostgresError

FULL = (
    "embedded PostgreSQL did not start\n"
    '2026-12-06 FATAL:  could not write lock file "postmaster.pid": No space left on device'
)
OTHER = "embedded PostgreSQL did not start\n2026-12-06 FATAL:  could not bind IPv4 address"


class Restarting:
    """Fails its restarts with `errors` in turn, then starts."""

    port = 5432

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        self.calls = 0

    def restart(self) -> None:
        self.calls += 1
        if self.errors:
            raise EmbeddedPostgresError(self.errors.pop(0))


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "DISK_PAUSE_SECONDS", 0.001)
    monkeypatch.setattr(watch, "RESTART_PAUSE_SECONDS", 0.001)


async def test_a_full_disk_is_waited_out_however_long() -> None:
    cluster = Restarting([FULL] * 10)
    assert await watch._restart(cast(EmbeddedPostgres, cluster)) is None
    assert cluster.calls == 11


async def test_another_failure_gives_up_after_its_attempts() -> None:
    cluster = Restarting([OTHER] * 10)
    failed = await watch._restart(cast(EmbeddedPostgres, cluster))
    assert failed is not None
    assert "could not bind" in failed
    assert cluster.calls == watch.RESTART_ATTEMPTS
