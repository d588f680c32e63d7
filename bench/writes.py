"""The campaign benchmark's lines driven by C load generators (see cload.py), and their baselines:

  unary     CheckConsent, h2load, --concurrency in flight       vs the bare grpc.aio echo server
  cookie    RecordCookieChoice, Connect JSON, wrk, 16 conns     vs plain INSERT (pgbench, 16)
  record    RecordConsent (new subject), h2load, 64 in flight   vs plain INSERT (pgbench, 64)
  withdraw  WithdrawConsent, h2load, 64 in flight               vs plain INSERT (pgbench, 64)
            (record and withdraw: one tenant, then spread over --tenants tenants)
  import    `consentd import consents` of --import-rows rows     vs plain COPY of the same file

A plain INSERT is one durable single-row INSERT per transaction (fsync and synchronous_commit
on) into a copy of the fact table (same columns, CHECKs and indexes; no foreign keys, no row
level security, no locks). The body makers here are imported by the h2load rotator too.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import cload

PURPOSE = "newsletter"
SUBJECTS_ENV = "CONSENTD_BENCH_SUBJECTS"
FEW = 16  # connections of the cookie line (a banner's backend: few connections)
# h2load processes of the record and withdraw lines, each with a body file of its own: the
# rotator changes a file every few ms, so a process with many streams sends a burst of answers'
# follow-ups with one body, one person, whose writes then queue on that person's lock. Even two
# streams per process did: a group commit answers both at once, both send their next request at
# once, with the same body, and the second runs alone after the batch (py-spy: 11 % of the
# server in the one-call path). One stream per process: 64 in flight name 64 people, as a
# campaign's contacts do (h2load CPU 19 -> 25 % of a core; not the bottleneck).
WRITERS = 64


def email(index: int) -> str:
    """Zero-padded: every body of one h2load file has the same length."""
    return f"person{index:010d}@example.fr"


def _target() -> Any:
    from consent.v1 import types_pb2

    return types_pb2.ConsentTarget(
        purpose=PURPOSE, channel=types_pb2.CHANNEL_EMAIL, scope=types_pb2.PARTY_SCOPE_FIRST_PARTY
    )


def check_maker(number: int) -> cload.Maker:
    from consent.v1 import consent_pb2, types_pb2

    target, subjects = _target(), int(os.environ.get(SUBJECTS_ENV, "10000"))

    def make(index: int) -> bytes:
        subject = types_pb2.SubjectRef(email=email(index % subjects))
        return consent_pb2.CheckConsentRequest(subject=subject, target=target).SerializeToString()

    return make


def record_maker(number: int) -> cload.Maker:
    from consent.v1 import consent_pb2, types_pb2

    state = types_pb2.CONSENT_STATE_GRANTED
    choice = consent_pb2.ConsentChoice(target=_target(), state=state)

    def make(index: int) -> bytes:
        return consent_pb2.RecordConsentRequest(
            subject=types_pb2.SubjectIdentity(email=email(index)),
            choices=[choice],
            source=types_pb2.SOURCE_API,
        ).SerializeToString()

    return make


def withdraw_maker(number: int) -> cload.Maker:
    from consent.v1 import consent_pb2, types_pb2

    target, subjects = _target(), int(os.environ.get(SUBJECTS_ENV, "10000"))

    def make(index: int) -> bytes:
        return consent_pb2.WithdrawConsentRequest(
            subject=types_pb2.SubjectRef(email=email(index % subjects)),
            targets=[target],
            source=types_pb2.SOURCE_API,
        ).SerializeToString()

    return make


MAKERS = {"unary": check_maker, "record": record_maker, "withdraw": withdraw_maker}
METHODS = {"unary": "CheckConsent", "record": "RecordConsent", "withdraw": "WithdrawConsent"}


def h2load(
    c: Any,
    mode: str,
    address: str,
    keys: list[str],
    first: int,
    *,
    subjects: int = 0,
    processes: int = 0,
) -> dict[str, Any]:
    """`mode` through h2load at --concurrency in flight, spread over `processes` processes (one
    per key at least, keys taken in turn), each with its own body file; checks and withdrawals
    name the first `subjects` (--small) seeded subjects."""
    total = c.args.concurrency
    os.environ[SUBJECTS_ENV] = str(subjects or c.args.small)
    folder = c.base / f"bodies-{mode}-{time.monotonic_ns()}"
    folder.mkdir()
    maker = MAKERS[mode]
    count = max(len(keys), processes)
    # Far apart first indexes: the files never name the same new subject; 37 apart modulo the
    # seeded subjects, so withdrawals of different files name different people too.
    paths = cload.write_bodies(folder, [(maker(n), first + n * 10_000_037) for n in range(count)])
    url = f"http://{address}/consent.v1.ConsentService/{METHODS[mode]}"
    shares = [total // count + (n < total % count) for n in range(count)]
    targets = [
        cload.Target(url, cload.grpc_headers(keys[n % len(keys)]), path, share)
        for n, (path, share) in enumerate(zip(paths, shares, strict=True))
        if share
    ]
    _preflight(url, targets[0].headers, paths[0].read_bytes())
    rotate = f"writes:{maker.__name__}"
    return measure(c, lambda: cload.run_h2load(targets, c.args.seconds, c.args.warmup, rotate))


def _preflight(url: str, headers: dict[str, str], body: bytes) -> None:
    """One call with the first body through grpcio: h2load cannot see a gRPC status (it is in
    the trailers), so a body or key the service refuses would otherwise count as answered."""
    import grpc

    address, method = url.removeprefix("http://").split("/", 1)
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(f"/{method}")
        meta = [("authorization", headers["authorization"])]
        call(body[5:], metadata=meta, timeout=30)  # raises grpc.RpcError when refused


_COOKIE_LUA = """
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"visitorId":"wrk-%%010d-%%08d",'
    .. '"method":"COOKIE_CHOICE_METHOD_CUSTOM","grantedCategories":["analytics"],'
    .. '"policyRevision":1,'
    .. '"pageUrl":"https://www.example.fr/produits"}', math.random(1, 1000000000), n)
  return wrk.format("POST", nil, {["Content-Type"]="application/json",
    ["Authorization"]="Bearer %s"}, body)
