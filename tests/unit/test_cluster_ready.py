"""A command to a cluster another consentd process restarted waits while PostgreSQL recovers
(postgres/cluster.py run_once_ready): a server started then exited 1 on "not yet accepting
connections", and nothing served until an operator came (probe VC)."""

from __future__ import annotations

from pathlib import Path

from consentd.postgres import cluster


def _script(tmp_path: Path, failing: int, words: str) -> list[str]:
    count = tmp_path / "count"
    count.write_text("0")
    script = tmp_path / "psql"
    script.write_text(
        "#!/bin/sh\n"
        f"n=$(cat {count}); echo $((n + 1)) > {count}\n"
        f'if [ "$n" -lt {failing} ]; then echo "{words}" >&2; exit 2; fi\n'
        "cat > /dev/null\n"
    )
    script.chmod(0o755)
    return [str(script)]


def test_a_recovering_cluster_is_waited_for(tmp_path: Path) -> None:
    said = "FATAL: the database system is not yet accepting connections"
    assert cluster.run_once_ready(_script(tmp_path, 2, said), b"SELECT 1", {}) is None
    assert (tmp_path / "count").read_text().strip() == "3"


def test_any_other_failure_is_said_at_once(tmp_path: Path) -> None:
    said = "FATAL: password authentication failed"
    assert cluster.run_once_ready(_script(tmp_path, 5, said), b"", {}) == said
    assert (tmp_path / "count").read_text().strip() == "1"
