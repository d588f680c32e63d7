"""`consentd health`, the container probe (Dockerfile HEALTHCHECK, every 10 s): 0 for a server
whose health (api/health.py) says SERVING, 1 for NOT_SERVING or no server; it imports grpc alone,
not the app (the whole app cost ~0.9 s of CPU at every probe)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import grpc
from grpc_health.v1 import health_pb2_grpc

from consentd.api.health import NOT_SERVING, SERVING, Health

# The probe run in a fresh interpreter: its exit code, then whether the app's modules came in.
PROBE = """
import sys
from consentd.cli import main
code = main(["health", "--address", sys.argv[1]])
heavy = sorted(m for m in ("consentd.bootstrap", "consentd.store.database", "sqlalchemy",
                           "connectrpc", "uvicorn") if m in sys.modules)
print(code, ",".join(heavy) or "-")
"""


def _probe(address: str) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, address],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    code, heavy = done.stdout.split()
    return code, heavy


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_probe_follows_the_servers_health_without_importing_the_app() -> None:
    health = Health(["consent.v1.ConsentService"])
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        health.set(SERVING)
        assert await asyncio.to_thread(_probe, f"127.0.0.1:{port}") == ("0", "-")
        health.set(NOT_SERVING)
        assert await asyncio.to_thread(_probe, f"127.0.0.1:{port}") == ("1", "-")
    finally:
        await server.stop(grace=None)


def test_the_probe_fails_when_nothing_answers() -> None:
    assert _probe(f"127.0.0.1:{_closed_port()}") == ("1", "-")


def test_the_probe_says_why_and_refuses_an_address_that_is_no_host_port() -> None:
    """Nothing answering: exit 1 saying so on stderr (it said nothing); `notanaddress`: exit 2
    with a message (it was an uncaught ValueError). Found by a probe."""
    for address, code, said in (
        (f"127.0.0.1:{_closed_port()}", 1, "UNAVAILABLE"),
        ("notanaddress", 2, "is not host:port"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "consentd", "health", "--address", address],
            check=False, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == code, done.stderr
        assert said in done.stderr
        assert "Traceback" not in done.stderr
