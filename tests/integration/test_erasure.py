"""Erasure by crypto-shredding on real PostgreSQL: after it, a dump of the whole database holds
the person's email, phone, external id and IP in no form, a check for the same email or phone is
still DENY, and the audit chain still verifies."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from dataclasses import replace
from urllib.parse import unquote, urlparse

import pytest
import sqlalchemy as sa

from consentd.app.commands import CheckConsent, Choice, Evidence, RecordConsent, WithdrawConsent
from consentd.bootstrap import App
from consentd.domain.errors import FailedPrecondition
from consentd.domain.identifiers import Identifier
from consentd.domain.model import Channel, ConsentState, Decision, Reason, Source, Target
from consentd.domain.tenancy import Tenant
from consentd.postgres.embedded import EmbeddedPostgres, find_bindir
from consentd.store.database import ERASED, outage_of
from tests.conftest import owner
from tests.integration.helpers import (
    B2B,
    NEWSLETTER,
    SMS_OFFERS,
    catalogue,
    email,
    external,
    grant,
    phone,
    principal,
)

OLD_EMAIL = "Jeanne.Dupont@Example.FR"
NEW_EMAIL = "J.Dupont@Exemple.fr"
PHONE = "06 12 34 56 78"
E164 = "+33612345678"
CRM_ID = "crm-4711-dupont"
IP = "203.0.113.77"
UA = "Mozilla/5.0 (Jeanne's laptop)"


def _forms() -> dict[str, str]:
    """Every form in which a dump could betray the person: as given, lowercased, normalised
    (E.164 for the phone), national digits, and the unkeyed SHA-256 (hex) of each."""
    clear = {
        "old email": OLD_EMAIL,
        "old email lowercase": OLD_EMAIL.lower(),
        "new email": NEW_EMAIL,
        "new email lowercase": NEW_EMAIL.lower(),
        "phone as given": PHONE,
        "phone E.164": E164,
        "phone digits": PHONE.replace(" ", ""),
        "external id": CRM_ID,
        "ip address": IP,
        "user agent": UA,
    }
    hashed = {
        f"sha256({name})": hashlib.sha256(value.encode()).hexdigest()
        for name, value in clear.items()
    }
    return {**clear, **hashed}


def _dump(postgres: EmbeddedPostgres, database_url: str) -> str:
    """pg_dump of the whole test database, schema and data, from the test cluster's bindir (as
    the owner: the runtime role may not read every table, and RLS would hide the rows)."""
    url = urlparse(database_url)
    argv = [
        str(find_bindir() / "pg_dump"),
        *("-h", "127.0.0.1", "-p", str(postgres.port), "-U", unquote(url.username or "")),
        "--no-password",
        unquote(url.path.lstrip("/")),
    ]
    env = {"PGPASSWORD": unquote(url.password or ""), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def _found(dump: str) -> list[str]:
    lowered = dump.lower()
    return [name for name, form in _forms().items() if form.lower() in lowered]


async def _check(app: App, tenant: Tenant, who: object, target: Target) -> tuple[Decision, Reason]:
    result = await app.consents.check_consent(principal(tenant), CheckConsent(who, target))  # type: ignore[arg-type]
    return result.verdict.decision, result.verdict.reason


async def test_erased_person_is_in_no_form_in_a_dump_and_still_denied(
    app: App, tenant: Tenant, postgres: EmbeddedPostgres, owner_url: str
) -> None:
    """Record (email, phone, external id, IP/UA evidence), rectify the email, erase: the dump
    has none of the values in any form; checks by the email or phone are DENY erased (also for a
    legitimate-interest purpose); the history stays; the chain verifies."""
    await catalogue(app, tenant)
    who = principal(tenant)
    evidence = Evidence(ip_address=IP, user_agent=UA, reference="form-7")
    written = await grant(
        app, tenant, email(OLD_EMAIL), phone(PHONE), external(CRM_ID), evidence=evidence
    )
    await app.rights.rectify(who, email(OLD_EMAIL), email(NEW_EMAIL), "support-42")

    before = await app.rights.export(who, written.subject_id)
    values = {i["kind"]: i["value"] for i in before["identity"]}
    assert values == {"email": NEW_EMAIL.lower(), "phone": E164, "external_id": CRM_ID}
    assert [c["value"] for c in before["contact_history"]] == [OLD_EMAIL.lower(), NEW_EMAIL.lower()]
    assert before["consent_history"][0]["evidence"]["ip_address"] == IP
    assert before["consent_history"][0]["processing_role"] == "processor"
    dump = await asyncio.to_thread(_dump, postgres, owner_url)
    assert tenant.slug in dump
    assert "form-7" in dump  # the dump holds this tenant's rows: the searches below mean something
    assert _found(dump) == []  # sealed from the start, never in clear

    erasure = await app.rights.erase(who, email(NEW_EMAIL), "dpo")
    # Its three identifiers, and the old e-mail it was rectified away from (probe X).
    assert (erasure.identifiers_suppressed, erasure.events_appended) == (4, 2)

    dump = await asyncio.to_thread(_dump, postgres, owner_url)
    assert str(written.subject_id) in dump  # the pseudonymous history is still there
    assert _found(dump) == []
    for contact in (email(NEW_EMAIL), phone(PHONE), phone(E164), external(CRM_ID)):
        for target in (NEWSLETTER, SMS_OFFERS, B2B):
            assert await _check(app, tenant, contact, target) == (Decision.DENY, Reason.ERASED)
    assert await _check(app, tenant, written.subject_id, NEWSLETTER) == (
        Decision.DENY,
        Reason.ERASED,
    )
    after = await app.rights.export(who, written.subject_id)
    assert after["identity"] == []
    assert [c["value"] for c in after["contact_history"]] == [None, None]
    assert after["subject"]["erased_at"] is not None
    history = after["consent_history"]
    assert [e["state"] for e in history] == ["granted", "granted", "erased", "erased"]
    # The erasure's own source (an operator's), not the replaced grant's (probe FD).
    assert [e["source"] for e in history] == ["portal", "portal", "support", "support"]
    # Null once the key is gone, as every personal value; "" (none given) while it exists.
    assert history[0]["evidence"] == {"reference": "form-7", "ip_address": None, "user_agent": None}
    assert (await app.audit.verify(tenant)).ok


async def test_erasure_is_idempotent_and_a_later_grant_counts_again(
    app: App, tenant: Tenant
) -> None:
    """Erasing twice changes nothing more; the person coming back and granting again gets a new
    subject whose grant is ALLOW, while untouched purposes stay DENY erased."""
    await catalogue(app, tenant)
    who = principal(tenant)
    first = await grant(app, tenant, email("back@example.fr"))
    await app.rights.erase(who, first.subject_id, "dpo")
    again = await app.rights.erase(who, first.subject_id, "dpo")
    assert (again.identifiers_suppressed, again.events_appended) == (0, 0)
    with pytest.raises(FailedPrecondition):
        await app.rights.rectify(who, first.subject_id, email("new@example.fr"), "x")

    second = await grant(app, tenant, email("back@example.fr"), targets=(NEWSLETTER,))
    assert second.subject_id != first.subject_id
    assert await _check(app, tenant, email("back@example.fr"), NEWSLETTER) == (
        Decision.ALLOW,
        Reason.GRANTED,
    )
    assert await _check(app, tenant, email("back@example.fr"), B2B) == (
        Decision.DENY,
        Reason.ERASED,
    )


async def test_restriction_and_objection_deny_checks(app: App, tenant: Tenant) -> None:
    """Restricted: DENY restricted until lifted; objected: DENY objected until a new grant."""
    await catalogue(app, tenant)
    who = principal(tenant)
    await grant(app, tenant, email("r@example.fr"), targets=(NEWSLETTER, B2B))
    await app.rights.restrict(who, email("r@example.fr"))
    await app.rights.restrict(who, email("r@example.fr"))  # idempotent
    assert await _check(app, tenant, email("r@example.fr"), NEWSLETTER) == (
        Decision.DENY,
        Reason.RESTRICTED,
    )
    await app.rights.restrict(who, email("r@example.fr"), lift=True)
    assert (await _check(app, tenant, email("r@example.fr"), NEWSLETTER))[0] is Decision.ALLOW

    await app.rights.object(who, email("r@example.fr"))
    assert await _check(app, tenant, email("r@example.fr"), B2B) == (
        Decision.DENY,
        Reason.OBJECTED,
    )
    await grant(app, tenant, email("r@example.fr"), targets=(NEWSLETTER,))
    assert (await _check(app, tenant, email("r@example.fr"), NEWSLETTER))[0] is Decision.ALLOW
    assert (await _check(app, tenant, email("r@example.fr"), B2B))[1] is Reason.OBJECTED


async def test_rectifying_to_another_subjects_contact_is_refused(app: App, tenant: Tenant) -> None:
    """A contact point belongs to one subject: taking another's is FailedPrecondition and
    changes nothing."""
    await catalogue(app, tenant)
    who = principal(tenant)
    await grant(app, tenant, email("a@example.fr"))
    await grant(app, tenant, email("b@example.fr"))
    with pytest.raises(FailedPrecondition, match="another subject"):
        await app.rights.rectify(who, email("a@example.fr"), email("b@example.fr"), "x")
    assert (await _check(app, tenant, email("a@example.fr"), NEWSLETTER))[0] is Decision.ALLOW


async def test_an_erasure_waits_for_a_write_in_flight_and_a_write_waiting_on_it_is_refused(
    app: App, tenant: Tenant
) -> None:
    """A writer holding the subject's lock (as an append does until its commit): the erasure
    waits for it. The other way round, a write that waited behind an erasure is refused once
    the erasure committed (migration 0019), and nothing is written on the erased subject: a
    probe raced 16 writers with EraseSubject and saw the erased id answer ALLOW again."""
    await catalogue(app, tenant)
    who = principal(tenant)
    # A person known only by an opt-out of everything: its erasure appends no event (nothing to
    # mark erased), so only its own lock makes it wait for a write in flight.
    optout = WithdrawConsent(email("race@example.fr"), (), True, Source.API, "crm")
    first = await app.consents.withdraw_consent(who, optout)
    lock = "SELECT pg_advisory_xact_lock(consentd_subject_lock(:t, :s))"
    values = {"t": tenant.tenant_id, "s": first.subject_id}
    async with owner(app).connect() as writer:
        await writer.execute(sa.text(lock), values)  # a write in flight holds the subject
        erasing = asyncio.ensure_future(app.rights.erase(who, first.subject_id, "dpo"))
        await asyncio.sleep(0.3)
        assert not erasing.done(), "the erasure ran past a write in flight"
        await writer.rollback()
    await erasing
    async with owner(app).connect() as eraser:  # an erasure in flight, then committed
        await eraser.execute(sa.text(lock), values)
        withdraw = WithdrawConsent(first.subject_id, (), True, Source.API, "crm")
        withdrawing = asyncio.ensure_future(app.consents.withdraw_consent(who, withdraw))
        await asyncio.sleep(0.3)
        assert not withdrawing.done()
        await eraser.commit()
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the store's own error, mapped by the API
        await withdrawing
    assert outage_of(refused.value) == ERASED
    events = "SELECT state FROM consent_events WHERE tenant_id = :t AND subject_id = :s"
    async with owner(app).connect() as conn:
        states = (await conn.execute(sa.text(events), values)).scalars().all()
    assert states == ["withdrawn"]  # the opt-out alone: nothing written after the erasure


async def test_a_systems_grant_racing_an_erasure_never_brings_the_address_back(
    app: App, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe XC: a CRM's grant naming an address and a new phone, racing EraseSubject of the
    address's holder: when the erasure committed after the grant read the closed contact points
    and before it resolved its subject, the address read as nobody's and not suppressed, a new
    subject took it with the grant, and checks by it said ALLOW (9 of 300 races). The erasure
    is committed at exactly that point here (a hook on the real resolver, before it runs): the
    grant is refused CONTACT_POINT_ERASED and nothing of it stays."""
    await catalogue(app, tenant)
    address = email("erased-meanwhile@example.fr")
    await grant(app, tenant, address, targets=(NEWSLETTER,))
    resolver = app.consents._subjects
    resolve = resolver.find_or_create
    erased: list[object] = []

    async def erase_first(*args: object, **kwargs: object) -> object:
        if not erased:
            erased.append(await app.rights.erase(principal(tenant), address, "dpo"))
        return await resolve(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(resolver, "find_or_create", erase_first)
    crm = RecordConsent(
        identifiers=(address, phone("06 98 76 54 32")),
        choices=(Choice(NEWSLETTER, ConsentState.GRANTED),),
        source=Source.API,
        actor="crm",
    )
    with pytest.raises(FailedPrecondition) as refused:
        await app.consents.record_consent(principal(tenant), crm)
    assert refused.value.code == "CONTACT_POINT_ERASED"
    assert erased
    assert await _check(app, tenant, address, NEWSLETTER) == (Decision.DENY, Reason.ERASED)
    held = (
        "SELECT count(*) FROM subject_identifiers i JOIN subjects s USING (tenant_id, subject_id) "
        "WHERE i.tenant_id = :t AND s.erased_at IS NULL"
    )
    async with owner(app).connect() as conn:
        assert (await conn.execute(sa.text(held), {"t": tenant.tenant_id})).scalar_one() == 0


async def test_a_systems_grant_naming_an_erased_address_and_a_new_phone_brings_no_one_back(
    app: App, tenant: Tenant
) -> None:
    """Probe ZA, with no race: after an erasure, a CRM's grant naming the erased address and
    a phone nobody knew (e-mail and SMS granted) dropped the e-mail grant only: the SMS one made
    a new subject holding the erased address again, and a check by the phone said ALLOW. The
    erased person named with nobody known besides gets none of a system's grants; a refusal
    sent with them is kept (a "no" is never lost)."""
    await catalogue(app, tenant)
    address = email("erased-then-synced@example.fr")
    await grant(app, tenant, address, targets=(NEWSLETTER,))
    await app.rights.erase(principal(tenant), address, "dpo")
    mobile = phone("06 11 22 33 44")
    sms = Target("newsletter", Channel.SMS, NEWSLETTER.scope)
    crm = RecordConsent(
        identifiers=(address, mobile),
        choices=(Choice(NEWSLETTER, ConsentState.GRANTED), Choice(sms, ConsentState.GRANTED)),
        source=Source.API,
        actor="crm",
    )
    with pytest.raises(FailedPrecondition) as refused:
        await app.consents.record_consent(principal(tenant), crm)
    assert refused.value.code == "CONTACT_POINT_ERASED"
    assert await _check(app, tenant, mobile, sms) == (Decision.DENY, Reason.NO_RECORD)
    mixed = replace(crm, choices=(*crm.choices, Choice(SMS_OFFERS, ConsentState.REFUSED)))
    written = await app.consents.record_consent(principal(tenant), mixed)
    assert [e.state for e in written.events] == [ConsentState.REFUSED]
    assert set(written.superseded) == {NEWSLETTER, sms}
    assert (await _check(app, tenant, mobile, sms))[0] == Decision.DENY


async def test_a_no_naming_an_erased_address_then_a_grant_by_its_new_phone_brings_no_one_back(
    app: App, tenant: Tenant
) -> None:
    """Probe ZE: a system's "no" naming the erased address and a new phone (recorded: a "no" is
    never lost) made a subject holding both; the same system's grant by the phone alone then
    went through, and a check by the erased address said ALLOW. A subject made with an erased
    contact point gets no system's grant until the person grants in person; then it does."""
    await catalogue(app, tenant)
    address, mobile = email("erased-twice@example.fr"), phone("06 55 44 33 22")
    await grant(app, tenant, address, targets=(NEWSLETTER,))
    await app.rights.erase(principal(tenant), address, "dpo")
    sms = Target("newsletter", Channel.SMS, NEWSLETTER.scope)

    def crm(*who: Identifier, state: ConsentState, target: Target) -> RecordConsent:
        return RecordConsent(who, (Choice(target, state),), source=Source.API, actor="crm")

    no = crm(address, mobile, state=ConsentState.REFUSED, target=SMS_OFFERS)
    assert (await app.consents.record_consent(principal(tenant), no)).events
    yes = crm(mobile, state=ConsentState.GRANTED, target=sms)
    with pytest.raises(FailedPrecondition) as refused:
        await app.consents.record_consent(principal(tenant), yes)
    assert refused.value.code == "CONTACT_POINT_ERASED"
    assert (await _check(app, tenant, mobile, sms))[0] == Decision.DENY
    assert (await _check(app, tenant, address, sms))[0] == Decision.DENY
    await grant(app, tenant, mobile, targets=(SMS_OFFERS,))  # the person, in person
    await app.consents.record_consent(principal(tenant), yes)
    assert await _check(app, tenant, mobile, sms) == (Decision.ALLOW, Reason.GRANTED)
