"""In-memory fakes of the store's ports, for unit tests of the use cases (cosmicpython's style).

Each fake keeps plain Python data for one tenant; the unit of work stages every change and
applies it only on commit(), so a use case that raises before committing leaves nothing, as the
real one does. They implement the parts of the ports the consent use cases call; anything else
raises NotImplementedError so a test never passes by silently doing nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from consentd.app.idempotency import NO_ANSWER, Once, Replayed
from consentd.app.ports import (
    CheckBatch,
    CheckKey,
    CheckRow,
    Digest,
    IdentifiersTaken,
    NewSubject,
    PartQuery,
    PartRead,
    PartWrite,
)
from consentd.domain.audit import AuditRecord
from consentd.domain.decision import latest, persons_word
from consentd.domain.errors import InvalidInput
from consentd.domain.model import ALL, ConsentEvent, Purpose, Target
from consentd.domain.rights import Block


@dataclass
class TenantData:
    """Everything one tenant has stored, as committed."""

    subjects: dict[UUID, datetime] = field(default_factory=dict)
    owners: dict[Digest, UUID] = field(default_factory=dict)
    events: list[ConsentEvent] = field(default_factory=list)
    purposes: dict[str, Purpose] = field(default_factory=dict)
    notices: dict[str, set[int]] = field(default_factory=dict)
    keys: dict[UUID, bytes] = field(default_factory=dict)
    blocks: dict[UUID, list[Block]] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    # What the real append queues for the sequencer: one log entry per event, with its row.
    queued: list[ConsentEvent] = field(default_factory=list)
    sequence: int = 0


class FakeSubjects:
    def __init__(self, data: TenantData) -> None:
        self._d = data

    async def owners(self, digests: Sequence[Digest]) -> dict[Digest, UUID]:
        return {d: self._d.owners[d] for d in digests if d in self._d.owners}

    async def exists(self, subject_id: UUID) -> bool:
        return subject_id in self._d.subjects

    async def create(self, subject_id: UUID, now: datetime) -> None:
        self._d.subjects[subject_id] = now

    async def lock_points(self, digests: Sequence[Digest]) -> None:
        """Nothing runs beside a fake's writer."""

    async def delete_unreferenced(self, subject_id: UUID) -> None:
        self._d.subjects.pop(subject_id, None)

    async def attach(
        self, subject_id: UUID, digest: Digest, now: datetime, sealed: bytes | None = None
    ) -> UUID:
        return self._d.owners.setdefault(digest, subject_id)

    async def create_many(self, created: Sequence[NewSubject], now: datetime) -> int:
        linked = 0
        for subject in created:
            self._d.subjects[subject.subject_id] = now
            self._d.keys[subject.subject_id] = subject.wrapped_key
            for digest, _ in subject.identifiers:
                owner = self._d.owners.setdefault(digest, subject.subject_id)
                linked += owner == subject.subject_id
        return linked


class FakeConsents:
    def __init__(self, data: TenantData) -> None:
        self._d = data

    async def append(
        self, events: Sequence[ConsentEvent], queued_at: datetime
    ) -> list[ConsentEvent]:
        written = []
        for event in events:
            self._d.sequence += 1
            written.append(replace(event, sequence=self._d.sequence))
        self._d.events.extend(written)
        self._d.queued.extend(written)
        return written

    def _of(self, subject_id: UUID) -> list[ConsentEvent]:
        return [e for e in self._d.events if e.subject_id == subject_id]

    async def lock_subject(self, subject_id: UUID) -> None:
        return None  # one task at a time in the fakes: nothing to wait for

    async def current(self, subject_id: UUID) -> list[ConsentEvent]:
        latest_by_target: dict[Target, ConsentEvent] = {}
        for event in self._of(subject_id):
            latest_by_target[event.target] = event
        return sorted(latest_by_target.values(), key=lambda e: e.target.purpose)

    async def persons_words(self, subject_id: UUID) -> list[ConsentEvent]:
        latest: dict[Target, ConsentEvent] = {}
        for event in self._of(subject_id):
            if persons_word(event) and not event.target.is_all:
                latest[event.target] = event
        return list(latest.values())

    async def history(
        self, subject_id: UUID, purpose: str | None, before: UUID | None, limit: int
    ) -> list[ConsentEvent]:
        events = [
            e for e in self._of(subject_id) if purpose is None or e.target.purpose in (purpose, ALL)
        ][::-1]
        if before is not None:
            ids = [e.event_id for e in events]
            events = events[ids.index(before) + 1 :] if before in ids else []
        return events[:limit]

    async def all_events(self, subject_id: UUID) -> list[ConsentEvent]:
        return self._of(subject_id)


class FakeCatalog:
    def __init__(self, data: TenantData) -> None:
        self._d = data

    async def purposes(self, purpose_ids: Sequence[str]) -> dict[str, Purpose]:
        return {p: self._d.purposes[p] for p in purpose_ids if p in self._d.purposes}

    async def notice_versions(self, notice_id: str) -> set[int]:
        return set(self._d.notices.get(notice_id, set()))

    async def reconsent_floors(self, notice_ids: Sequence[str]) -> dict[str, int]:
        return {}  # the unit tests' notices never ask for consent again


