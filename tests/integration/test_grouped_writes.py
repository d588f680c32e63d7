"""Group commit on real PostgreSQL: concurrent records of one tenant share transactions, and
each call gets what it would have got alone (app/grouped_writes.py)."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from consentd.app.commands import CheckConsent, Choice, RecordConsent, WithdrawConsent
from consentd.app.consents import Written
from consentd.bootstrap import App
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.identifiers import Identifier
from consentd.domain.model import Channel, ConsentState, Decision, PartyScope, Source, Target
from consentd.domain.tenancy import Tenant
from tests.conftest import owner
from tests.integration.helpers import NEWSLETTER, SMS_OFFERS, catalogue, email, phone, principal

UNKNOWN = Target("unknown", Channel.EMAIL, PartyScope.FIRST_PARTY)


def _record(*identifiers: Identifier, target: Target = NEWSLETTER, **choice: Any) -> RecordConsent:
    return RecordConsent(
        identifiers=identifiers,
        choices=(Choice(target, ConsentState.GRANTED, **choice),),
        source=Source.API,
        actor="grouped",
    )


async def _together(app: App, tenant: Tenant, commands: list[RecordConsent]) -> list[Any]:
    """The commands as concurrent calls (one turn of the loop: one batch)."""
    who = principal(tenant)
    return await asyncio.gather(
        *(app.consents.record_consent(who, c) for c in commands), return_exceptions=True
    )


async def _transactions(app: App, tenant: Tenant) -> tuple[int, int]:
    """(events, distinct writing transactions) of the tenant's consent events."""
    async with owner(app).connect() as conn:
        row = await conn.execute(
            sa.text(
                "SELECT count(*), count(DISTINCT xmin::text) FROM consent_events "
                "WHERE tenant_id = :t"
            ),
            {"t": tenant.tenant_id},
        )
        events, transactions = row.one()
    return int(events), int(transactions)


async def test_concurrent_records_share_transactions_and_each_is_stored_once(
    app: App, tenant: Tenant
) -> None:
    """48 concurrent records of new people: 48 subjects, 96 events in fewer transactions than
    calls; the log verifies once the sequencer integrated them, every event in it once."""
    await catalogue(app, tenant)
    commands = [
        _record(email(f"p{i}@example.fr"), phone(f"+3361200{i:04d}"), target=NEWSLETTER)
        for i in range(48)
    ]
    commands = [
        RecordConsent(
            identifiers=c.identifiers,
            choices=(
                Choice(NEWSLETTER, ConsentState.GRANTED),
                Choice(SMS_OFFERS, ConsentState.GRANTED),
            ),
            source=c.source,
            actor=c.actor,
        )
        for c in commands
    ]
    written = await _together(app, tenant, commands)
    assert all(isinstance(w, Written) for w in written), written
    assert len({w.subject_id for w in written}) == 48
    events, transactions = await _transactions(app, tenant)
    assert events == 96
    assert transactions < 48, "no two records shared a transaction"
    await app.sequencer.drain(tenant.tenant_id)
    report = await app.audit.verify(tenant)
    assert report.ok, report
    async with owner(app).connect() as conn:
        holdings = await conn.scalar(
            sa.text("SELECT count(*) FROM contact_point_holdings WHERE tenant_id = :t"),
            {"t": tenant.tenant_id},
        )
    assert holdings == 96  # an e-mail address and a phone number each


async def test_each_call_of_a_batch_gets_what_it_would_have_got_alone(
    app: App, tenant: Tenant
) -> None:
    """One batch: an unknown purpose (NotFound), a notice version on a purpose without notice
    (InvalidInput), identifiers of two people (FailedPrecondition), the same new address twice
    (one subject), a known person again, a new phone number for a known person: each its own
    answer, the valid ones stored."""
    await catalogue(app, tenant)
    who = principal(tenant)
    anne = await app.consents.record_consent(who, _record(email("anne@example.fr")))
    bob = await app.consents.record_consent(who, _record(email("bob@example.fr")))
    answers = await _together(
        app,
        tenant,
        [
            _record(email("new@example.fr"), target=UNKNOWN),
            _record(email("new@example.fr"), notice_version=3),
            _record(email("anne@example.fr"), email("bob@example.fr")),
            _record(email("twice@example.fr")),
            _record(email("twice@example.fr"), target=SMS_OFFERS),
            _record(email("anne@example.fr"), target=SMS_OFFERS),
            _record(email("bob@example.fr"), phone("+33612345678")),
            _record(email("carl@example.fr")),
        ],
    )
    assert isinstance(answers[0], NotFound)
    assert "choices[0].target.purpose" in str(answers[0])
    assert isinstance(answers[1], InvalidInput)
    assert isinstance(answers[2], FailedPrecondition)
    first, second, again, linked, carl = answers[3:]
    assert all(isinstance(a, Written) for a in answers[3:]), answers
    assert first.subject_id == second.subject_id
    assert again.subject_id == anne.subject_id
    assert linked.subject_id == bob.subject_id
    assert carl.subject_id not in {anne.subject_id, bob.subject_id, first.subject_id}
    owners = await _owners(app, tenant, ["new@example.fr"])
    assert owners == {}, "a refused call linked its identifier"
    await app.sequencer.drain(tenant.tenant_id)
    assert (await app.audit.verify(tenant)).ok


