"""The browser port against clients that hold connections without finishing requests: read
deadlines for the head and the body, a bounded head answered 414/431, and a connection limit that
closes the longest-waiting idle connection first (api/http_guard.py). Raw sockets, real port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from consentd.api.http import HttpServer
from consentd.api.http_guard import ConnectionGuard
from consentd.bootstrap import App

HEAD = b"POST /consent.v1.CookieService/RecordCookieChoice HTTP/1.1\r\nHost: x\r\n"


@pytest.fixture
def guarded() -> ConnectionGuard:
    return ConnectionGuard(8, head_seconds=0.5, body_seconds=0.5)


@pytest.fixture
async def port(app: App, guarded: ConnectionGuard) -> AsyncIterator[int]:
    server = HttpServer(app.browser_app(), grace=1, guard=guarded)
    yield await server.start("127.0.0.1:0")
    await server.stop()


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _answer(reader: asyncio.StreamReader, within: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), within)


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        writer.close()


async def _page_answers(port: int) -> bytes:
    reader, writer = await _connect(port)
    writer.write(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    try:
        return await _answer(reader)
    finally:
        _close(writer)


async def test_a_half_sent_head_is_answered_408_and_closed(port: int) -> None:
    """A client that never finishes its request head is told so and closed (it used to be held
    open forever)."""
    reader, writer = await _connect(port)
    writer.write(HEAD)
    answer = await _answer(reader)
    _close(writer)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request head did not arrive within 0.5 s" in answer


async def test_an_idle_connection_is_closed_without_an_answer(port: int) -> None:
    reader, writer = await _connect(port)
    assert await _answer(reader) == b""
    _close(writer)


async def test_a_body_shorter_than_its_length_is_answered_408(port: int) -> None:
    """Content-Length promised more than was sent: the call does not hang."""
    reader, writer = await _connect(port)
    writer.write(HEAD + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
    answer = await _answer(reader)
    _close(writer)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request body did not arrive" in answer


async def test_a_long_request_line_is_answered_414(port: int) -> None:
    reader, writer = await _connect(port)
    writer.write(b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = await _answer(reader)
    _close(writer)
    assert answer.startswith(b"HTTP/1.1 414 ")


async def test_a_large_head_is_answered_431(port: int) -> None:
    reader, writer = await _connect(port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 1_000_000 + b"\r\n\r\n")
    answer = await _answer(reader)
    _close(writer)
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_a_full_port_closes_the_longest_waiting_connection_for_a_new_one(
    port: int, guarded: ConnectionGuard
) -> None:
    """Eight half-sent requests fill the port; a ninth client is still answered, and the first
    idle connection is the one closed to make room."""
    held = [await _connect(port) for _ in range(guarded.limit)]
    for _, writer in held:
        writer.write(b"GET / HTTP/1.1\r\n")
    await asyncio.sleep(0.05)
    answer = await _page_answers(port)
    assert answer.startswith(b"HTTP/1.1 404 ")
    first_reader, _ = held[0]
    assert await _answer(first_reader, within=0.3) == b""
    for _, writer in held:
        _close(writer)


async def test_a_port_full_of_busy_connections_refuses_new_ones(app: App) -> None:
    """With every connection inside a request (none waiting for a head), a new one is closed at
    once rather than held."""
    guard = ConnectionGuard(2, head_seconds=5, body_seconds=5)
    server = HttpServer(app.browser_app(), grace=1, guard=guard)
    port = await server.start("127.0.0.1:0")
    try:
        busy = [await _connect(port) for _ in range(2)]
        for _, writer in busy:
            writer.write(HEAD + b"Content-Length: 10\r\n\r\n{")
        await asyncio.sleep(0.1)
        reader, writer = await _connect(port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            assert await _answer(reader, within=2) == b""
        _close(writer)
        assert guard.refused == 1
        for _, busy_writer in busy:
            _close(busy_writer)
    finally:
        await server.stop()
