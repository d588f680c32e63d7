"""Cookie choices recorded per second through Connect (JSON over HTTP/1.1) and native gRPC.

Starts the real `consentd serve` as a child process (gRPC and the browser port on free loopback
ports, logs at warning) on a PostgreSQL started here with fsync and synchronous_commit off, so
the figures show the service and its protocols rather than this disk's fsync (`--durable`: the
serve's own embedded PostgreSQL with durable commits instead), then from this process records cookie
choices with `--concurrency` calls in flight for `--seconds` per protocol: first through
connectrpc's Python client with the JSON codec over HTTP/1.1 (what a browser's Connect
transport sends), then through the generated grpcio stub. Every call is a new visitor, so every
call inserts a visitor and a choice. Prints calls/s, p50/p99 latency and the Connect/gRPC ratio
(plus Connect with the binary codec, to tell the JSON codec's share from HTTP/1.1's).
The server, PostgreSQL and this load generator share the machine's cores: compare the two
lines with each other, not with another machine. Stops the child (SIGTERM, then waits).

    .venv/bin/python bench/cookie_throughput.py --concurrency 32 --seconds 10 --rounds 5 [--durable]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.protocol import ProtocolType
from consent.v1 import cookies_pb2 as pb
from consent.v1 import cookies_pb2_grpc
from consent.v1.cookies_connect import CookieServiceClient
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consentd.store.database import migrate, provision_runtime_role
from consentd.store.embedded import EmbeddedPostgres


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _request() -> pb.RecordCookieChoiceRequest:
    return pb.RecordCookieChoiceRequest(
        visitor_id=uuid.uuid4().hex,
        method=pb.COOKIE_CHOICE_METHOD_CUSTOM,
        granted_categories=["analytics"],
        policy_revision=1,
        page_url="https://www.example.fr/produits",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) bench",
        ip_address="192.0.2.10",
    )


async def _drive(
    call: Callable[[], Awaitable[Any]], concurrency: int, seconds: float
) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def _line(name: str, latencies: list[float], seconds: float) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    return (
        f"{name:<28} {len(latencies) / seconds:>8.0f} choices/s   p50 {cuts[49] * 1000:6.2f} ms"
        f"   p99 {cuts[98] * 1000:6.2f} ms   ({len(latencies)} calls)"
    )


async def _wait_ready(grpc_port: int, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if child.poll() is not None:
                raise SystemExit(f"consentd serve exited with {child.returncode}")
            try:
                await stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                return
            except grpc.aio.AioRpcError:
                if time.monotonic() > deadline:
                    raise SystemExit("consentd serve was not ready in 90 s") from None
                await asyncio.sleep(0.3)


def _page_key(env: dict[str, str]) -> str:
    """A cookies:write key of the default tenant, as a web page would carry (admin CLI)."""
    done = subprocess.run(
        [sys.executable, "-m", "consentd", "keys", "create", "local", "--scope", "cookies:write"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("key "))


async def measure(
    grpc_port: int, http_port: int, key: str, *, concurrency: int, seconds: float, rounds: int
) -> None:
    metadata = (("authorization", f"Bearer {key}"),)
    connect = CookieServiceClient(
        f"http://127.0.0.1:{http_port}",
        codec=google_protobuf_json_codec(),
        protocol=ProtocolType.CONNECT,
        send_compression=None,
    )

    binary = CookieServiceClient(
        f"http://127.0.0.1:{http_port}",
        codec=google_protobuf_binary_codec(),
        protocol=ProtocolType.CONNECT,
        send_compression=None,
    )

    async def over_connect() -> Any:
        return await connect.record_cookie_choice(_request(), headers=dict(metadata))

    async def over_connect_binary() -> Any:
        return await binary.record_cookie_choice(_request(), headers=dict(metadata))

    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = cookies_pb2_grpc.CookieServiceStub(channel)

        async def over_grpc() -> Any:
            return await stub.RecordCookieChoice(_request(), metadata=metadata)

        for warm in (over_connect, over_connect_binary, over_grpc):  # connections, caches
            await _drive(warm, concurrency, 1.0)
        print(
            f"RecordCookieChoice, {concurrency} calls in flight, {seconds:.0f} s per protocol "
            f"in {rounds} alternating rounds (so a change in machine load hits both alike)"
        )
        connect_lat: list[float] = []
        binary_lat: list[float] = []
        grpc_lat: list[float] = []
        for index in range(rounds):
            order = [
                (over_connect, connect_lat),
                (over_grpc, grpc_lat),
                (over_connect_binary, binary_lat),
            ]
            for call, into in order if index % 2 == 0 else order[::-1]:
                into.extend(await _drive(call, concurrency, seconds / rounds))
        print(_line("Connect JSON (HTTP/1.1)", connect_lat, seconds))
        print(_line("native gRPC (HTTP/2)", grpc_lat, seconds))
        print(_line("(Connect binary, HTTP/1.1)", binary_lat, seconds))
    print(f"ratio Connect JSON / native gRPC: {len(connect_lat) / len(grpc_lat):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--durable", action="store_true", help="durable commits (fsync on)")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="consentd-bench-"))
    data.chmod(0o711)
    postgres = None if args.durable else EmbeddedPostgres(data / "fast-pg", ephemeral=True)
    grpc_port, http_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "CONSENTD_DATA_DIR": str(data),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{grpc_port}",
        "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
        "CONSENTD_LOG_LEVEL": "warning",
        "CONSENTD_LOG_FORMAT": "json",
        "CONSENTD_PURGE_INTERVAL_SECONDS": "0",
        "CONSENTD_DB_POOL_SIZE": "20",
    }
    if postgres is not None:
        postgres.start()
        postgres.create_database("bench")
        owner = postgres.url("bench")
        asyncio.run(migrate(owner))
        env["DATABASE_URL"] = asyncio.run(provision_runtime_role(owner, uuid.uuid4().hex))
        env["CONSENTD_MIGRATION_DATABASE_URL"] = owner
        env["CONSENTD_SECRET_KEY"] = base64.b64encode(os.urandom(32)).decode()
        env["CONSENTD_AUDIT_SIGNING_KEY"] = base64.b64encode(os.urandom(32)).decode()
    print("PostgreSQL:", "durable (embedded, fsync on)" if args.durable else "fsync off")
    child = subprocess.Popen([sys.executable, "-m", "consentd", "serve"], env=env)
    try:
        asyncio.run(_wait_ready(grpc_port, child))
        print(f"consentd serve pid {child.pid}: gRPC :{grpc_port}, browser port :{http_port}")
        key = _page_key(env)
        asyncio.run(
            measure(
                grpc_port,
                http_port,
                key,
                concurrency=args.concurrency,
                seconds=args.seconds,
                rounds=args.rounds,
            )
        )
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
