"""A call's `rpc` line and duration count from its admission: the credential's look-up waited
on a frozen database for 7 s and its line said 1 ms, and a caller whose deadline passed during
it left no line and no metric at all (probe IA)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import consent_pb2, cookies_pb2, types_pb2
from structlog.testing import capture_logs

from consentd.api.http import HttpServer
from consentd.api.outages import CALL_DEADLINE_MESSAGE
from consentd.bootstrap import App
from tests.conftest import Stubs, owner
from tests.e2e.helpers import check, put_purpose, target
from tests.e2e.test_browser_port import auth, http
from tests.e2e.test_browser_wire import frame, grpc_web_reply, post

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


def _check_of(address: str) -> dict[str, Any]:
    """A CheckConsent request of the newsletter by e-mail, as Connect JSON."""
    target = {
        "purpose": "newsletter",
        "channel": "CHANNEL_EMAIL",
        "scope": "PARTY_SCOPE_FIRST_PARTY",
    }
    return {"subject": {"email": address}, "target": target}


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


@pytest.fixture
async def slow_browser_port(app: App, slow_admission: None) -> AsyncIterator[int]:
    """A browser port built on the slowed gate (the shared one holds the gate's method)."""
    server = HttpServer(app.browser_app(), grace=1)
    port = await server.start("127.0.0.1:0")
    yield port
    await server.stop()


async def test_the_browser_port_counts_the_admission_and_holds_the_callers_timeout(
    stubs: Stubs, admin_key: str, slow_browser_port: int
) -> None:
    """Probe IF: on the browser port a 5 s look-up was logged as 0.01 ms, and a caller asking
    800 ms (Connect-Timeout-Ms) was answered after 5 s."""
    await put_purpose(stubs, "newsletter")
    path, body = "/consent.v1.ConsentService/CheckConsent", _check_of("admitted@example.fr")
    with capture_logs() as entries:
        status, _, said = await http(slow_browser_port, path, body, auth(admin_key))
        _, _, answer = await http(
            slow_browser_port, path, body, auth(admin_key, **{"Connect-Timeout-Ms": "200"})
        )
    assert status == 200, said
    assert json.loads(answer)["code"] == "deadline_exceeded", answer
    lines = _lines(entries)
    assert [line["code"] for line in lines] == ["OK", "DEADLINE_EXCEEDED"]
    assert lines[0]["duration_ms"] >= SLOW * 1000
    assert 150 <= lines[1]["duration_ms"] < SLOW * 1000


async def test_a_browser_callers_timeout_bounds_its_statements(
    app: App, stubs: Stubs, admin_key: str, http_port: int
) -> None:
    """Probe IF: a check waiting on a lock past its Connect-Timeout-Ms was answered by
    connectrpc and logged CANCELLED, with no warning; its statements now end a little before
    the caller's timeout, answered and logged DEADLINE_EXCEEDED as on the gRPC port."""
    await put_purpose(stubs, "newsletter")
    path, body = "/consent.v1.ConsentService/CheckConsent", _check_of("locked@example.fr")
    async with owner(app).connect() as conn:
        await conn.execute(sa.text("LOCK TABLE current_consents IN ACCESS EXCLUSIVE MODE"))
        with capture_logs() as entries:
            status, _, answer = await http(
                http_port, path, body, auth(admin_key, **{"Connect-Timeout-Ms": "800"})
            )
        await conn.rollback()
    said = json.loads(answer)
    assert (status, said["code"]) == (504, "deadline_exceeded"), answer
    assert said["message"] == CALL_DEADLINE_MESSAGE  # the timeout it gave bounded it
    (line,) = _lines(entries)
    assert line["code"] == "DEADLINE_EXCEEDED"


@pytest.mark.parametrize(
    ("given", "status"),
    [
        ("9" * 400, 400),
        ("12345678901", 400),
        # Not UTF-8: dropped, as every such header is (api/connect_headers.py), the call served.
        ("\u00b2", 200),
    ],
)
async def test_a_malformed_timeout_is_never_internal(
    admin_key: str, http_port: int, given: str, status: int
) -> None:
    """Probe IJ: 400 digits, or a superscript digit, answered 500 with a traceback (str.isdigit
    took them); a timeout of the wrong form is the caller's error, as 11 digits always was."""
    path = "/consent.v1.CookieService/GetCookieChoice"
    headers = auth(admin_key, **{"Connect-Timeout-Ms": given})
    answered, _, answer = await http(
        http_port, path, {"visitorId": "vis-abcdefghijklmnop"}, headers
    )
    assert answered == status, answer
    if status == 400:
        assert json.loads(answer)["code"] == "invalid_argument", answer


async def test_only_the_protocols_own_timeout_header_counts(admin_key: str, http_port: int) -> None:
    """Probe IL: a Connect call with a stray `grpc-timeout: 1n` was answered deadline_exceeded
    (the other protocol's header bounded its key's look-up); connectrpc ignores it, so do we."""
    path, body = "/consent.v1.CookieService/GetCookieChoice", {"visitorId": "vis-abcdefghijklmnop"}
    headers = auth(admin_key, **{"grpc-timeout": "1n"})
    status, _, answer = await http(http_port, path, body, headers)
    assert status == 200, answer


async def test_a_grpc_web_timeout_bounds_the_look_up_whatever_the_media_types_case(
    admin_key: str, slow_browser_port: int
) -> None:
    """Probe IM: `Application/gRPC-Web+proto` (a media type is case-insensitive) lost its
    grpc-timeout during the key's look-up and waited the database's ceiling."""
    message = cookies_pb2.GetCookieChoiceRequest(visitor_id="vis-abcdefghijklmnop")
    headers = auth(
        admin_key, **{"Content-Type": "Application/gRPC-Web+proto", "grpc-timeout": "200m"}
    )
    started = time.perf_counter()
    status, answer, reply = await post(
        slow_browser_port, "/consent.v1.CookieService/GetCookieChoice",
        frame(message.SerializeToString()), headers,
    )  # fmt: skip
    _, trailers = grpc_web_reply(answer, reply)
    assert (status, trailers["grpc-status"]) == (200, "4"), trailers
    assert time.perf_counter() - started < SLOW
