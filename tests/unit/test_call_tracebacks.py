"""A bug met by every call logs its traceback once a while, not at every call: a privilege
revoked failed every write with the same 3 KB traceback, 38 in 10 s (probe IA). Each call's
failure is still logged, naming its error and request id."""

from __future__ import annotations

import grpc
import pytest
from structlog.testing import capture_logs

from consentd.api import calls
from consentd.api.calls import Call
from consentd.telemetry import Telemetry


def test_the_same_error_logs_its_traceback_once_every_ten_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(calls, "_traced_at", {})
    telemetry = Telemetry()
    failures = []
    with capture_logs() as logs:
        for error in (LookupError("a"), LookupError("b"), KeyError("c")):
            call = Call("/consent.v1.ConsentService/RecordConsent", telemetry, {}, "grpc")
            failures.append(call.fail(error))
            call.finish()  # its span is current until then
    assert {f.code for f in failures if f} == {grpc.StatusCode.INTERNAL}
    failed = [e for e in logs if e["event"] == "rpc_failed"]
    assert [("exc_info" in e, e.get("error")) for e in failed] == [
        (True, None),
        (False, "builtins.LookupError"),
        (True, None),  # another kind of error: its own traceback
    ]
    assert all(e["request_id"] for e in failed)
