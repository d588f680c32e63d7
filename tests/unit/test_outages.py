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


def _wrapped(error: Exception) -> sa.exc.DBAPIError:
    """As SQLAlchemy raises it: the driver's error as `orig`."""
    return sa.exc.DBAPIError("INSERT ...", None, error)


def test_a_full_disk_is_unavailable_saying_so_and_warned_once_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outages, "_warned", [-outages.SHORTAGE_WARNING_SECONDS])
    with capture_logs() as logs:
        answers = [failure_of(_wrapped(asyncpg.exceptions.DiskFullError("no space"))) for _ in "ab"]
    assert [(a.code, a.message) for a in answers if a] == [
        (grpc.StatusCode.UNAVAILABLE, outages.SHORTAGE_MESSAGE)
    ] * 2
    warned = [e for e in logs if e["event"] == "database_short_of_resources"]
    assert [(e["log_level"], e["sqlstate"]) for e in warned] == [("warning", "53100")]


def test_a_lost_connection_is_unavailable_as_before() -> None:
    with capture_logs() as logs:
        failure = failure_of(_wrapped(asyncpg.exceptions.CannotConnectNowError("starting")))
    assert failure is not None
    assert (failure.code, failure.message) == (
        grpc.StatusCode.UNAVAILABLE,
        outages.UNAVAILABLE_MESSAGE,
    )
    assert not [e for e in logs if e["event"] == "database_short_of_resources"]
