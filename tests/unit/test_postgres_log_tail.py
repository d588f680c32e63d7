"""A failed start of the embedded PostgreSQL quotes its log; on a full disk the log is cut short
of the reason (probe N: serve ended on "its log ends:" and nothing), so the tail names the free
space when it is low."""

from __future__ import annotations

import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from consentd.postgres import host

Usage = namedtuple("Usage", "total used free")


def test_the_tail_names_a_nearly_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "postgres.log"
    log.write_bytes(b"old line\nFATAL:  could not write lock file\x00\x00")
    real = shutil.disk_usage(tmp_path)
    assert "KiB free" not in host.log_tail(log, 0) or real.free < host.LOW_DISK_BYTES
    monkeypatch.setattr(host.shutil, "disk_usage", lambda _: Usage(10**9, 10**9 - 4096, 4096))
    tail = host.log_tail(log, len(b"old line\n"))
    assert tail.splitlines() == [
        "FATAL:  could not write lock file",
        f"(the disk holding {tmp_path} has 4 KiB free: free some space, then start again)",
    ]
