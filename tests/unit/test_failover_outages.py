"""What a failover throws at the service is UNAVAILABLE (the client retries it), not INTERNAL:
found by tests/ha, pinned here without a cluster."""

from __future__ import annotations

import asyncpg
import grpc
import sqlalchemy as sa

from consentd.api.outages import outage_answer
from consentd.store.database import CONFLICT, UNAVAILABLE, outage_of


def test_a_write_reaching_a_standby_being_promoted_is_unavailable() -> None:
    """SQLSTATE 25006 (read-only transaction), raw or wrapped by SQLAlchemy."""
    raw = asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute DELETE")
    wrapped = sa.exc.DBAPIError("DELETE ...", None, raw)
    assert outage_of(raw) == UNAVAILABLE
    assert outage_of(wrapped) == UNAVAILABLE


def test_a_connection_left_mid_operation_is_unavailable() -> None:
    """asyncpg's "cannot switch to state ...; another operation is in progress"."""
    error = asyncpg.exceptions.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )
    assert outage_of(error) == UNAVAILABLE


def test_a_constraint_violation_is_still_not_an_outage() -> None:
    """Only availability errors are retried: a unique violation stays a bug to report."""
    assert outage_of(asyncpg.exceptions.UniqueViolationError("duplicate key")) is None


def test_a_full_disk_or_an_io_error_is_unavailable() -> None:
    """SQLSTATE 53100 ("could not extend file ...: No space left on device") and 58030 (I/O
    error) answered INTERNAL, which no client retries: a withdrawal refused while the disk was
    full was lost. They are UNAVAILABLE: retried once space is freed."""
    full = asyncpg.exceptions.DiskFullError("could not extend file: No space left on device")
    io = asyncpg.exceptions.PostgresIOError("could not write to file")
    assert outage_of(sa.exc.DBAPIError("INSERT ...", None, full)) == UNAVAILABLE
    assert outage_of(io) == UNAVAILABLE


def test_a_deadlock_or_a_serialization_failure_is_aborted_to_retry() -> None:
    """SQLSTATE 40P01 and 40001: the database rolled the transaction back for a conflict with
    another; it answered INTERNAL with an error id (probe DO), and is ABORTED: nothing written,
    retry."""
    deadlock = asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
    serial = asyncpg.exceptions.SerializationError("could not serialize access")
    for error in (deadlock, sa.exc.DBAPIError("UPDATE ...", None, serial)):
        assert outage_of(error) == CONFLICT
        answer = outage_answer(error)
        assert answer is not None
        assert answer[0] is grpc.StatusCode.ABORTED
        assert "retry" in answer[1]
