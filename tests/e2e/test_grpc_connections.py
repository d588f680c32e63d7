"""The gRPC port against a client that holds connections open: past half the process's file
descriptors it closes new ones, so PostgreSQL connections, the browser port and new clients
keep theirs. A real `consentd serve` (embedded mode) with its file descriptor limit lowered to
1,024, raw sockets that speak HTTP/2's preface and nothing more."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from consent.v1 import catalog_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consentd.api.grpc_options import HANDSHAKE_MS, MAX_METADATA_BYTES
from consentd.domain.catalog import MAX_NOTICE_CONTENT
from tests.conftest import Stubs
from tests.e2e.raw_http2 import answered_within, call_head

FD_LIMIT = 1024  # the gRPC port then holds 512 connections at most (api/server.py)
HELD = 900
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


@dataclass
class Serving:
    child: subprocess.Popen[bytes]
    port: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lower_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def _health(port: int) -> int | None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        except grpc.RpcError:
            return None
    return int(reply.status)


@pytest.fixture
def serving() -> Iterator[Serving]:
    data = Path(tempfile.mkdtemp(prefix="consentd-conns-"))
    data.chmod(0o711)
    port = _free_port()
    env = {
        **os.environ,
        "CONSENTD_DATA_DIR": str(data),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{_free_port()}",
        "CONSENTD_METRICS_ADDRESS": "off",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "consentd", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_lower_fd_limit,  # noqa: PLW1509 - the child runs Python, no threads yet
    )
    try:
        deadline = time.monotonic() + 60
        while _health(port) != health_pb2.HealthCheckResponse.SERVING:
            assert child.poll() is None, "consentd serve exited"
            assert time.monotonic() < deadline, "consentd serve did not become healthy in 60 s"
            time.sleep(0.3)
        yield Serving(child, port)
    finally:
        child.terminate()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        shutil.rmtree(data, ignore_errors=True)


def _still_open(sockets: list[socket.socket], at_most: int, seconds: float = 10) -> int:
    """How many the server has not closed (a closed one reads as the end, or a reset), polled
    until at most `at_most` are (the server closes them in its own time: a fixed second was
    short on a loaded CI machine), or `seconds` passed; the last count."""
    deadline = time.monotonic() + seconds
    while (count := _open_now(sockets)) > at_most and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def _open_now(sockets: list[socket.socket]) -> int:
    count = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            while sock.recv(65536):  # the server's settings frame, if any
                pass
        except BlockingIOError:
            count += 1
        except OSError:
            pass
    return count


def test_a_client_holding_connections_cannot_take_every_file_descriptor(
    serving: Serving,
) -> None:
    """900 connections that never call, against a process allowed 1,024 file descriptors: the
    port keeps 512 and closes the rest, the process keeps descriptors for its own use (it had
    none left before: the port took them all), and a new client is served once some of the
    held ones are gone."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * HELD:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * HELD), hard))
    held = []
    try:
        for _ in range(HELD):
            sock = socket.create_connection(("127.0.0.1", serving.port), timeout=5)
            sock.sendall(PREFACE)
            held.append(sock)
        open_ = _still_open(held, FD_LIMIT // 2)
        used = len(os.listdir(f"/proc/{serving.child.pid}/fd"))
        assert open_ <= FD_LIMIT // 2, open_
        assert used < FD_LIMIT - 100, used
        for sock in held[:50]:
            sock.close()
        assert _health(serving.port) == health_pb2.HealthCheckResponse.SERVING
    finally:
        for sock in held:
            sock.close()


def _settings(port: int) -> dict[int, int]:
    """The server's first SETTINGS frame (RFC 9113 6.5), after the client preface."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(PREFACE)
        head = b""
        while len(head) < 9:
            head += sock.recv(9 - len(head))
        length, kind = int.from_bytes(head[:3], "big"), head[3]
        assert kind == 0x4, "the server's preface is a SETTINGS frame"
        payload = b""
        while len(payload) < length:
            payload += sock.recv(length - len(payload))
    return {
        int.from_bytes(payload[i : i + 2], "big"): int.from_bytes(payload[i + 2 : i + 6], "big")
        for i in range(0, length, 6)
    }


def test_one_connection_holds_250_calls_at_most(grpc_port: int) -> None:
    """Probe DD: one connection with a public page key held 1,000 calls, each with 64 KiB of
    a message that never ended: 80 MB a connection, four connections 256 MB. A connection holds
    250 calls in flight (HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS; 100 refused calls of a
    client with 128 in flight, probe DK), each sending 64 KiB ahead of being read and waiting
    READ_SECONDS at most for its message (api/handler_kinds.py)."""
    settings = _settings(grpc_port)
    assert (settings.get(0x3), settings.get(0x4)) == (250, 64 * 1024)


async def test_the_largest_message_the_contract_takes_fits_and_one_over_1_mib_does_not(
    stubs: Stubs,
) -> None:
    """Probe DH: with messages of 4 MiB, one connection's 100 calls held 400 MiB of messages
    that never ended. A caller's message is capped at 1 MiB: the largest the contract takes, a
    notice of MAX_NOTICE_CONTENT characters of four UTF-8 bytes each, still fits."""
    largest = catalog_pb2.PublishNoticeRequest(
        notice_id="largest", title="Politique", language="fr",
        content="\U0001f600" * MAX_NOTICE_CONTENT,
    )  # fmt: skip
    assert largest.ByteSize() > 800_000
    await stubs.catalog.PublishNotice(largest, metadata=stubs.metadata)
    over = catalog_pb2.PublishNoticeRequest(notice_id="over", content="x" * (1024 * 1024))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs.catalog.PublishNotice(over, metadata=stubs.metadata)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_connection_that_does_not_finish_its_handshake_is_closed(grpc_port: int) -> None:
    """Probe GC: connections that sent nothing, HTTP/2's preface alone, or it and settings
    without acknowledging the server's were held 60 s each (grpc's defaults): 170 new ones a
    second, no key needed, kept the port full. They are closed within HANDSHAKE_MS."""
    started = time.monotonic()
    held = []
    try:
        for sent in (b"", PREFACE[:24], PREFACE):
            sock = socket.create_connection(("127.0.0.1", grpc_port), timeout=5)
            sock.sendall(sent)
            held.append(sock)
        assert _still_open(held, 0, seconds=HANDSHAKE_MS / 1000 + 10) == 0
        assert time.monotonic() - started < 30
    finally:
        for sock in held:
            sock.close()


async def test_a_calls_metadata_is_bounded_as_the_browser_ports_head(
    grpc_port: int, admin_key: str
) -> None:
    """Probe TC: a call's metadata of up to 12 MiB reached the call, which then waited for its
    message: 80 calls of one connection, each with an 8 MiB header, held 2 GB. grpc bounds it
    (16 KiB, advertised) only once the client acknowledged the server's settings; a head sent
    before that is refused by the interceptor, before the credential is looked up. Within the
    bound the call waits for its message as any."""
    assert _settings(grpc_port).get(0x6) == MAX_METADATA_BYTES
    method, key = (
        "/consent.v1.CatalogService/ListPurposes",
        ("authorization", f"Bearer {admin_key}"),
    )
    fits = call_head(method, [key, ("x-fits", "a" * (MAX_METADATA_BYTES // 2))])
    big = call_head(method, [key, ("x-big", "a" * 1024 * 1024)])
    # Health needs no key: its calls held such heads until grpc's settings timeout (probe UA).
    health = call_head("/grpc.health.v1.Health/Check", [("x-big", "a" * 1024 * 1024)])
    for acknowledged in (False, True):  # a thread: the server answers on this event loop
        held = asyncio.to_thread(answered_within, grpc_port, fits, 2, acknowledged=acknowledged)
        assert await held == "held"
        for head in (big, health):
            refused = asyncio.to_thread(
                answered_within, grpc_port, head, 2, acknowledged=acknowledged
            )
            assert await refused == "answered", acknowledged
