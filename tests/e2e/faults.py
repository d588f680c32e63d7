"""The fault suite's machinery: a PostgreSQL of its own (a child process, fsync on, a fixed port
so it can be killed and started again), `consentd serve` children, and a ledger of acknowledged
writes checked against the database afterwards."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from consent.v1 import catalog_pb2, catalog_pb2_grpc, consent_pb2, consent_pb2_grpc, types_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consentd.store.embedded import EmbeddedPostgres

SECRET = base64.b64encode(bytes(range(32))).decode()
SIGNING_KEY = base64.b64encode(bytes(range(32, 64))).decode()
# The database ceiling the served process is given (CONSENTD_DB_TIMEOUT_SECONDS).
CEILING = 2.0
GRACE = 5.0
PURPOSE = "newsletter"
TARGET = types_pb2.ConsentTarget(
    purpose=PURPOSE, channel=types_pb2.CHANNEL_EMAIL, scope=types_pb2.PARTY_SCOPE_FIRST_PARTY
)
SERVING = health_pb2.HealthCheckResponse.SERVING
PGREP = shutil.which("pgrep") or "/usr/bin/pgrep"


# Below Linux's ephemeral range (32768-60999): a server restarted on the same port must not
# find it taken by some client connection's local port meanwhile (a full suite opens many).
STABLE_PORTS = range(20000, 32000)


def free_port() -> int:
    """A free port outside the ephemeral range (see STABLE_PORTS)."""
    for port in random.sample(STABLE_PORTS, 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def postgres_processes(postgres: EmbeddedPostgres) -> list[int]:
    """The postmaster and its children (backends, WAL writer, checkpointer...)."""
    pid = postgres.pid
    assert pid is not None
    children = subprocess.run(
        [PGREP, "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    return [pid, *(int(child) for child in children)]


def signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def kill_postgres(postgres: EmbeddedPostgres) -> None:
    """kill -9 of the postmaster, and of its backends (they would exit on their own, a little
    later: a new postmaster cannot start while they hold the shared memory)."""
    signal_all(postgres_processes(postgres), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while postgres.pid is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # pid turns None once our child, the postmaster, is reaped
    postgres.stop()  # forgets it; a durable cluster keeps its files


@dataclass
class Served:
    """A `consentd serve` child and its gRPC address."""

    child: subprocess.Popen[bytes]
    address: str
    log: Path

    def kill(self) -> None:
        self.child.kill()
        self.child.wait(10)


def serve(runtime_url: str, owner_url: str, folder: Path, port: int) -> Served:
    log = folder / f"serve-{port}-{time.monotonic_ns()}.log"
    env = {
        **os.environ,
        "DATABASE_URL": runtime_url,
        "CONSENTD_MIGRATION_DATABASE_URL": owner_url,
        "CONSENTD_SECRET_KEY": SECRET,
        "CONSENTD_AUDIT_SIGNING_KEY": SIGNING_KEY,
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{free_port()}",
        "CONSENTD_METRICS_ADDRESS": "off",
        "CONSENTD_LOG_FORMAT": "json",
        "CONSENTD_DB_TIMEOUT_SECONDS": str(CEILING),
        "CONSENTD_SHUTDOWN_GRACE_SECONDS": str(GRACE),
        "CONSENTD_PURGE_INTERVAL_SECONDS": "0",
        "CONSENTD_RATE_LIMIT": "100000",
        "CONSENTD_RATE_BURST": "100000",
    }
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "consentd", "serve"], env=env, stderr=out, stdout=out
        )
    return Served(child, f"127.0.0.1:{port}", log)


async def health(channel: grpc.aio.Channel) -> int | None:
    """The served status, None when the server does not answer."""
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=1
        )
    except grpc.aio.AioRpcError:
        return None
    return int(reply.status)


async def until_health(channel: grpc.aio.Channel, wanted: int | None, within: float) -> float:
    """Seconds until health says `wanted`; AssertionError after `within` seconds."""
    started = time.monotonic()
    while (await health(channel)) != wanted:
        assert time.monotonic() - started < within, f"health never became {wanted}"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def put_purpose(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> None:
    purpose = catalog_pb2.Purpose(purpose_id=PURPOSE, lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT)
    await catalog_pb2_grpc.CatalogServiceStub(channel).PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=metadata, timeout=10
    )


def record(subject: str) -> consent_pb2.RecordConsentRequest:
    choice = consent_pb2.ConsentChoice(target=TARGET, state=types_pb2.CONSENT_STATE_GRANTED)
    return consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=subject),
        choices=[choice],
        source=types_pb2.SOURCE_API,
    )


def check(subject: str) -> consent_pb2.CheckConsentRequest:
    return consent_pb2.CheckConsentRequest(
        subject=types_pb2.SubjectRef(external_id=subject), target=TARGET
    )


async def outage_answers(
    address: str, metadata: tuple[tuple[str, str], ...]
) -> list[tuple[str, str]]:
    """A check, a write and a read during the outage: (code, message) of each."""
    answers = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = consent_pb2_grpc.ConsentServiceStub(channel)
        calls = [
            stub.CheckConsent(check("s1"), metadata=metadata, timeout=30),
            stub.RecordConsent(record("s2"), metadata=metadata, timeout=30),
            stub.GetSubjectConsents(
                consent_pb2.GetSubjectConsentsRequest(
                    subject=types_pb2.SubjectRef(external_id="s1")
                ),
                metadata=metadata,
                timeout=30,
            ),
        ]
        for call in calls:
            try:
                reply = await call
            except grpc.aio.AioRpcError as error:
                answers.append((error.code().name, error.details() or ""))
            else:
                answers.append(("OK", str(reply)))
    return answers
