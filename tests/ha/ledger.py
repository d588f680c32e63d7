"""Mixed write-and-check load through the bundled Python client, with a ledger of every
acknowledged write, and the checks made on it once the fault is over: no acknowledged write lost,
none applied twice, no ALLOW after an acknowledged withdrawal, a gap-free change feed, an audit
chain that verifies."""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc
from consent.v1 import audit_pb2, campaign_pb2, catalog_pb2, consent_pb2, types_pb2
from grpc import aio

from consentd_client import AsyncClient, RetryPolicy

NEWSLETTER = types_pb2.ConsentTarget(
    purpose="newsletter", channel=types_pb2.CHANNEL_EMAIL, scope=types_pb2.PARTY_SCOPE_FIRST_PARTY
)
ALLOW = consent_pb2.DECISION_ALLOW
# The bundled policy, given room to ride out a failover: up to 8 attempts, backoff capped at
# 2 s, all within the call's 15 s deadline.
HA_RETRY = RetryPolicy(max_attempts=8, initial_backoff=0.2, max_backoff=2.0)


class AttemptCounter(aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Counts every attempt's status (it runs after the retry policy, once per attempt)."""

    def __init__(self) -> None:
        self.codes: Counter[str] = Counter()

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        call = await continuation(details, request)
        try:
            await call
        except aio.AioRpcError as error:
            self.codes[error.code().name] += 1
        else:
            self.codes["OK"] += 1
        return call


@dataclass
class Ledger:
    """What the clients were told. `acked` maps a write's unique actor to its event ids."""

    acked: dict[str, list[str]] = field(default_factory=dict)
    withdrawn: list[str] = field(default_factory=list)  # subjects with an acked withdrawal
    failed: Counter[str] = field(default_factory=Counter)  # final status of failed calls
    violations: list[str] = field(default_factory=list)  # ALLOW after an acked withdrawal
    calls: int = 0
    write_acks: list[float] = field(default_factory=list)  # monotonic time of each write ack


class Load:
    """`workers` clients writing and checking through `address` until stop() is called."""

    def __init__(self, address: str, api_key: str, workers: int = 6, tag: str = "") -> None:
        self.address, self.api_key, self.workers = address, api_key, workers
        # Letters only: actors are kept without phone numbers (domain/free_text.py), and a hex
        # tag's digits beside the worker's and step's read as one ("f(phone)/grant"), making two
        # writes one actor, counted as applied twice.
        self.tag = tag or "".join(random.choices(string.ascii_lowercase, k=8))  # noqa: S311
        self.ledger = Ledger()
        self.attempts = AttemptCounter()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: AsyncClient | None = None

    async def start(self) -> None:
        self._client = AsyncClient(
            self.address, api_key=self.api_key, timeout=15.0, retry=HA_RETRY,
            interceptors=[self.attempts],
            options=[("grpc.use_local_subchannel_pool", 1)],
        )  # fmt: skip
        purpose = catalog_pb2.Purpose(
            purpose_id=NEWSLETTER.purpose, lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT
        )
        await self._client.catalog.PutPurpose(catalog_pb2.PutPurposeRequest(purpose=purpose))
        self._tasks = [asyncio.create_task(self._worker(n)) for n in range(self.workers)]

    async def stop(self) -> Ledger:
        """Let every worker finish its step, close the client; the ledger. Safe twice."""
        if not self._stop.is_set():
            self._stop.set()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._client is not None:
                await self._client.close()
        return self.ledger

    async def _call(self, method: Any, request: Any) -> Any:
        """The call's answer, or None after recording its final failure."""
        self.ledger.calls += 1
        try:
            return await method(request)
        except aio.AioRpcError as error:
            self.ledger.failed[error.code().name] += 1
            return None

    async def _worker(self, n: int) -> None:
        """Per fresh subject: grant, check, withdraw, check (must DENY), and re-check an older
        withdrawn subject (must still DENY: a withdrawal lost by a failover shows up here)."""
        assert self._client is not None
        consent, rng, k = self._client.consent, random.Random(n), 0  # noqa: S311 - a load pattern
        while not self._stop.is_set():
            k += 1
            email, actor = f"ha-{self.tag}-{n}-{k}@example.org", f"{self.tag}/{n}/{k}"
            done = await self._call(consent.RecordConsent, _grant(email, f"{actor}/grant"))
            if done is None:
                continue
            self._acked(f"{actor}/grant", done.events)
            subject = types_pb2.SubjectRef(subject_id=done.subject_id)
            await self._call(consent.CheckConsent, _check(subject))
            done = await self._call(consent.WithdrawConsent, _withdraw(subject, f"{actor}/wd"))
            if done is None:
                continue
            self._acked(f"{actor}/wd", done.events)
            self.ledger.withdrawn.append(done.subject_id)
            await self._must_deny(subject.subject_id)
            await self._must_deny(rng.choice(self.ledger.withdrawn))

    def _acked(self, actor: str, events: Any) -> None:
        self.ledger.acked[actor] = [event.event_id for event in events]
        self.ledger.write_acks.append(time.monotonic())

    async def _must_deny(self, subject_id: str) -> None:
        assert self._client is not None
        subject = types_pb2.SubjectRef(subject_id=subject_id)
        answer = await self._call(self._client.consent.CheckConsent, _check(subject))
        if answer is not None and answer.decision == ALLOW:
            self.ledger.violations.append(subject_id)


def _grant(email: str, actor: str) -> consent_pb2.RecordConsentRequest:
    choice = consent_pb2.ConsentChoice(target=NEWSLETTER, state=types_pb2.CONSENT_STATE_GRANTED)
    return consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=email), choices=[choice],
        source=types_pb2.SOURCE_API, actor=actor,
    )  # fmt: skip


