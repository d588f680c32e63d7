"""The metrics port: Prometheus text at /metrics, from the event loop, with the browser port's
kind of bounds. prometheus_client's own server gave every connection a thread and held it for
ever: 3,000 idle connections held 3,000 threads and file descriptors, taken from the budget the
ports and PostgreSQL share (probe FA), and a half-sent head was never closed."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = structlog.get_logger("consentd")

# A request head must arrive whole within this (a scrape sends it at once), at most this long.
HEAD_SECONDS = 5.0
MAX_HEAD_BYTES = 8 * 1024
# Connections held at once: a Prometheus or two, and an operator's curl. Past it, the one that
# has waited longest for its request is closed to make room (16 idle sockets refused every
# scrape while they were held; probe FE).
MAX_CONNECTIONS = 16
# How long an answer may take to be read, and a close to finish.
WRITE_SECONDS = 10.0


class MetricsServer:
    """Prometheus text on http://<address>/metrics, one request a connection (GET or HEAD);
    another path is 404, another method 405."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        # Each open connection, oldest first, and whether its request is still awaited.
        self._open: dict[asyncio.StreamWriter, bool] = {}
        self._answering: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    @classmethod
    async def start(cls, registry: CollectorRegistry, address: str) -> MetricsServer:
        """Listening on `address` (host:port; port 0 picks one). Raises OSError."""
        host, _, port = address.rpartition(":")
        metrics = cls(registry)
        metrics._server = await asyncio.start_server(
            metrics._serve, host.strip("[]"), int(port), limit=MAX_HEAD_BYTES
        )
        metrics.port = int(metrics._server.sockets[0].getsockname()[1])
        return metrics

    async def close(self) -> None:
        for writer in list(self._open):  # asyncio's close leaves them to be cancelled, noisily
            writer.transport.abort()
        if self._answering:  # each ends at once, its connection gone
            await asyncio.wait(self._answering, timeout=WRITE_SECONDS)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WRITE_SECONDS):
                    await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._open) >= MAX_CONNECTIONS:
            waiting = next((w for w, awaited in self._open.items() if awaited), None)
            if waiting is None:  # every one being answered: this one waits for none of them
                writer.transport.abort()
                return
            waiting.transport.abort()
            self._open.pop(waiting, None)
        self._open[writer] = True
        task = asyncio.current_task()
        assert task is not None
        self._answering.add(task)
        try:
            async with asyncio.timeout(HEAD_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
            self._open[writer] = False
            status, body = await self._answer(head)
            async with asyncio.timeout(WRITE_SECONDS):
                writer.write(_response(status, body, head.startswith(b"HEAD ")))
                writer.close()  # after the answer is sent: the client reads it whole
                await writer.wait_closed()
        # A slow, oversized, vanished or evicted client; or (RuntimeError, uvloop's "handler
        # is closed") its connection closed under it at shutdown: a traceback (probe ZC).
        except (
            TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError,
            RuntimeError,
        ):  # fmt: skip
            writer.transport.abort()
        finally:
            self._open.pop(writer, None)
            self._answering.discard(task)

    async def _answer(self, head: bytes) -> tuple[str, bytes]:
        method, _, rest = head.partition(b" ")
        path = rest.split(b" ", 1)[0].split(b"?", 1)[0]
        if method not in (b"GET", b"HEAD"):
            return "405 Method Not Allowed", b"GET /metrics\n"
        if path != b"/metrics":
            return "404 Not Found", b"not found: the metrics are at /metrics\n"
        return "200 OK", await asyncio.to_thread(generate_latest, self._registry)


def _response(status: str, body: bytes, head_only: bool) -> bytes:
    kind = CONTENT_TYPE_LATEST if status.startswith("200") else "text/plain; charset=utf-8"
    lines = (
        f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\nCache-Control: no-store\r\n\r\n"
    )
    return lines.encode() + (b"" if head_only else body)


# A port held at start (a predecessor still draining on it: up to its grace) is tried again
# this often, this many times: it was given up at once, and the instance had no metrics, its
# `consentd_serving` included, for its whole life (probe ZC).
RETRY_SECONDS = 5.0
RETRIES = 24


class MetricsPort:
    """The metrics port of a serve: its server once bound (`server`, None until then)."""

    def __init__(self, registry: CollectorRegistry, address: str) -> None:
        self._registry = registry
        self._address = address
        self.server: MetricsServer | None = None
        self._again: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Bound now, or tried again in the background (a port held is logged, not fatal:
        consent answers matter more than their metrics)."""
        try:
            self.server = await MetricsServer.start(self._registry, self._address)
        except OSError as error:
            log.error("metrics_unavailable", address=self._address, error=error.strerror,
                      retry_seconds=RETRY_SECONDS)  # fmt: skip
            self._again = asyncio.create_task(self._retried())

    async def _retried(self) -> None:
        for _ in range(RETRIES):
            await asyncio.sleep(RETRY_SECONDS)
            with contextlib.suppress(OSError):
                self.server = await MetricsServer.start(self._registry, self._address)
                log.info("metrics_bound", address=self._address)
                return
        log.error("metrics_given_up", address=self._address, tries=RETRIES + 1)

    async def close(self) -> None:
        if self._again is not None:
            self._again.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._again
        if self.server is not None:
            await self.server.close()
