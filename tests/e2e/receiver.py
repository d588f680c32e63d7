"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that keeps what it was
sent and answers as told, and the signature check a receiver writes (Standard Webhooks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> Any:
        return json.loads(self.body)

    @property
    def positions(self) -> list[int]:
        return [int(c["position"]) for c in self.document.get("changes", [])]


@dataclass
class Receiver:
    """`answers`: the statuses of the next POSTs, in order (then 204); `hang`: while set, a
    POST gets no answer at all."""

    port: int = 0
    answers: list[int] = field(default_factory=list)
    received: list[Delivery] = field(default_factory=list)
    hang: threading.Event = field(default_factory=threading.Event)
    delay: float = 0.0  # seconds before each answer
    retry_after: str = ""  # sent with a 429 or 503 answer when set
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?token=abc"

    def taken(self) -> list[Delivery]:
        """The POSTs answered 2xx, in order."""
        with self.lock:
            return [d for d in self.received if d.headers.get("x-answered", "") == "2xx"]

    def positions(self) -> list[int]:
        return [p for d in self.taken() for p in d.positions]

    def wait_for(self, count: int, seconds: float = 20) -> list[int]:
        """Blocks until the 2xx-answered POSTs held `count` changes; their positions."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len(found := self.positions()) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"received {self.positions()} within {seconds} s, wanted {count}")

    def wait_for_attempts(self, count: int, seconds: float = 20) -> None:
        """Blocks until `count` POSTs came, whatever their answer."""
        deadline = time.monotonic() + seconds
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} POSTs in {seconds} s"
            time.sleep(0.05)


def verified(secret: str, delivery: Delivery) -> bool:
    """What a receiver runs: HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>" under the
    base64 key after `whsec_`, compared with each `v1,` signature of the header."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    h = delivery.headers
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + delivery.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in h["webhook-signature"].split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, s) for s in given)


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if state.hang.is_set():  # no answer: the sender's timeout or shutdown ends it
                with state.lock:
                    state.received.append(Delivery({**headers, "x-answered": "none"}, body))
                deadline = time.monotonic() + 30
                while state.hang.is_set() and time.monotonic() < deadline:
                    time.sleep(0.05)
                return
            time.sleep(state.delay)
            with state.lock:
                status = state.answers.pop(0) if state.answers else 204
                headers["x-answered"] = "2xx" if 200 <= status < 300 else str(status)
                state.received.append(Delivery(headers, body))
            self.send_response(status)
            if state.retry_after and status in (429, 503):
                self.send_header("retry-after", state.retry_after)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.hang.clear()
        server.shutdown()
        server.server_close()