end
"""


def cookie(c: Any, http_address: str) -> dict[str, Any]:
    url = f"http://{http_address}/consent.v1.CookieService/RecordCookieChoice"
    script = _COOKIE_LUA % c.cookie_key
    _connect_preflight(url, c.cookie_key)
    return measure(c, lambda: cload.run_wrk(url, script, FEW, c.args.seconds, c.args.warmup))


def _connect_preflight(url: str, key: str) -> None:
    """One Connect JSON call as wrk sends it; raises unless the service answers 200."""
    import urllib.error
    import urllib.request

    body = (
        b'{"visitorId":"preflight-visitor-0001","method":"COOKIE_CHOICE_METHOD_CUSTOM",'
        b'"grantedCategories":["analytics"],"policyRevision":1,'
        b'"pageUrl":"https://www.example.fr/produits"}'
    )
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    request = urllib.request.Request(url, body, headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            answer.read()
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"RecordCookieChoice refused: {error.read()!r}") from error


# One durable single-row INSERT per transaction, rows as wide as the service's; in a schema of
# their own (consentd refuses to start while the runtime role lacks SELECT on a public table).
PLAIN_TABLES = {"plain_events": "consent_events", "plain_cookies": "cookie_choices"}
_PLAIN_EVENT = """INSERT INTO bench.plain_events (tenant_id, event_id, subject_id, purpose_id,
 channel, scope, state, source, actor, processing_role, recorded_at, evidence_reference,
 evidence_sealed)
 VALUES ('{tenant}', gen_random_uuid(), gen_random_uuid(), 'newsletter', 'email', 'first_party',
 'granted', 'api', '', 'processor', now(), '', sha384(random()::text::bytea));
"""
_PLAIN_COOKIE = """INSERT INTO bench.plain_cookies (tenant_id, choice_id, visitor_id, method,
 granted, refused, policy_revision, gpc, recorded_at, expires_at, page_url, ip_digest, ua_digest)
 VALUES ('{tenant}', gen_random_uuid(), md5(random()::text), 'custom', '{{necessary,analytics}}',
 '{{}}', 1, false, now(), now() + interval '6 months', 'https://www.example.fr/produits',
 sha256(random()::text::bytea), sha256(random()::text::bytea));
"""


async def make_plain_tables(owner_dsn: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(owner_dsn)
    try:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        for plain, real in PLAIN_TABLES.items():
            await conn.execute(
                f"CREATE TABLE bench.{plain} (LIKE {real} INCLUDING DEFAULTS INCLUDING IDENTITY "
                "INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
    finally:
        await conn.close()


def plain_insert(c: Any, table: str, clients: int, driver: str = "pgbench") -> dict[str, Any]:
    """The plain INSERT at `clients` connections, driven by pgbench or by asyncpg."""
    import asyncpg_insert

    script = (_PLAIN_EVENT if table == "plain_events" else _PLAIN_COOKIE).format(tenant=c.tenant)
    dsn = c.owner_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    runner = cload.run_pgbench if driver == "pgbench" else asyncpg_insert.run
    return measure(c, lambda: runner(dsn, script, clients, c.args.seconds, c.args.warmup))


class AuditLag:
    """How long committed writes wait for the audit log: every 50 ms while a line runs, the
    ids of the rows queued for it (a row is visible once its write committed, just before the
    write is acknowledged, and gone once a sequencer pass integrated it). A row's lag is from
    the first sample that saw it to the first that did not, so within 50 ms of the truth, and
    rows integrated between two samples (never seen) count as 50 ms: the p99 bounds "a write
    is in the log within 1 s of its acknowledgement" from above."""

    EVERY = 0.05

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._lags: list[float] = []
        self._unseen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._sample()))

    async def _sample(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._dsn)
        first: dict[int, float] = {}
        try:
            before = await conn.fetchval("SELECT count(*) FROM audit_entries")
            while not self._stop.is_set():
                now = time.monotonic()
                queued = {r[0] for r in await conn.fetch("SELECT queue_id FROM audit_queue")}
                for gone in first.keys() - queued:
                    self._lags.append(now - first.pop(gone))
                for new in queued - first.keys():
                    first[new] = now
                await asyncio.sleep(self.EVERY)
            after = await conn.fetchval("SELECT count(*) FROM audit_entries")
            self._unseen = max(0, after - before - len(self._lags) - len(first))
            self._lags.extend(time.monotonic() - t for t in first.values())  # still queued
        finally:
            await conn.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> tuple[float, float]:
        """(p99, max) in milliseconds."""
        self._stop.set()
        self._thread.join()
        ordered = sorted([self.EVERY] * self._unseen + self._lags) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return 1000 * p99, 1000 * ordered[-1]


