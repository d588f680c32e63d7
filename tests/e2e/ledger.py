"""The fault suite's ledger: a mixed load that records what it was told (each write
acknowledged, each left uncertain, every status, any wrong ALLOW), and the check of that ledger
against what the service then holds (lost, duplicated, audit chain, change feed)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field

import grpc
from consent.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    campaign_pb2,
    campaign_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
    types_pb2,
)

from tests.e2e.faults import check, record


@dataclass
class Ledger:
    """What the load was told: each write acknowledged (its subject and event id), each write
    that may or may not have happened, every status seen, and any ALLOW for a subject that was
    never granted."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    uncertain: set[str] = field(default_factory=set)
    codes: dict[str, int] = field(default_factory=dict)
    wrong_allows: int = 0

    def saw(self, code: grpc.StatusCode) -> None:
        self.codes[code.name] = self.codes.get(code.name, 0) + 1


async def mixed_load(
    address: str,
    metadata: tuple[tuple[str, str], ...],
    ledger: Ledger,
    stop: asyncio.Event,
    prefix: str,
) -> None:
    """Writers (a new subject each, named after `prefix`, retried with one idempotency key
    until acknowledged) and checkers (of subjects never granted: any ALLOW is wrong) until
    `stop` is set. Each load needs its own prefix: a key used before replays its answer."""

    async def writer(number: int) -> None:
        sequence = 0
        async with grpc.aio.insecure_channel(address) as channel:
            stub = consent_pb2_grpc.ConsentServiceStub(channel)
            while not stop.is_set():
                sequence += 1
                subject = f"{prefix}w{number}-{sequence}"
                await _write_until_acknowledged(stub, subject, metadata, ledger, stop)

    async def checker(number: int) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = consent_pb2_grpc.ConsentServiceStub(channel)
            while not stop.is_set():
                try:
                    reply = await stub.CheckConsent(
                        check(f"never-{number}"), metadata=metadata, timeout=5
                    )
                except grpc.aio.AioRpcError as error:
                    ledger.saw(error.code())
                    await asyncio.sleep(0.05)
                    continue
                ledger.saw(grpc.StatusCode.OK)
                if reply.decision == consent_pb2.DECISION_ALLOW:
                    ledger.wrong_allows += 1

    await asyncio.gather(*(writer(n) for n in range(6)), *(checker(n) for n in range(2)))


async def _write_until_acknowledged(
    stub: consent_pb2_grpc.ConsentServiceStub,
    subject: str,
    metadata: tuple[tuple[str, str], ...],
    ledger: Ledger,
    stop: asyncio.Event,
) -> None:
    keyed = (*metadata, ("idempotency-key", f"k-{subject}"))
    while True:
        try:
            reply = await stub.RecordConsent(record(subject), metadata=keyed, timeout=5)
        except grpc.aio.AioRpcError as error:
            ledger.saw(error.code())
            ledger.uncertain.add(subject)
            if stop.is_set():
                return
            await asyncio.sleep(0.05)
            continue
        ledger.saw(grpc.StatusCode.OK)
        ledger.uncertain.discard(subject)
        ledger.acknowledged[subject] = reply.events[0].event_id
        return


async def verify_ledger(
    address: str, metadata: tuple[tuple[str, str], ...], ledger: Ledger
) -> dict[str, int]:
    """Lost (acknowledged, not stored), duplicated (stored twice), the audit chain and the
    feed (every acknowledged event in it, positions 1..n without a gap)."""
    lost = duplicated = 0
    async with grpc.aio.insecure_channel(address) as channel:
        consent = consent_pb2_grpc.ConsentServiceStub(channel)
        for subject in [*ledger.acknowledged, *ledger.uncertain]:
            stored = 0
            with contextlib.suppress(grpc.aio.AioRpcError):  # NOT_FOUND: never stored
                history = await consent.ListConsentHistory(
                    consent_pb2.ListConsentHistoryRequest(
                        subject=types_pb2.SubjectRef(external_id=subject), page_size=10
                    ),
                    metadata=metadata,
                    timeout=10,
                )
                stored = len(history.events)
            lost += subject in ledger.acknowledged and stored == 0
            duplicated += stored > 1
        audit = await audit_pb2_grpc.AuditServiceStub(channel).VerifyAuditChain(
            audit_pb2.VerifyAuditChainRequest(), metadata=metadata, timeout=30
        )
        missing_in_feed, gaps = await _feed(channel, metadata, set(ledger.acknowledged.values()))
    return {
        "lost": lost,
        "duplicated": duplicated,
        "audit_ok": int(audit.ok),
        "missing_in_feed": missing_in_feed,
        "feed_gaps": gaps,
    }


async def _feed(
    channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...], expected: set[str]
) -> tuple[int, int]:
    """How many `expected` events the change feed lacks, and its position gaps."""
    stub = campaign_pb2_grpc.CampaignServiceStub(channel)
    seen: set[str] = set()
    positions: list[int] = []
    call = stub.WatchConsentChanges(
        campaign_pb2.WatchConsentChangesRequest(), metadata=metadata, timeout=5
    )
    try:
        async for response in call:
            for change in response.changes:
                positions.append(change.position)
                seen.add(change.event.event_id)
            if not response.changes or expected <= seen:
                break
    except grpc.aio.AioRpcError as error:
        # Nothing more came before the deadline (the feed waits for new changes).
        if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
    finally:
        call.cancel()
    gaps = sum(1 for a, b in itertools.pairwise(positions) if b != a + 1)
    return len(expected - seen), gaps + (positions[:1] not in ([], [1]))
