"""`consentd health`: the container probe (Dockerfile HEALTHCHECK, every 10 s). It imports grpc
and the health messages alone: the whole app took ~0.9 s of CPU to import at every probe."""

from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


async def probe_health(address: str) -> int:
    """0 when the server at `address` answers SERVING within 5 s, else 1 (for container probes),
    saying why on stderr; 2 for an address that is no host:port."""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        print(f"consentd health: {address!r} is not host:port", file=sys.stderr)
        return 2
    if host in ("0.0.0.0", "[::]", ""):  # noqa: S104 - a wildcard listen address: probe loopback
        host = "127.0.0.1"
    async with grpc.aio.insecure_channel(f"{host}:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        except grpc.aio.AioRpcError as error:
            print(f"consentd health: {address}: {error.code().name}", file=sys.stderr)
            return 1
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        print(f"consentd health: {address}: NOT_SERVING", file=sys.stderr)
        return 1
    return 0
