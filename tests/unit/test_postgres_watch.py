"""Why an embedded PostgreSQL could not be restarted, as serve reports it."""

from __future__ import annotations

from consentd.postgres.watch import _headline

STARTED = "postgres exited at start (port 5433); its log ends:"


def test_the_cause_is_named_not_the_answer_to_a_connection_attempt() -> None:
    """A full disk was reported as "the database system is not yet accepting connections" (the
    probe's connection attempt, logged first); the FATAL that says why is named."""
    log = "\n".join(
        (
            STARTED,
            "LOG:  database system was interrupted; last known up at ...",
            "FATAL:  the database system is not yet accepting connections",
            'FATAL:  could not write to file "pg_wal/xlogtemp.20326": No space left on device',
            "LOG:  startup process (PID 20326) exited with exit code 1",
        )
    )
    assert _headline(log) == (
        f'{STARTED} FATAL:  could not write to file "pg_wal/xlogtemp.20326": '
        "No space left on device"
    )


def test_a_panic_comes_first_then_any_fatal() -> None:
    panic = "PANIC:  could not locate a valid checkpoint record"
    only = "FATAL:  the database system is starting up"
    assert _headline(f"{STARTED}\n{only}\n{panic}") == f"{STARTED} {panic}"
    assert _headline(f"{STARTED}\n{only}") == f"{STARTED} {only}"
    assert _headline(STARTED) == STARTED
