"""The metrics port holds few connections and none for long (probe FA: prometheus_client's
threaded server gave 3,000 idle connections 3,000 threads and file descriptors, and never closed
a half-sent head), answers /metrics only, and its scrape is Prometheus text."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import CollectorRegistry, Counter

from consentd.telemetry import metrics, metrics_port
from consentd.telemetry.metrics_port import MetricsServer


async def _get(port: int, path: str, method: str = "GET") -> tuple[bytes, bytes]:
    """The status line and body of one request."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True


async def test_a_scrape_and_the_paths_that_are_not_one() -> None:
    assert metrics.Metrics  # consentd's metrics module imported: its settings hold
    registry = CollectorRegistry()
    Counter("consentd_probe", "a counter", registry=registry).inc(3)
    server = await MetricsServer.start(registry, "127.0.0.1:0")
    try:
        status, body = await _get(server.port, "/metrics?x=1")
        assert status == b"HTTP/1.1 200 OK"
        assert b"consentd_probe_total 3.0" in body
        assert b"_created" not in body  # no undocumented twin per counter (probe UC)
        assert await _get(server.port, "/metrics", "HEAD") == (b"HTTP/1.1 200 OK", b"")
        for path in ("/", "/debug", "/../etc/passwd", "/metrics%00"):
            assert (await _get(server.port, path))[0] == b"HTTP/1.1 404 Not Found"
        assert (await _get(server.port, "/metrics", "POST"))[0].startswith(b"HTTP/1.1 405")
    finally:
        await server.close()


async def test_idle_and_half_sent_connections_are_bounded_and_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most MAX_CONNECTIONS: past it the one that waited longest for its request is closed,
    so a scrape gets through idle holders (probe FE: 16 idle sockets refused every scrape);
    a head that never ends is closed after HEAD_SECONDS; closing the port ends its connections
    without an error line."""
    monkeypatch.setattr(metrics_port, "HEAD_SECONDS", 0.5)
    server = await MetricsServer.start(CollectorRegistry(), "127.0.0.1:0")
    try:
        held = [
            await asyncio.open_connection("127.0.0.1", server.port)
            for _ in range(metrics_port.MAX_CONNECTIONS)
        ]
        held[-1][1].write(b"GET /metr")  # a head that never ends
        await asyncio.sleep(0.05)
        assert (await _get(server.port, "/metrics"))[0] == b"HTTP/1.1 200 OK"
        assert await _closed(held[0][0])  # the oldest made room
        started = time.monotonic()
        assert all([await _closed(r) for r, _ in held[1:]])  # each closed after HEAD_SECONDS
        assert time.monotonic() - started < 3
        for _, writer in held:
            writer.close()
        idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(3)]
        await asyncio.sleep(0.05)
    finally:
        await server.close()
    # None of its connections is left for asyncio.run to cancel (an error line each, probe FE).
    serving = [t for t in asyncio.all_tasks() if "MetricsServer._serve" in repr(t.get_coro())]
    assert serving == []
    assert all([await _closed(r) for r, _ in idle])
    for _, writer in idle:
        writer.close()


async def test_a_port_held_at_start_is_bound_once_it_is_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Probe ZC: a serve started while its predecessor still drained on the metrics port
    logged `metrics_unavailable` once and never had a metrics port, `consentd_serving`
    included. The port is tried again until it is free, then served."""
    monkeypatch.setattr(metrics_port, "RETRY_SECONDS", 0.05)
    registry = CollectorRegistry()
    Counter("consentd_probe", "a counter", registry=registry).inc()
    held = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = held.sockets[0].getsockname()[1]
    opened = metrics_port.MetricsPort(registry, f"127.0.0.1:{port}")
    await opened.open()
    try:
        assert opened.server is None
        held.close()
        await held.wait_closed()
        for _ in range(100):
            if opened.server is not None:
                break
            await asyncio.sleep(0.05)
        assert opened.server is not None
        status, body = await _get(port, "/metrics")
        assert status == b"HTTP/1.1 200 OK"
        assert b"consentd_probe_total 1.0" in body
    finally:
        await opened.close()
