"""Key files beside the data (the service secret, the audit signing seed, the local admin key)
are made 0600; one that others may read is said at start."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from consentd.key_files import local_secret


def test_a_key_file_others_may_read_is_warned_of(tmp_path: Path) -> None:
    """Probe YE: `chmod 644 secret.key audit-signing.key` (a copy, an opened folder) was taken
    without a word, and every local user could read the service secret. Made 0600 it is not
    said; opened to others, a warning names the file and the chmod that closes it."""
    path = tmp_path / "secret.key"
    with capture_logs() as logs:
        made = local_secret(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert [e for e in logs if e["event"] == "key_file_open_to_others"] == []
    path.chmod(0o644)
    with capture_logs() as logs:
        assert local_secret(path) == made
    [warned] = [e for e in logs if e["event"] == "key_file_open_to_others"]
    assert (warned["file"], warned["mode"]) == (str(path), "0644")
    assert f"chmod 600 {path}" in warned["hint"]
