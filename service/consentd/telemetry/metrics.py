"""Metrics: prometheus_client counters and collectors in a registry of the process, served as
Prometheus text on the metrics port (MetricsServer). Labels are methods, codes, decisions,
reasons, pool and category names: never a subject, an identifier or an address.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import accumulate
from typing import Any, NamedTuple

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from consentd.app.checks import CheckResult
from consentd.domain.model import Decision, Reason

# No `<counter>_created` series beside each counter: undocumented gauges an operator's
# dashboards met as noise (probe UC).
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped

# Seconds; from a cached check (~0.5 ms) to a slow export page.
RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PURGE_OUTCOMES = ("done", "locked_out", "failed")


class PoolUsage(NamedTuple):
    """Connections of one database pool: checked out, idle in the pool, and the most it opens."""

    in_use: int
    idle: int
    limit: int


class _Pools(Collector):
    """Pool gauges, read when scraped: nothing on the request path."""

    def __init__(self) -> None:
        self.pools: dict[str, Callable[[], PoolUsage | None]] = {}

    def collect(self) -> Iterable[Metric]:
        used = GaugeMetricFamily(
            "consentd_db_pool_connections",
            "Database connections of a pool, by state (in_use, idle)",
            labels=["pool", "state"],
        )
        limit = GaugeMetricFamily(
            "consentd_db_pool_max_connections",
            "The most connections a pool opens",
            labels=["pool"],
        )
        for name, read in self.pools.items():
            usage = read()
            if usage is None:  # not opened yet
                continue
            used.add_metric([name, "in_use"], usage.in_use)
            used.add_metric([name, "idle"], usage.idle)
            limit.add_metric([name], usage.limit)
        return [used, limit]


class _Durations(Collector):
    """consentd_rpc_duration_seconds: a histogram by method and code, observed on every RPC.

    prometheus_client's Histogram takes a lock per bucket and per sum (~2.5 us an observation
    on this machine); here an observation is a bisect and two additions on the event loop's
    thread (~0.5 us). The scrape (another thread) copies the counts first, so each scrape is
    consistent with itself: cumulative buckets, +Inf equal to _count."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], list[float]] = {}  # bucket counts..., then the sum

    def observe(self, method: str, code: str, seconds: float) -> None:
        series = self._series.get((method, code))
        if series is None:
            series = self._series[method, code] = [0.0] * (len(RPC_BUCKETS) + 2)
        series[bisect_left(RPC_BUCKETS, seconds)] += 1
        series[-1] += seconds

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(
            "consentd_rpc_duration_seconds",
            "Time to answer an RPC (or to end a stream), by method and status code",
            labels=["method", "code"],
        )
        bounds = [*(str(bound) for bound in RPC_BUCKETS), "+Inf"]
        for (method, code), series in list(self._series.items()):
            counts = list(series)
            cumulative = list(accumulate(counts[:-1]))
            family.add_metric(
                [method, code], list(zip(bounds, cumulative, strict=True)), counts[-1]
            )
        return [family]


