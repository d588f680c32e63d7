"""Traces and metrics of one process, built by the composition root: tracing.py (an RPC's
span, statement spans) and metrics.py (the Prometheus series and their server); Telemetry is
what the RPC layer and the jobs report to, both at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consentd.telemetry.metrics import Metrics, PoolUsage
from consentd.telemetry.metrics_port import MetricsPort, MetricsServer
from consentd.telemetry.tracing import Rpc, Tracing

__all__ = ["Metrics", "MetricsPort", "MetricsServer", "PoolUsage", "Rpc", "Telemetry", "Tracing"]


class Telemetry:
    """What the RPC layer and the jobs report to."""

    def __init__(self, tracing: Tracing | None = None, metrics: Metrics | None = None) -> None:
        self.tracing = tracing or Tracing()
        self.metrics = metrics or Metrics()
        self._attributes: dict[str, dict[str, Any]] = {}

    def rpc(self, method: str, carrier: Mapping[str, str]) -> Rpc:
        """Start the span of `method` ("/package.Service/Method"), child of the caller's
        `traceparent` when `carrier` (the call's metadata or headers) has one."""
        return Rpc(self.tracing, method[1:], carrier)

    def finish(
        self, call: Rpc, method: str, code: str, status: int, protocol: str, **extra: str
    ) -> float:
        """End the call's span and observe its duration; returns the duration in seconds."""
        attributes = self._attributes.get(method)
        if attributes is None:
            service, _, name = method[1:].rpartition("/")
            attributes = self._attributes[method] = {
                "rpc.service": service,
                "rpc.method": name,
            }
        if call.span.is_recording():
            attributes = {
                **attributes,
                "rpc.system": protocol,
                "rpc.grpc.status_code": status,
                **{f"consentd.{k}": v for k, v in extra.items()},
            }
        seconds = call.end(code, attributes)
        self.metrics.rpc(method, code, seconds)
        return seconds

    def close(self) -> None:
        self.tracing.close()
