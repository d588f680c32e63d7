"""A call's head sent as raw HTTP/2 frames (RFC 9113, HPACK literals of RFC 7541 without
Huffman coding), as an attacker's few lines do: grpc's own client bounds what it sends."""

from __future__ import annotations

import socket
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
HEADERS, CONTINUATION, RST_STREAM, SETTINGS, GOAWAY = 0x1, 0x9, 0x3, 0x4, 0x7
FRAME = 16_384  # HTTP/2's initial SETTINGS_MAX_FRAME_SIZE


def _integer(value: int, prefix: int = 7) -> bytes:
    top = (1 << prefix) - 1
    if value < top:
        return bytes([value])
    out, value = bytearray([top]), value - top
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    return bytes(out) + bytes([value])


def _literal(name: str, value: str) -> bytes:
    """A header field without indexing, its name and value as plain strings."""
    named, valued = name.encode(), value.encode()
    return b"\x40" + _integer(len(named)) + named + _integer(len(valued)) + valued


def _frame(kind: int, flags: int, payload: bytes, stream: int = 1) -> bytes:
    return (
        len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload
    )


def call_head(method: str, metadata: list[tuple[str, str]]) -> bytes:
    """The frames of a call's head on stream 1 (no message: END_STREAM unset), split in
    CONTINUATION frames past the frame size."""
    block = b"".join(
        _literal(name, value)
        for name, value in [
            (":method", "POST"), (":scheme", "http"), (":path", method),
            (":authority", "127.0.0.1"), ("content-type", "application/grpc"), ("te", "trailers"),
            *metadata,
        ]
    )  # fmt: skip
    chunks = [block[i : i + FRAME] for i in range(0, len(block), FRAME)]
    frames = b""
    for n, chunk in enumerate(chunks):
        last = 0x4 if n == len(chunks) - 1 else 0  # END_HEADERS
        frames += _frame(HEADERS if n == 0 else CONTINUATION, last, chunk)
    return frames


def answered_within(port: int, head: bytes, seconds: float, *, acknowledged: bool) -> str:
    """What the server does within `seconds` of a call's head that sends no message: `answered`
    (stream 1's head or reset), `closed` (the connection) or `held` (the call waiting). The
    server's settings are acknowledged when they come; `acknowledged`: before the head is sent
    (grpc applies its own bounds only then), else the head goes first."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        sock.sendall(PREFACE if acknowledged else PREFACE + head)
        deadline, buffered, sent = time.monotonic() + seconds, b"", not acknowledged
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return "held"
            except OSError:
                return "closed"  # reset
            if not chunk:
                return "closed"
            buffered += chunk
            while len(buffered) >= 9 and len(buffered) >= 9 + int.from_bytes(buffered[:3], "big"):
                length, kind, flags = int.from_bytes(buffered[:3], "big"), buffered[3], buffered[4]
                stream = int.from_bytes(buffered[5:9], "big") & 0x7FFFFFFF
                if kind == GOAWAY:
                    return "closed"
                if stream == 1 and kind in (HEADERS, RST_STREAM):
                    return "answered"
                if kind == SETTINGS and not flags & 0x1:
                    sock.sendall(SETTINGS_ACK + (b"" if sent else head))
                    sent = True
                buffered = buffered[9 + length :]
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
    return "held"
