"""A command to a cluster another consentd process restarted waits while PostgreSQL recovers
(postgres/cluster.py run_once_ready): a server started then exited 1 on "not yet accepting
connections", and nothing served until an operator came (probe VC)."""

from __future__ import annotations

import threading
import time
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


def test_a_stopped_caller_kills_the_command_at_once(tmp_path: Path) -> None:
    """`stop` set (the command's SIGTERM) kills a psql waiting on a frozen cluster at once; it
    was waited for, up to its 10 s connection timeout (probe PA)."""
    script = tmp_path / "psql"
    script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(0o755)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    assert cluster.run_once_ready([str(script)], b"SELECT 1", {}, stop) == "stopped"
    assert time.monotonic() - started < 3


def test_a_connection_timeout_is_said_as_a_cluster_not_answering() -> None:
    """psql's "timeout expired" was told as "creating database consentd failed" of a cluster
    that existed, frozen (probe PA)."""
    said = 'psql: error: connection to server at "127.0.0.1", port 5 failed: timeout expired'
    told = cluster.failed("creating database consentd", said)
    assert told.startswith("PostgreSQL did not answer within 10 s")
    assert said in told
    other = "FATAL: password authentication failed"
    assert cluster.failed("creating database x", other) == f"creating database x failed: {other}"
