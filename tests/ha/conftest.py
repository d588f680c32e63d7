"""Fixtures of the HA suite (`make ha-test`): a Patroni cluster (tools/ha_cluster.py), the
consentd database on it, and consentd replicas as child processes reaching the primary through
HAProxy. Skipped unless CONSENTD_HA_TESTS=1 (they take minutes and need patroni, etcd, haproxy)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tools.ha_cluster import HaCluster, free_port

from consentd.bootstrap import bootstrap
from consentd.config import Settings
from consentd.domain.tenancy import Scope
from consentd.store.database import migrate, provision_runtime_role
from tests.conftest import TEST_SECRET

ENABLED = os.environ.get("CONSENTD_HA_TESTS") == "1"
TOOLS = ("patroni", "patronictl", "etcd", "haproxy")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the suite unless asked for (make ha-test) and its programs are installed."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    reason = (
        "the HA suite runs with `make ha-test` (CONSENTD_HA_TESTS=1)"
        if not ENABLED
        else f"missing {', '.join(missing)}: apt-get install patroni etcd-server haproxy"
    )
    if not ENABLED or missing:
        for item in items:
            if "tests/ha/" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class Deployment:
    """A cluster with the consentd database migrated, one tenant and its admin key."""

    cluster: HaCluster
    owner_url: str
    runtime_url: str
    api_key: str


async def deploy(cluster: HaCluster) -> Deployment:
    """Create and migrate the database through HAProxy; a tenant with an admin key."""
    cluster.psql("CREATE DATABASE consentd")
    owner_url = cluster.url("consentd")
    await migrate(owner_url)
    runtime_url = await provision_runtime_role(owner_url, "ha-runtime-password")
    app = bootstrap(Settings(), runtime_url, TEST_SECRET, owner_url=owner_url)
    try:
        assert app.admin is not None
        tenant = await app.admin.create_tenant(f"ha-{uuid4().hex[:10]}")
        key, _ = await app.admin.issue_key(tenant.slug, [Scope.ADMIN.value], name="ha tests")
    finally:
        await app.aclose()
    return Deployment(cluster, owner_url, runtime_url, key.token)


@pytest.fixture
def synchronous_cluster() -> Iterator[HaCluster]:
    cluster = HaCluster(synchronous=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@asynccontextmanager
async def replica(deployment: Deployment, port: int | None = None) -> AsyncIterator[Replica]:
    """`consentd serve` on a free port, following the primary through HAProxy; SIGTERM (or a
    SIGKILL already sent by the test) ends it."""
    port = port or free_port()
    env = {
        **os.environ,
        "DATABASE_URL": deployment.runtime_url,
        "CONSENTD_MIGRATION_DATABASE_URL": deployment.owner_url,
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(bytes(range(32, 64))).decode(),
        "CONSENTD_MIGRATE_ON_START": "false",
        "CONSENTD_PURGE_INTERVAL_SECONDS": "0",
        "CONSENTD_LOG_LEVEL": "warning",
        "CONSENTD_DB_POOL_SIZE": "4",
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0",
        "CONSENTD_METRICS_ADDRESS": "off",
    }
    log_path = deployment.cluster.base / f"consentd-{port}.log"
    log = log_path.open("ab")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "consentd", "serve", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        try:
            await serving(port, child)
        except AssertionError as error:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"{error}; its log ends with:\n{tail}") from None
        yield Replica(port, child)
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
                await child.wait()
        log.close()


@dataclass
class Replica:
    port: int
    process: asyncio.subprocess.Process

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


async def serving(port: int, child: asyncio.subprocess.Process, within: float = 60) -> None:
    """Wait until the replica's health service answers SERVING."""
    deadline = time.monotonic() + within
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            assert child.returncode is None, "consentd exited before it served"
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            assert time.monotonic() < deadline, f"consentd did not serve on {port} in {within} s"
            await asyncio.sleep(0.2)


def report(name: str, **figures: object) -> None:
    """Print a measured figure (make ha-test runs pytest -s) and keep it in build/ha-report.txt."""
    line = f"[ha] {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items())
    print(line)
    out = Path(__file__).resolve().parents[2] / "build" / "ha-report.txt"
    out.parent.mkdir(exist_ok=True)
    with out.open("a") as file:
        file.write(line + "\n")
