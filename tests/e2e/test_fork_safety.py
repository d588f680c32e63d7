"""consentd starts PostgreSQL (as the postgres user when root) and worker processes while gRPC
is serving. With gRPC's fork handlers on, a third of such children crashed before their exec
(SIGSEGV or SIGABRT in the forked copy of gRPC's pollers): a restarted PostgreSQL that never
started. Importing consentd turns them off (service/consentd/__init__.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# In a fresh interpreter whose environment does not set GRPC_ENABLE_FORK_SUPPORT: consentd is
# imported first (as `consentd serve` does), then a gRPC server answers calls while children
# are forked as another user (the embedded PostgreSQL's way: fork, setuid, exec).
CHILD = """
import asyncio, subprocess, sys
import consentd
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

async def main() -> None:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)

        async def calls() -> None:
            while True:
                await stub.Check(health_pb2.HealthCheckRequest())

        load = [asyncio.create_task(calls()) for _ in range(8)]
        crashed = 0
        for _ in range(int(sys.argv[1])):
            done = await asyncio.to_thread(
                subprocess.run, ["/bin/true"], user=sys.argv[2], extra_groups=[]
            )
            crashed += done.returncode != 0
        for task in load:
            task.cancel()
    await server.stop(0)
    print(crashed)

asyncio.run(main())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="forking as another user needs root (as CI runs)")
def test_children_forked_while_grpc_serves_all_start() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRPC_ENABLE_FORK_SUPPORT"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "150", "postgres"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "0", (done.stdout, done.stderr[-2000:])