async def _owners(app: App, tenant: Tenant, addresses: list[str]) -> dict[str, UUID]:
    found = {}
    for address in addresses:
        subject = await app.consents.subject_consents(principal(tenant), email(address))
        if subject[0] is not None:
            found[address] = subject[0]
    return found


@pytest.mark.parametrize("size", [2, 64])
async def test_a_batch_records_as_many_as_it_is_given(app: App, tenant: Tenant, size: int) -> None:
    """Two calls or a full batch: every call answered, every event stored once."""
    await catalogue(app, tenant)
    written = await _together(
        app, tenant, [_record(email(f"n{size}-{i}@example.fr")) for i in range(size)]
    )
    assert all(isinstance(w, Written) for w in written), written
    events, _ = await _transactions(app, tenant)
    assert events == size


def _withdraw(who: Identifier | UUID, *targets: Target, everything: bool = False) -> Any:
    return WithdrawConsent(
        subject=who,
        targets=targets,
        withdraw_all=everything,
        source=Source.API,
        actor="grouped",
    )


async def _decision(app: App, tenant: Tenant, who: Identifier, target: Target) -> Decision:
    check = CheckConsent(who, target)
    return (await app.consents.check_consent(principal(tenant), check)).verdict.decision


async def test_concurrent_withdrawals_share_transactions_and_each_denies_at_once(
    app: App, tenant: Tenant
) -> None:
    """32 people granted, then 32 concurrent withdrawals (and 8 of people never seen, who become
    subjects so the opt-out is kept): fewer transactions than calls, and every check after the
    acknowledgements answers DENY."""
    await catalogue(app, tenant)
    people = [email(f"w{i}@example.fr") for i in range(32)]
    await _together(app, tenant, [_record(p) for p in people])
    strangers = [email(f"never{i}@example.fr") for i in range(8)]
    before = await _transactions(app, tenant)
    answers = await _together_withdrawals(app, tenant, [*people, *strangers])
    assert all(isinstance(a, Written) for a in answers), answers
    events, transactions = await _transactions(app, tenant)
    assert events - before[0] == 40
    assert transactions - before[1] < 40, "no two withdrawals shared a transaction"
    for who in [*people, *strangers]:
        assert await _decision(app, tenant, who, NEWSLETTER) is Decision.DENY
    await app.sequencer.drain(tenant.tenant_id)
    assert (await app.audit.verify(tenant)).ok


async def _together_withdrawals(app: App, tenant: Tenant, people: list[Identifier]) -> list[Any]:
    who = principal(tenant)
    return await asyncio.gather(
        *(app.consents.withdraw_consent(who, _withdraw(p, NEWSLETTER)) for p in people),
        return_exceptions=True,
    )


async def test_a_batch_mixing_records_and_withdrawals_answers_each_as_alone(
    app: App, tenant: Tenant
) -> None:
    """One batch: a withdrawal by subject id, one of everything, one on an unknown purpose
    (NotFound naming targets[0]), a grant and a withdrawal of one person, and plain ones: each
    its own answer; the person withdrawn everywhere is DENY everywhere."""
    await catalogue(app, tenant)
    who = principal(tenant)
    ida = await app.consents.record_consent(who, _record(email("ida@example.fr")))
    await app.consents.record_consent(who, _record(email("jo@example.fr"), target=SMS_OFFERS))
    commands: list[Any] = [
        _withdraw(ida.subject_id, NEWSLETTER),
        _withdraw(email("jo@example.fr"), everything=True),
        _withdraw(email("kim@example.fr"), UNKNOWN),
        _record(email("lou@example.fr")),
        _withdraw(email("lou@example.fr"), NEWSLETTER),
        _withdraw(email("max@example.fr"), NEWSLETTER),
    ]
    answers = await asyncio.gather(
        *(
            app.consents.record_consent(who, c)
            if isinstance(c, RecordConsent)
            else app.consents.withdraw_consent(who, c)
            for c in commands
        ),
        return_exceptions=True,
    )
    assert isinstance(answers[2], NotFound)
    assert "targets[0].purpose" in str(answers[2])
    assert all(isinstance(a, Written) for i, a in enumerate(answers) if i != 2), answers
    assert answers[0].subject_id == ida.subject_id
    assert answers[3].subject_id == answers[4].subject_id
    assert await _decision(app, tenant, email("ida@example.fr"), NEWSLETTER) is Decision.DENY
    assert await _decision(app, tenant, email("jo@example.fr"), SMS_OFFERS) is Decision.DENY
    assert await _decision(app, tenant, email("max@example.fr"), NEWSLETTER) is Decision.DENY
    await app.sequencer.drain(tenant.tenant_id)
    assert (await app.audit.verify(tenant)).ok
