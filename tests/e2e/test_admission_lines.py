"""A call's `rpc` line and duration count from its admission: the credential's look-up waited
on a frozen database for 7 s and its line said 1 ms, and a caller whose deadline passed during
it left no line and no metric at all (probe IA)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import grpc
import pytest
from consent.v1 import consent_pb2, types_pb2
from structlog.testing import capture_logs

from consentd.bootstrap import App
from tests.conftest import Stubs
from tests.e2e.helpers import check, put_purpose, target

CHECK = "/consent.v1.ConsentService/CheckConsent"
SLOW = 0.5
SOMEONE = types_pb2.SubjectRef(email="admitted@example.fr")


@pytest.fixture
def slow_admission(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's look-up takes SLOW seconds, as on a database that answers slowly."""
    admit = app.gate.admit_unread

    async def slowly(method: str | None, metadata: Mapping[str, str], **kwargs: Any) -> None:
        await asyncio.sleep(SLOW)
        await admit(method, metadata, **kwargs)

    monkeypatch.setattr(app.gate, "admit_unread", slowly)


def _lines(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("event") == "rpc" and e.get("method") == CHECK]


@pytest.mark.usefixtures("slow_admission")
async def test_a_calls_duration_counts_its_admission(stubs: Stubs) -> None:
    await put_purpose(stubs, "newsletter")
    with capture_logs() as entries:
        await check(stubs, SOMEONE, target("newsletter"))
    (line,) = _lines(entries)
    assert line["code"] == "OK"
    assert line["duration_ms"] >= SLOW * 1000


@pytest.mark.usefixtures("slow_admission")
async def test_a_caller_gone_during_its_admission_is_counted(stubs: Stubs) -> None:
    await put_purpose(stubs, "newsletter")
    request = consent_pb2.CheckConsentRequest(subject=SOMEONE, target=target("newsletter"))
    with capture_logs() as entries:
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await stubs.consent.CheckConsent(request, metadata=stubs.metadata, timeout=0.1)
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await asyncio.sleep(SLOW + 0.3)
    (line,) = _lines(entries)
    assert line["code"] == "CANCELLED"
    assert line["duration_ms"] >= 50
