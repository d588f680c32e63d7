"""A database short of a resource says so: a full disk answered "the database is unavailable"
and logged nothing but `rpc` lines with UNAVAILABLE (probe AC)."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from consentd.api import outages
from consentd.api.calls import failure_of


@pytest.fixture(autouse=True)
def _kept_to_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """What these calls mark for health (a failure, a shortage) stays in the test."""
    monkeypatch.setattr(outages, "_failed_at", [float("-inf")])
    monkeypatch.setattr(outages, "_short_at", [float("-inf")])


def _wrapped(error: Exception) -> sa.exc.DBAPIError:
    """As SQLAlchemy raises it: the driver's error as `orig`."""
    return sa.exc.DBAPIError("INSERT ...", None, error)


def test_a_full_disk_is_unavailable_saying_so_and_warned_once_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outages, "_warned", [-outages.SHORTAGE_WARNING_SECONDS])
    with capture_logs() as logs:
        answers = [failure_of(_wrapped(asyncpg.exceptions.DiskFullError("no space"))) for _ in "ab"]
    said = "the database cannot serve this call now (it is out of disk space, SQLSTATE 53100)"
    assert [(a.code, a.message) for a in answers if a] == [
        (grpc.StatusCode.UNAVAILABLE, f"{said}; retry shortly")
    ] * 2
    warned = [e for e in logs if e["event"] == "database_short_of_resources"]
    assert [(e["log_level"], e["sqlstate"]) for e in warned] == [("warning", "53100")]


@pytest.mark.parametrize(
    ("error", "words", "event"),
    [
        # A feed that only reads was told "cannot write now (short of disk space...)" (AM).
        (
            asyncpg.exceptions.TooManyConnectionsError("too many"),
            "it has no connection slot free, SQLSTATE 53300",
            "database_short_of_resources",
        ),
        (
            asyncpg.exceptions.OutOfMemoryError("oom"),
            "it is out of memory, SQLSTATE 53200",
            "database_short_of_resources",
        ),
        # A full disk as a new session meets it (XX000): every call was INTERNAL (probe BJ).
        (
            asyncpg.exceptions.InternalServerError(
                'could not write init file "base/16384/pg_internal.init.123"'
            ),
            "it is out of disk space, SQLSTATE 53100",
            "database_short_of_resources",
        ),
        # A data file it may no longer open (42501 from the system, not a GRANT): INTERNAL,
        # health SERVING (probe DW).
        (
            asyncpg.exceptions.InsufficientPrivilegeError(
                'could not open file "base/16384/16537_vm": Permission denied'
            ),
            "it met a system error (I/O), SQLSTATE 58030",
            "database_short_of_resources",
        ),
        # The runtime role's password rotated under the pools: each new connection INTERNAL,
        # health SERVING (probe EB).
        (
            asyncpg.exceptions.InvalidPasswordError(
                'password authentication failed for user "consentd_app"'
            ),
            "it refused consentd's login, SQLSTATE 28P01",
            "database_login_refused",
        ),
    ],
)
def test_each_shortage_says_which(
    monkeypatch: pytest.MonkeyPatch, error: Exception, words: str, event: str
) -> None:
    monkeypatch.setattr(outages, "_warned", [-outages.SHORTAGE_WARNING_SECONDS])
    with capture_logs() as logs:
        failure = failure_of(_wrapped(error))
    assert failure is not None
    assert (failure.code, failure.message) == (
        grpc.StatusCode.UNAVAILABLE,
        f"the database cannot serve this call now ({words}); retry shortly",
    )
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [event]


def test_a_lost_connection_is_unavailable_as_before() -> None:
    with capture_logs() as logs:
        failure = failure_of(_wrapped(asyncpg.exceptions.CannotConnectNowError("starting")))
    assert failure is not None
    assert (failure.code, failure.message) == (
        grpc.StatusCode.UNAVAILABLE,
        outages.UNAVAILABLE_MESSAGE,
    )
    assert not [e for e in logs if e["event"] == "database_short_of_resources"]