def _withdraw(subject: types_pb2.SubjectRef, actor: str) -> consent_pb2.WithdrawConsentRequest:
    return consent_pb2.WithdrawConsentRequest(
        subject=subject, targets=[NEWSLETTER], source=types_pb2.SOURCE_API, actor=actor
    )


def _check(subject: types_pb2.SubjectRef) -> consent_pb2.CheckConsentRequest:
    return consent_pb2.CheckConsentRequest(subject=subject, target=NEWSLETTER)


@dataclass
class Verdict:
    """The ledger held against the database after the fault (every list empty = held)."""

    lost: list[str]  # acked writes whose events the feed does not hold
    duplicated: list[str]  # writes (by actor) applied more than once
    allowed_after_withdrawal: list[str]
    feed_gaps: list[int]  # positions missing from 1..last
    audit_ok: bool
    feed: list[campaign_pb2.ConsentChange]
    failed: dict[str, int]  # final status of the calls that failed (after the client's retries)

    def unexpected_failures(self) -> dict[str, int]:
        """Failed calls other than UNAVAILABLE (no primary for longer than the retries lasted)
        or DEADLINE_EXCEEDED (the call's own deadline ran out while retrying)."""
        allowed = {"UNAVAILABLE", "DEADLINE_EXCEEDED"}
        return {code: n for code, n in self.failed.items() if code not in allowed}


async def verify(client: AsyncClient, ledger: Ledger) -> Verdict:
    """Read the whole feed, re-check every withdrawn subject, verify the audit chain."""
    feed = await read_feed(client)
    positions = [change.position for change in feed]
    expected = range(1, (positions[-1] if positions else 0) + 1)
    seen_ids = {change.event.event_id for change in feed}
    actors = Counter(change.event.actor for change in feed)
    lost = [actor for actor, ids in ledger.acked.items() if not set(ids) <= seen_ids]
    duplicated = [actor for actor, count in actors.items() if count > 1]
    allowed = list(ledger.violations)
    for subject_id in set(ledger.withdrawn):
        subject = types_pb2.SubjectRef(subject_id=subject_id)
        if (await client.consent.CheckConsent(_check(subject))).decision == ALLOW:
            allowed.append(subject_id)
    audit = await client.audit.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest())
    return Verdict(
        lost=lost, duplicated=duplicated, allowed_after_withdrawal=allowed,
        feed_gaps=sorted(set(expected) - set(positions)), audit_ok=audit.ok,
        feed=feed, failed=dict(ledger.failed),
    )  # fmt: skip


