"""Bulk work must not starve single checks: unary CheckConsent p99, idle and while 500
StreamCheckConsent streams run (target: within 3x of idle).

Starts a private PostgreSQL and `consentd serve` (a child process, as deployed), stores
`--subjects` grants, then measures unary CheckConsent latency from this process with
`--concurrency` calls in flight: first alone, then while a second child process keeps
`--streams` StreamCheckConsent streams busy (each sends chunks of `--chunk` recipients as fast
as its answers come back). Prints p50/p99 of both phases and their ratio.

    .venv/bin/python bench/isolation.py --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from consent.v1 import (
    campaign_pb2,
    campaign_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
    types_pb2,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consentd.bootstrap import bootstrap
from consentd.config import Settings
from consentd.store.database import migrate, provision_runtime_role
from consentd.store.embedded import EmbeddedPostgres

TARGET = types_pb2.ConsentTarget(
    purpose="newsletter", channel=types_pb2.CHANNEL_EMAIL, scope=types_pb2.PARTY_SCOPE_FIRST_PARTY
)
SECRET = bytes(range(32))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ref(index: int) -> types_pb2.SubjectRef:
    return types_pb2.SubjectRef(email=f"person{index}@example.fr")


async def _unary(
    address: str, meta: tuple[tuple[str, str], ...], args: argparse.Namespace
) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + args.seconds
    async with grpc.aio.insecure_channel(address) as channel:
        stub = consent_pb2_grpc.ConsentServiceStub(channel)

        async def worker(offset: int) -> None:
            index = offset
            while time.perf_counter() < deadline:
                request = consent_pb2.CheckConsentRequest(
                    subject=_ref(index % args.subjects), target=TARGET
                )
                started = time.perf_counter()
                await stub.CheckConsent(request, metadata=meta, timeout=30)
                latencies.append(time.perf_counter() - started)
                index += args.concurrency

        await asyncio.gather(*(worker(i) for i in range(args.concurrency)))
    return latencies


async def _streams(
    address: str, meta: tuple[tuple[str, str], ...], args: argparse.Namespace
) -> None:
    """--role streams: keep `--streams` StreamCheckConsent streams busy for `--seconds`."""
    deadline = time.monotonic() + args.seconds
    answered = 0

    async def stream(number: int) -> None:
        nonlocal answered
        async with grpc.aio.insecure_channel(address) as channel:
            call = campaign_pb2_grpc.CampaignServiceStub(channel).StreamCheckConsent(metadata=meta)
            first = True
            while time.monotonic() < deadline:
                chunk = [_ref((number * 97 + i) % args.subjects) for i in range(args.chunk)]
                request = campaign_pb2.StreamCheckConsentRequest(recipients=chunk)
                if first:
                    request.target.CopyFrom(TARGET)
                    first = False
                await call.write(request)
                reply = await call.read()
                answered += len(reply.answers)
            await call.done_writing()

    await asyncio.gather(*(stream(n) for n in range(args.streams)), return_exceptions=True)
    print(f"streams: {answered / args.seconds:.0f} recipients/s answered", file=sys.stderr)


def _line(name: str, latencies: list[float]) -> tuple[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    text = (
        f"{name:<26} p50 {cuts[49] * 1000:7.2f} ms   p99 {cuts[98] * 1000:7.2f} ms"
        f"   ({len(latencies)} calls)"
    )
    return text, cuts[98]


async def _seed(address: str, meta: tuple[tuple[str, str], ...], subjects: int) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(600):
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)
        purpose = catalog_pb2.Purpose(
            purpose_id="newsletter", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT
        )
        await catalog_pb2_grpc.CatalogServiceStub(channel).PutPurpose(
            catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=meta
        )
        consent = consent_pb2_grpc.ConsentServiceStub(channel)
        choice = consent_pb2.ConsentChoice(target=TARGET, state=types_pb2.CONSENT_STATE_GRANTED)
        for start in range(0, subjects, 200):
            await asyncio.gather(
                *(
                    consent.RecordConsent(
                        consent_pb2.RecordConsentRequest(
                            subject=types_pb2.SubjectIdentity(email=f"person{i}@example.fr"),
                            choices=[choice],
                            source=types_pb2.SOURCE_API,
                        ),
                        metadata=meta,
                    )
                    for i in range(start, min(start + 200, subjects))
                )
            )


async def _prepare(postgres: EmbeddedPostgres) -> tuple[str, str, str]:
    postgres.create_database("bench")
    owner_url = postgres.url("bench")
    await migrate(owner_url)
    url = await provision_runtime_role(owner_url, "bench-runtime-password")
    app = bootstrap(Settings(), url, SECRET, owner_url=owner_url)
    try:
        assert app.admin is not None
        await app.admin.create_tenant("bench")
        key, _ = await app.admin.issue_key("bench", ["admin"], name="bench")
    finally:
        await app.aclose()
    return owner_url, url, key.token


def _conduct(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="consentd-isolation-"))
    base.chmod(0o711)
    postgres = EmbeddedPostgres(base / "pg", ephemeral=True)
    postgres.start()
    server = None
    try:
        owner_url, url, key = asyncio.run(_prepare(postgres))
        address = f"127.0.0.1:{_free_port()}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "CONSENTD_MIGRATION_DATABASE_URL": owner_url,
            "CONSENTD_SECRET_KEY": base64.b64encode(SECRET).decode(),
            "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(bytes(range(32, 64))).decode(),
            "CONSENTD_GRPC_ADDRESS": address,
            "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{_free_port()}",
            "CONSENTD_METRICS_ADDRESS": "off",
            "CONSENTD_LOG_LEVEL": "warning",
            "CONSENTD_LOG_FORMAT": "json",
            "CONSENTD_RATE_LIMIT": "1000000",
            "CONSENTD_RATE_BURST": "1000000",
        }
        server = subprocess.Popen([sys.executable, "-m", "consentd", "serve"], env=env)
        meta = (("authorization", f"Bearer {key}"),)
        asyncio.run(_seed(address, meta, args.subjects))
        idle_text, idle = _line("CheckConsent idle", asyncio.run(_unary(address, meta, args)))
        load = subprocess.Popen(
            [sys.executable, __file__, "--role", "streams", "--address", address, "--key", key,
             *_shared(args)]
        )  # fmt: skip
        time.sleep(2.0)  # the streams open and fill
        busy_text, busy = _line(
            f"CheckConsent +{args.streams} streams", asyncio.run(_unary(address, meta, args))
        )
        load.wait(args.seconds + 60)
        print(idle_text)
        print(busy_text)
        print(f"p99 with streams / idle: {busy / idle:.1f}x (target: at most 3x)")
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


def _shared(args: argparse.Namespace) -> list[str]:
    return [
        "--subjects", str(args.subjects), "--streams", str(args.streams),
        "--chunk", str(args.chunk), "--seconds", str(args.seconds + 4),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("conduct", "streams"), default="conduct")
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--chunk", type=int, default=100, help="recipients per stream message")
    parser.add_argument("--concurrency", type=int, default=4, help="unary checks in flight")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--address", default="")
    parser.add_argument("--key", default="")
    args = parser.parse_args()
    if args.role == "streams":
        meta = (("authorization", f"Bearer {args.key}"),)
        asyncio.run(_streams(args.address, meta, args))
    else:
        _conduct(args)


if __name__ == "__main__":
    main()