def measure(c: Any, run: Any, *, lag: bool = True) -> dict[str, Any]:
    """`run()`'s figures plus the CPU % of one core of generator, servers and PostgreSQL, and
    (`lag`) the audit log's lag behind the writes (AuditLag: its sampling costs PostgreSQL and
    this process some CPU, so the lines that do not report it go without)."""
    servers = [p.pid for p in c.processes]
    from campaign import CpuMeter, _cpu_seconds

    meter = CpuMeter(
        {"server": lambda: sum(map(_cpu_seconds, servers)), "postgres": c.postgres_cpu}
    )
    sampler = AuditLag(c.owner_url) if lag else None
    if sampler is not None:
        sampler.start()
    meter.start()
    started = time.perf_counter()
    try:
        result: dict[str, Any] = run()
    finally:
        result_lag = sampler.stop() if sampler is not None else (0.0, 0.0)
    wall = time.perf_counter() - started
    cpu = meter.stop()
    result["audit_lag_ms"] = result_lag
    result["rate"] = result["count"] / result["seconds"] if result["seconds"] else 0.0
    result["load_cpu"] = 100 * result.pop("cpu") / wall
    result["server_cpu"] = 100 * (cpu["server"] + result.pop("server_seconds", 0.0)) / wall
    result["pg_cpu"] = 100 * cpu["postgres"] / wall
    return result


def best(c: Any, ours: Any, *bases: Any) -> list[dict[str, Any]]:
    """Alternate ours and the baselines --rounds times (round number passed); the best run of
    each, ours first."""
    runs: list[list[dict[str, Any]]] = [[] for _ in (ours, *bases)]
    for round_ in range(c.args.rounds):
        for side, run in enumerate((ours, *bases)):
            runs[side].append(run(round_))
    return [max(r, key=lambda x: x["rate"]) for r in runs]


def write_lines(c: Any, lines: set[str], address: str, http_address: str) -> None:
    """The cookie line, then RecordConsent and WithdrawConsent for one tenant and spread."""
    n = c.args.concurrency
    if "cookie" in lines:
        ours, base, second = best(
            c,
            lambda r: cookie(c, http_address),
            lambda r: plain_insert(c, "plain_cookies", FEW),
            lambda r: plain_insert(c, "plain_cookies", FEW, "asyncpg"),
        )
        p99, worst = ours["audit_lag_ms"]
        lag = f"audit log lag p99 {p99:.0f} ms, max {worst:.0f} ms"
        c.add(f"RecordCookieChoice, Connect JSON, wrk, {FEW} connections ({lag})", ours, base,
              "writes/s", second)  # fmt: skip
    groups = []
    if "writes" in lines:
        groups.append(("1 tenant", [c.key], c.args.small))
    if "spread" in lines and c.spread:
        per = max(1, c.args.small // len(c.spread))
        for tenant_id, _ in c.spread:
            asyncio.run(c.seed(0, per, tenant_id))
        groups.append((f"{len(c.spread)} tenants", [key for _, key in c.spread], per))
    for label, keys, subjects in groups:
        for mode, name in (
            ("record", "RecordConsent (new subject)"),
            ("withdraw", "WithdrawConsent"),
        ):
            ours, base, second = best(
                c,
                lambda r, m=mode, k=keys, s=subjects: h2load(
                    c, m, address, k, 1_000_000_000 * (1 + r), subjects=s, processes=WRITERS
                ),
                lambda r: plain_insert(c, "plain_events", n),
                lambda r: plain_insert(c, "plain_events", n, "asyncpg"),
            )
            p99, worst = ours["audit_lag_ms"]
            lag = f"audit log lag p99 {p99:.0f} ms, max {worst:.0f} ms"
            line = f"{name}, h2load, {n} in flight, {label} ({lag})"
            c.add(line, ours, base, "writes/s", second)