async def read_feed(
    client: AsyncClient, idle: float = 2.0, resumes: int = 5
) -> list[campaign_pb2.ConsentChange]:
    """Every change from the start, until the feed sends nothing new for `idle` seconds. A
    stream ended UNAVAILABLE (its replica's connection to a database that just changed hands)
    is resumed from the last cursor, as a feed consumer does, at most `resumes` times."""
    changes: list[campaign_pb2.ConsentChange] = []
    cursor = ""
    for _ in range(resumes + 1):
        stream = client.campaign.WatchConsentChanges(
            campaign_pb2.WatchConsentChangesRequest(cursor=cursor, max_changes=1000)
        )
        iterator = stream.__aiter__()
        try:
            while True:
                try:
                    response = await asyncio.wait_for(iterator.__anext__(), idle)
                except (TimeoutError, StopAsyncIteration):
                    return changes
                if not response.changes and changes:
                    return changes
                changes.extend(response.changes)
                cursor = response.cursor or cursor
        except aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            await asyncio.sleep(0.5)
        finally:
            stream.cancel()
    raise AssertionError(f"the feed ended UNAVAILABLE {resumes + 1} times")


async def first_write_after(address: str, api_key: str, since: float, limit: float) -> float:
    """Seconds from `since` (monotonic) to the first acknowledged write, trying one write at a
    time without client retries (each with a 2 s deadline) for at most `limit` seconds."""
    async with AsyncClient(address, api_key=api_key, timeout=2.0, retry=RetryPolicy(1)) as probe:
        k = 0
        while time.monotonic() - since < limit:
            k += 1
            try:
                await probe.consent.RecordConsent(_grant(f"probe-{k}@example.org", f"probe/{k}"))
                return time.monotonic() - since
            except aio.AioRpcError as error:
                if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL,
                                        grpc.StatusCode.DEADLINE_EXCEEDED):  # fmt: skip
                    raise
                await asyncio.sleep(0.1)
    raise AssertionError(f"no write succeeded within {limit} s of the fault")


class FeedWatcher:
    """A change-feed consumer across the fault: on any error it resumes from its last cursor,
    as a real consumer does. What it saw must agree with the feed read afterwards."""

    def __init__(self, address: str, api_key: str) -> None:
        self.seen: list[tuple[int, str]] = []  # (position, event id) in arrival order
        self.reconnects = 0
        self._client = AsyncClient(address, api_key=api_key)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Cancel the consumer and close its client. Safe twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self._client.close()

    async def _run(self) -> None:
        cursor = ""
        while True:
            request = campaign_pb2.WatchConsentChangesRequest(cursor=cursor, max_changes=500)
            try:
                async for response in self._client.campaign.WatchConsentChanges(request):
                    self.seen += [(c.position, c.event.event_id) for c in response.changes]
                    cursor = response.cursor or cursor
            except aio.AioRpcError:
                self.reconnects += 1
                await asyncio.sleep(0.2)

    def disagreements(self, feed: list[campaign_pb2.ConsentChange]) -> list[str]:
        """Positions seen twice, out of order, or holding another event than the feed now."""
        final = {change.position: change.event.event_id for change in feed}
        problems = [f"{pos}: saw {eid}, feed has {final.get(pos)}" for pos, eid in self.seen
                    if final.get(pos) != eid]  # fmt: skip
        positions = [pos for pos, _ in self.seen]
        if positions != list(range(1, len(positions) + 1)):
            problems.append("the watcher's positions are not 1, 2, 3... without gap or repeat")
        return problems
