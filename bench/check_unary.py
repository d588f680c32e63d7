"""Unary CheckConsent and RecordConsent throughput on this machine: a first baseline.

Starts a private PostgreSQL and the real server in this process, records `--subjects` grants,
then drives CheckConsent (and RecordConsent) with `--concurrency` calls in flight for
`--seconds` each, through the generated stubs, and prints calls/s with p50/p99 latency.
The load generator shares the process and its one core with the server, so read the figures
as a floor; issue #7's benchmark runs the load from a separate process.

    .venv/bin/python bench/check_unary.py --subjects 2000 --concurrency 64 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from consent.v1 import catalog_pb2, catalog_pb2_grpc, consent_pb2, consent_pb2_grpc, types_pb2

from consentd.bootstrap import bootstrap
from consentd.config import Settings
from consentd.logs import configure_logging
from consentd.store.database import migrate, provision_runtime_role
from consentd.store.embedded import EmbeddedPostgres

TARGET = types_pb2.ConsentTarget(
    purpose="newsletter", channel=types_pb2.CHANNEL_EMAIL, scope=types_pb2.PARTY_SCOPE_FIRST_PARTY
)
SECRET = bytes(range(32))


def _record(index: int) -> consent_pb2.RecordConsentRequest:
    choice = consent_pb2.ConsentChoice(target=TARGET, state=types_pb2.CONSENT_STATE_GRANTED)
    return consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=f"person{index}@example.fr"),
        choices=[choice],
        source=types_pb2.SOURCE_API,
    )


async def _drive(
    call: Callable[[int], Awaitable[Any]], concurrency: int, seconds: float
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        index = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call(index)
            latencies.append(time.perf_counter() - started)
            index += concurrency

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return len(latencies), latencies


def _line(name: str, count: int, latencies: list[float], seconds: float) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    return (
        f"{name:<16} {count / seconds:>9.0f} calls/s   p50 {cuts[49] * 1000:6.2f} ms"
        f"   p99 {cuts[98] * 1000:6.2f} ms   ({count} calls)"
    )


async def run(subjects: int, concurrency: int, seconds: float) -> None:
    base = Path(tempfile.mkdtemp(prefix="consentd-bench-"))
    base.chmod(0o711)  # noqa: ASYNC240 - once, before anything runs
    postgres = EmbeddedPostgres(base / "pg", ephemeral=True)
    postgres.start()
    try:
        postgres.create_database("bench")
        owner_url = postgres.url("bench")
        await migrate(owner_url)
        url = await provision_runtime_role(owner_url, "bench-runtime-password")
        app = bootstrap(Settings(db_pool_size=20), url, SECRET, owner_url=owner_url)
        assert app.admin is not None
        tenant = await app.admin.create_tenant("bench")
        key, _ = await app.admin.issue_key(tenant.slug, ["admin"], name="bench")
        server = app.server()
        port = server.bind("127.0.0.1:0")
        await server.start()
        meta = (("authorization", f"Bearer {key.token}"),)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            consent = consent_pb2_grpc.ConsentServiceStub(channel)
            catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
            purpose = catalog_pb2.Purpose(
                purpose_id="newsletter", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT
            )
            await catalog.PutPurpose(catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=meta)
            for start in range(0, subjects, 200):
                batch = range(start, min(start + 200, subjects))
                await asyncio.gather(
                    *(consent.RecordConsent(_record(i), metadata=meta) for i in batch)
                )

            async def check(index: int) -> Any:
                ref = types_pb2.SubjectRef(email=f"person{index % subjects}@example.fr")
                request = consent_pb2.CheckConsentRequest(subject=ref, target=TARGET)
                return await consent.CheckConsent(request, metadata=meta)

            async def write(index: int) -> Any:
                return await consent.RecordConsent(_record(subjects + index), metadata=meta)

            print(f"{subjects} subjects, {concurrency} calls in flight, {seconds:.0f} s per line")
            for name, call in (("CheckConsent", check), ("RecordConsent", write)):
                count, latencies = await _drive(call, concurrency, seconds)
                print(_line(name, count, latencies, seconds))
        await server.stop(1)
        await app.aclose()
    finally:
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    configure_logging("warning", "json")  # one log line per RPC would measure the terminal
    asyncio.run(run(args.subjects, args.concurrency, args.seconds))


if __name__ == "__main__":
    main()