class Metrics:
    """The process's series, in a registry of their own (a test process may hold several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rpc_duration = _Durations()
        self.registry.register(self.rpc_duration)
        self.decisions = Counter(
            "consentd_decisions",
            "Check answers by decision (allow, deny) and reason (granted, withdrawn, ...)",
            ["decision", "reason"],
            registry=self.registry,
        )
        self.purge_runs = Counter(
            "consentd_purge_runs",
            "Scheduled retention runs, by outcome (done, locked_out, failed)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in PURGE_OUTCOMES:  # present at 0 from the start, for rate()
            self.purge_runs.labels(outcome)
        self.purged = Counter(
            "consentd_purged_rows",
            "Rows deleted by scheduled retention runs, by category",
            ["category"],
            registry=self.registry,
        )
        self.webhook_posts = Counter(
            "consentd_webhook_posts",
            "Pages of the change feed posted to webhooks, by outcome (delivered: answered 2xx; "
            "failed: anything else, sent again later)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("delivered", "failed"):  # present at 0 from the start, for rate()
            self.webhook_posts.labels(outcome)
        self._pools = _Pools()
        self.registry.register(self._pools)
        # CPU, memory, open files and the Python version, as every Prometheus client serves.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._decided: dict[Reason, Any] = {}
        self._lazy: dict[str, Any] = {}  # series that appear at their first reading
        self._serving: list[Callable[[], bool]] = [lambda: False]
        Gauge(
            "consentd_serving",
            "1 while gRPC health answers SERVING (the database reachable and writable, its disk "
            "not full), 0 otherwise (draining, the database lost; starting: the port is closed)",
            registry=self.registry,
        ).set_function(lambda: float(self._serving[0]()))

    def _lazy_gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Any:
        """A gauge registered at its first reading (absent until then, not a made-up 0)."""
        gauge = self._lazy.get(name)
        if gauge is None:
            gauge = self._lazy[name] = Gauge(name, documentation, labels, registry=self.registry)
        return gauge

    def deadlines(self, overdue: int, due_soon: int) -> None:
        """Open rights requests of every tenant past their deadline and due within 7 days, as
        the deadline watch read them: a log line every quarter hour was the only signal, no
        series to alert on (probe HG)."""
        gauge = self._lazy_gauge(
            "consentd_rights_requests_open",
            "Open rights requests of every tenant past their deadline (deadline=overdue) or "
            "due within 7 days (deadline=due_soon), as last read (every 15 minutes)",
            ["deadline"],
        )
        gauge.labels("overdue").set(overdue)
        gauge.labels("due_soon").set(due_soon)

    def clock_offset(self, seconds: float) -> None:
        """This host's clock less the database's, as the clock watch read it (every minute):
        the log's error was the only signal of a host off by a year (probe TB)."""
        self._lazy_gauge(
            "consentd_clock_offset_seconds",
            "This host's clock less PostgreSQL's, in seconds, as last read (every minute): "
            "facts are dated by the host's clock; alert past a few seconds either way",
        ).set(seconds)

    def watch_health(self, read: Callable[[], bool]) -> None:
        """`read()`: whether health answers SERVING. The metrics said nothing of a database
        gone (probe DB: only the rpc codes): alert on 0 for more than a few seconds."""
        self._serving[0] = read

    def watch_pool(self, name: str, read: Callable[[], PoolUsage | None]) -> None:
        self._pools.pools[name] = read

    def watch_sequencer(self, read: Callable[[], float]) -> None:
        """`read()`: seconds since the audit sequencer last swept the queues whole. A stuck
        backend stalled the log and the change feed for 14 s with health SERVING and only a
        line a minute in the log (probe CB): alert when it grows past a few seconds."""
        Gauge(
            "consentd_audit_sequencer_stalled_seconds",
            "Seconds since the audit sequencer last integrated every queued entry (0-1 s when "
            "healthy): the audit log and the change feed lag by about as much",
            registry=self.registry,
        ).set_function(read)

    def rpc(self, method: str, code: str, seconds: float) -> None:
        self.rpc_duration.observe(method, code, seconds)

    def decided(self, results: Sequence[CheckResult]) -> None:
        """Count check answers by decision and reason: every check is decided in a batch
        (app/checks.py; unary checks are coalesced into batches too)."""
        # Keyed by reason alone (one enum hash an answer): a reason belongs to one decision.
        tally: dict[Reason, int] = {}
        decision_of: dict[Reason, Decision] = {}
        for result in results:
            reason = result.verdict.reason
            count = tally.get(reason)
            if count is None:
                decision_of[reason] = result.verdict.decision
                count = 0
            tally[reason] = count + 1
        for reason, count in tally.items():
            child = self._decided.get(reason)
            if child is None:
                labels = (decision_of[reason].value, reason.value)
                child = self._decided[reason] = self.decisions.labels(*labels)
            child.inc(count)

    def purge(self, outcome: str, deleted: Mapping[str, int] | None = None) -> None:
        self.purge_runs.labels(outcome).inc()
        for category, rows in (deleted or {}).items():
            self.purged.labels(category).inc(rows)