class FakeRights:
    """The data keys and blocks the consent use cases read."""

    def __init__(self, data: TenantData) -> None:
        self._d = data

    async def wrapped_key(self, subject_id: UUID) -> bytes | None:
        return self._d.keys.get(subject_id)

    async def store_key(self, subject_id: UUID, wrapped: bytes, now: datetime) -> bytes:
        return self._d.keys.setdefault(subject_id, wrapped)

    async def block_history(self, subject_id: UUID) -> list[Any]:
        return []  # the unit tests' subjects never object

    async def closed_contact_points(self, digests: Any) -> dict[Any, Any]:
        return {}  # nor are they erased: no contact point is closed to systems

    async def held_closures(self, subject_id: UUID) -> dict[Any, Any]:
        return {}  # nor do they hold any

    async def born_erased(self, subject_id: UUID) -> bool:
        return False  # nothing is ever erased here

    async def taken_over(self, s: UUID, at: datetime, named: Any) -> set[Any]:
        return set()  # nor did any change hands

    async def holders_then(self, digests: Any, decided: datetime) -> set[Any]:
        return set()


class FakeAudit:
    def __init__(self, data: TenantData) -> None:
        self._d = data

    def record(self, record: AuditRecord) -> None:
        self._d.audit.append(record)


class FakeCampaign:
    """Checks as consentd_check() answers them: the subject, its latest applicable fact (the
    target's or an "all" fact, at as_of when given) and its blocks."""

    def __init__(self, data: TenantData) -> None:
        self._d = data

    async def check(
        self, target: Target, keys: Sequence[CheckKey], as_of: datetime | None, at: datetime
    ) -> CheckBatch | None:
        purpose = self._d.purposes.get(target.purpose)
        if purpose is None:
            return None
        rows = [self._row(target, key, as_of) for key in keys]
        return CheckBatch(purpose, None, rows)

    def _row(self, target: Target, key: CheckKey, as_of: datetime | None) -> CheckRow:
        subject = key if isinstance(key, UUID) else self._d.owners.get(key)
        if subject is None or subject not in self._d.subjects:
            return CheckRow(None, None)
        facts = [
            e.fact()
            for e in self._d.events
            if e.subject_id == subject
            and (e.target == target or e.target.is_all)
            and (as_of is None or e.recorded_at <= as_of)
        ]
        return CheckRow(subject, latest(facts), self._d.blocks.get(subject, []))


class FakeUnitOfWork:
    """Works on a copy of the tenant's data; commit() makes the copy the tenant's data. With
    `once`, a key done already replays its stored answer (no concurrent claims here)."""

    def __init__(self, store: FakeStore, tenant_id: UUID, once: Once | None = None) -> None:
        self._store = store
        self._tenant = tenant_id
        self._once = once
        self.committed = False

    async def __aenter__(self) -> Self:
        if self._once is not None:
            key = self._once.key
            stored = self._store.answers.get((self._tenant, key.caller, key.key))
            if stored is not None:
                if stored[0] != (key.method, key.request_sha256):
                    raise InvalidInput(
                        "idempotency-key", "was already used with a different request"
                    )
                raise Replayed(stored[1])
        self._pending: dict[UUID, Any] = {}
        self._bind()
        return self

    async def batch_reads(self, parts: Sequence[PartQuery]) -> list[PartRead]:
        read = []
        for part in parts:
            if part.tenant_id != self._tenant:
                await self._switch(part.tenant_id)
            owners = await self.subjects.owners(part.digests)
            purposes = await self.catalog.purposes(part.purpose_ids)
            notices = {p.notice_id for p in purposes.values() if p.notice_id}
            versions = {n: await self.catalog.notice_versions(n) for n in notices}
            keys = {s: self._data.keys[s] for s in owners.values() if s in self._data.keys}
            read.append(PartRead(purposes, owners, keys, versions))
        return read

    async def batch_writes(self, parts: Sequence[PartWrite], now: datetime) -> list[ConsentEvent]:
        written = []
        for part in parts:
            if part.tenant_id != self._tenant:
                await self._switch(part.tenant_id)
            expected = sum(len(s.identifiers) for s in part.created)
            if await self.subjects.create_many(part.created, now) != expected:
                raise IdentifiersTaken
            written.extend(await self.consents.append(part.events, now))
        return written

    async def _switch(self, tenant_id: UUID) -> None:
        self._pending[self._tenant] = self._data
        self._tenant = tenant_id
        self._bind()

    def _bind(self) -> None:
        self._data = copy.deepcopy(self._store.tenant(self._tenant))
        self.subjects = FakeSubjects(self._data)
        self.consents = FakeConsents(self._data)
        self.catalog = FakeCatalog(self._data)
        self.rights = FakeRights(self._data)
        self.audit = FakeAudit(self._data)
        self.campaign = FakeCampaign(self._data)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self, answer: object = NO_ANSWER) -> None:
        if self._once is not None:
            if answer is NO_ANSWER:
                raise RuntimeError("a write under an idempotency key commits with its answer")
            key = self._once.key
            self._store.answers[(self._tenant, key.caller, key.key)] = (
                (key.method, key.request_sha256),
                self._once.render(answer),
            )
        self._store.tenants.update(self._pending)
        self._store.tenants[self._tenant] = self._data
        self.committed = True

    async def commit_refusal(self) -> None:
        self._once = None
        await self.commit()

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"FakeUnitOfWork has no {name}")


class FakeStore:
    """Every tenant's committed data; calling it gives a unit of work (a UnitOfWorkFactory)."""

    def __init__(self) -> None:
        self.tenants: dict[UUID, TenantData] = {}
        # Idempotency keys: (tenant, caller, key) -> ((method, request digest), answer).
        self.answers: dict[tuple[UUID, str, str], tuple[tuple[str, bytes], bytes]] = {}

    def tenant(self, tenant_id: UUID) -> TenantData:
        return self.tenants.setdefault(tenant_id, TenantData())

    def __call__(self, tenant_id: UUID, once: Once | None = None, /) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, tenant_id, once)
