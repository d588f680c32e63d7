"""The embedded cluster's sizing (consentd.postgres.tuning) and its settings' variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from consentd.config import ConfigError, Settings
from consentd.postgres import tuning

GB = 1 << 30


@pytest.mark.parametrize(
    ("memory", "buffers"),
    [(256 << 20, "128MB"), (GB, "256MB"), (3 * GB, "768MB"), (24 * GB, "1024MB")],
)
def test_buffers_are_a_quarter_of_the_memory_between_128_mb_and_1_gb(
    memory: int, buffers: str
) -> None:
    assert tuning.sized(memory) == (f"shared_buffers={buffers}", "max_wal_size=4GB")


def test_a_control_group_limit_below_the_machine_is_the_memory(tmp_path: Path) -> None:
    """cgroup v2 (a number, or "max") and v1 files: the lowest number wins; none, the machine."""
    machine = tuning.available_memory(())
    v2, v1, absent = tmp_path / "memory.max", tmp_path / "limit_in_bytes", tmp_path / "none"
    v2.write_text("max\n")
    assert tuning.available_memory((v2, absent)) == machine
    v1.write_text(f"{GB}\n")
    assert tuning.available_memory((v2, v1)) == min(machine, GB)
    v2.write_text(f"{GB // 2}\n")
    assert tuning.available_memory((v2, v1)) == min(machine, GB // 2)


def test_settings_given_are_read_and_bad_ones_named() -> None:
    env = {"CONSENTD_EMBEDDED_PG_SETTINGS": " shared_buffers=2GB  work_mem=16MB "}
    assert Settings.from_env(env).embedded_pg_settings == ("shared_buffers=2GB", "work_mem=16MB")
    assert Settings.from_env({}).embedded_pg_settings == ()
    for bad in ("shared_buffers", "=1", "work_mem=", "1x=2", "x==1"):
        with pytest.raises(ConfigError, match="CONSENTD_EMBEDDED_PG_SETTINGS"):
            Settings.from_env({"CONSENTD_EMBEDDED_PG_SETTINGS": bad})


@pytest.mark.parametrize(
    ("disk", "wal"),
    [(200 << 20, "64MB"), (4 * GB, "512MB"), (32 * GB, "4GB"), (1000 * GB, "4GB"), (None, "4GB")],
)
def test_the_write_ahead_log_is_an_eighth_of_a_small_disk(
    disk: int | None, wal: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Probe DH: on a 200 MB volume the WAL (max_wal_size 4 GB) grew to 96 MB before any was
    recycled, filled the disk, and nothing else could be freed."""
    monkeypatch.setattr(tuning, "disk_size", lambda folder: disk)
    assert tuning.sized(GB, tmp_path)[1] == f"max_wal_size={wal}"
