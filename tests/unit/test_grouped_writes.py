"""Group commit on in-memory fakes: one unit of work for the calls of one turn, and every call
alone when another writer linked a batch's new identifier first (app/grouped_writes.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from consentd.app.consents import ConsentUseCases, Written
from consentd.app.group_commit import Grouping
from consentd.app.idempotency import IdempotencyKey, Once, Replayed
from consentd.app.keys import SubjectKeys
from consentd.app.ports import NewSubject
from consentd.app.writers import TenantWriters
from consentd.domain.identifiers import Identifier, IdentifierHasher, IdentifierKind
from consentd.domain.sealing import Keyring
from consentd.domain.tenancy import Principal
from tests.fakes import FakeStore, FakeSubjects, FakeUnitOfWork
from tests.unit.test_consent_use_cases import NEWSLETTER, SECRET, Clock, acme, grant

PEOPLE = [Identifier(IdentifierKind.EMAIL, f"p{i}@example.fr") for i in range(6)]


class CountingStore(FakeStore):
    """Counts the units of work opened."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = 0

    def __call__(self, tenant_id: Any, once: Once | None = None, /) -> FakeUnitOfWork:
        self.opened += 1
        return super().__call__(tenant_id, once)


@pytest.fixture
def counting() -> CountingStore:
    return CountingStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def principal(counting: CountingStore) -> Principal:
    return acme(counting)


def _grouped(store: FakeStore, clock: Clock) -> ConsentUseCases:
    return ConsentUseCases(
        store,
        IdentifierHasher(SECRET),
        clock,
        SubjectKeys(Keyring(SECRET)),
        writers=TenantWriters(4),
        grouping=Grouping(64),
    )


async def _all(consents: ConsentUseCases, principal: Principal) -> list[Any]:
    return await asyncio.gather(
        *(consents.record_consent(principal, grant(NEWSLETTER, who=p)) for p in PEOPLE),
        return_exceptions=True,
    )


async def test_the_calls_of_one_turn_share_one_unit_of_work(
    counting: CountingStore, clock: Clock, principal: Principal
) -> None:
    written = await _all(_grouped(counting, clock), principal)
    assert all(isinstance(w, Written) for w in written), written
    assert counting.opened == 1
    assert len(counting.tenant(principal.tenant_id).subjects) == len(PEOPLE)


def _once(principal: Principal, key: str) -> Once:
    claim = IdempotencyKey(principal.caller, key, "RecordConsent", key.encode(), datetime.now(UTC))
    return Once(claim, lambda written: str(written.subject_id).encode())


async def test_calls_under_idempotency_keys_record_alone_and_replay(
    counting: CountingStore, clock: Clock, principal: Principal
) -> None:
    """A call under a key writes in the unit of work that claims its key, never in a batch's;
    the same key again replays the stored answer and writes nothing."""
    consents = _grouped(counting, clock)
    written = await asyncio.gather(
        *(
            consents.record_consent(principal, grant(NEWSLETTER, who=p), _once(principal, p.value))
            for p in PEOPLE
        )
    )
    assert counting.opened == len(PEOPLE)
    events = len(counting.tenant(principal.tenant_id).events)
    with pytest.raises(Replayed) as replay:
        await consents.record_consent(
            principal, grant(NEWSLETTER, who=PEOPLE[0]), _once(principal, PEOPLE[0].value)
        )
    assert replay.value.response == str(written[0].subject_id).encode()
    assert len(counting.tenant(principal.tenant_id).events) == events


async def test_a_batch_that_lost_a_race_runs_every_call_alone(
    counting: CountingStore,
    clock: Clock,
    principal: Principal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another writer linked a new identifier first: the batch rolls back whole, each call runs
    alone and every one is recorded."""
    raced: list[int] = []
    create_many = FakeSubjects.create_many

    async def racing(self: FakeSubjects, created: Sequence[NewSubject], now: datetime) -> int:
        raced.append(len(created))
        if len(raced) == 1:  # the batch's: linked by someone else, in this unit of work's view
            (digest, _), *_ = created[0].identifiers
            self._d.owners[digest] = uuid4()
        return await create_many(self, created, now)

    monkeypatch.setattr(FakeSubjects, "create_many", racing)
    written = await _all(_grouped(counting, clock), principal)
    assert all(isinstance(w, Written) for w in written), written
    # The batch's subjects (rolled back with the race it saw), then each call's own.
    assert raced == [len(PEOPLE)] + [1] * len(PEOPLE)
    assert counting.opened == 1 + len(PEOPLE)
    assert len(counting.tenant(principal.tenant_id).events) == len(PEOPLE)