def test_a_statement_the_database_cut_short_warns_once_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Calls answered DEADLINE_EXCEEDED while another session held a lock, and the log said
    nothing (probe AM): the operator is told, at most once every 10 s."""
    fresh = {bound: [-outages.SHORTAGE_WARNING_SECONDS] for bound in outages._timed_out_warned}
    monkeypatch.setattr(outages, "_timed_out_warned", fresh)
    with capture_logs() as logs:
        answers = [
            failure_of(_wrapped(asyncpg.exceptions.QueryCanceledError("statement timeout")))
            for _ in "ab"
        ]
    assert [(a.code, a.message) for a in answers if a] == [
        (grpc.StatusCode.DEADLINE_EXCEEDED, outages.DEADLINE_MESSAGE)
    ] * 2
    warned = [e for e in logs if e["event"] == "database_statement_timed_out"]
    assert [(e["log_level"], e["sqlstate"]) for e in warned] == [("warning", "57014")]


def test_a_read_only_database_says_where_to_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """It looked like a lost database, and nothing said why (probe AM); retrying here never
    helps (probe AP)."""
    monkeypatch.setattr(outages, "_warned", [-outages.SHORTAGE_WARNING_SECONDS])
    with capture_logs() as logs:
        failure = failure_of(_wrapped(asyncpg.exceptions.ReadOnlySQLTransactionError("ro")))
    assert failure is not None
    assert (failure.code, failure.message) == (
        grpc.StatusCode.UNAVAILABLE,
        "the database takes no write now (it is read-only: a standby, or in read-only mode,"
        " SQLSTATE 25006); retry on another replica, or once the primary is back",
    )
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["database_read_only"]


def test_a_timeout_of_the_services_own_bound_warns_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client-side bound fired before PostgreSQL's: no SQLSTATE, a warning all the same
    (probe AS: a held lock gave DEADLINE_EXCEEDED for 20 s and nothing at warning level)."""
    fresh = {bound: [-outages.SHORTAGE_WARNING_SECONDS] for bound in outages._timed_out_warned}
    monkeypatch.setattr(outages, "_timed_out_warned", fresh)
    with capture_logs() as logs:
        failure = failure_of(_wrapped(TimeoutError()))
    assert failure is not None
    assert failure.code == grpc.StatusCode.DEADLINE_EXCEEDED
    warned = [e for e in logs if e["event"] == "database_statement_timed_out"]
    assert [(e["log_level"], e["sqlstate"]) for e in warned] == [("warning", "")]


def test_a_connection_terminated_under_calls_warns_once_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Probe BP: backends terminated by an administrator (57P01) failed 487 writes UNAVAILABLE
    and only `rpc` lines said so. One warning names it (its SQLSTATE, never the statement),
    then none for SHORTAGE_WARNING_SECONDS."""
    monkeypatch.setattr(outages, "_lost_warned", [-outages.SHORTAGE_WARNING_SECONDS])
    terminated = asyncpg.exceptions.AdminShutdownError("terminating connection")
    with capture_logs() as logs:
        for _ in range(3):
            failure = failure_of(_wrapped(terminated))
            assert failure is not None
            assert failure.code == grpc.StatusCode.UNAVAILABLE
    warned = [e for e in logs if e["event"] == "database_connection_lost"]
    assert [(e["sqlstate"], e["log_level"]) for e in warned] == [("57P01", "warning")]


def test_a_call_refused_while_the_database_is_lost_is_no_lost_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Probe BT: calls the gate refused while the probe had lost the database were each warned
    `database_connection_lost` with no SQLSTATE (the probe says `database_lost` already)."""
    monkeypatch.setattr(outages, "_lost_warned", [-outages.SHORTAGE_WARNING_SECONDS])
    with capture_logs() as logs:
        failure = failure_of(outages.DatabaseLost("the database has not answered for a while"))
    assert failure is not None
    assert failure.code == grpc.StatusCode.UNAVAILABLE
    assert [e for e in logs if e["event"] == "database_connection_lost"] == []


def test_a_grants_refusal_is_no_shortage_and_a_shortage_is_remembered_for_health(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """42501 from a GRANT is the role's configuration, answered as before (not a retry); a
    shortage a call met marks the database short for health (api/health.py), which reads no
    file of its own."""
    monkeypatch.setattr(outages, "_short_at", [float("-inf")])
    grant = asyncpg.exceptions.InsufficientPrivilegeError("permission denied for table x")
    assert failure_of(_wrapped(grant)) is None
    assert not outages.short_lately(60)
    failure_of(_wrapped(asyncpg.exceptions.DiskFullError("no space")))
    assert outages.short_lately(60)


def test_a_read_only_database_is_not_remembered_as_short_of_resources() -> None:
    """Probe IA: once a read-only spell ended, health said `database_short_of_resources` and
    stayed out of the balancer 2 s more; read-only is the health probe's own finding."""
    read_only = asyncpg.exceptions.ReadOnlySQLTransactionError("read-only transaction")
    failure = failure_of(_wrapped(read_only))
    assert failure is not None
    assert failure.code == grpc.StatusCode.UNAVAILABLE
    assert "read-only" in failure.message
    assert not outages.short_lately(60)
