"""Probe DC: a CRM (a plain consent:write key) made a person from a mailbox it reads, the
person withdrew in person (the preference centre), the CRM asked a double opt-in grant at that
mailbox, confirmed its own link, and the confirmation counted as the person's own word: their
checks, by external id and by their real address, read ALLOW. An address a system gave the
person, when making them or since, proves only that mailbox: its link's grant is a system's,
refused over their "no". An address they were made from in person is theirs: a sign-up form's
ask there, confirmed, lifts their own "no"."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import catalog_pb2, consent_pb2, rights_pb2, rights_pb2_grpc, types_pb2

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.tenancy import Scope
from tests.conftest import Stubs, bearer, owner
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    by_email,
    check,
    error_info,
    grant,
    publish_notice,
    put_purpose,
    refuse,
    target,
)
from tests.e2e.mailbox import Mailbox, new_tenant, token_of
from tests.e2e.security_helpers import issue

OFFERS, NEWS = target("offers"), target("news")


async def _keys(app: App, channel: grpc.aio.Channel) -> tuple[Stubs, Stubs, Stubs]:
    """An admin's stubs for a fresh tenant (with purpose `offers`, double opt-in, notice
    version 1, and `news`), a CRM's (write + check) and a portal's (write + attest)."""
    stubs, tenant = await new_tenant(app, channel)
    admin = app.admin
    assert isinstance(admin, AdminUseCases)
    await publish_notice(stubs, "offers-notice", "Version 1")
    offers = catalog_pb2.Purpose(
        purpose_id="offers",
        lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        notice_id="offers-notice",
        requires_confirmation=True,
    )
    await stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=offers), metadata=stubs.metadata
    )
    await put_purpose(stubs, "news")
    crm = await issue(admin, tenant, Scope.WRITE.value, Scope.CHECK.value)
    portal = await issue(admin, tenant, Scope.WRITE.value, Scope.ATTEST.value)
    return stubs, replace(stubs, metadata=bearer(crm)), replace(stubs, metadata=bearer(portal))


async def _record(
    stubs: Stubs,
    person: types_pb2.SubjectIdentity,
    choice: consent_pb2.ConsentChoice,
    source: types_pb2.Source.ValueType = types_pb2.SOURCE_API,
) -> consent_pb2.RecordConsentResponse:
    request = consent_pb2.RecordConsentRequest(subject=person, choices=[choice], source=source)
    return await stubs.consent.RecordConsent(request, metadata=stubs.metadata)


async def _withdraw_in_person(portal: Stubs, external_id: str) -> None:
    request = consent_pb2.WithdrawConsentRequest(
        subject=types_pb2.SubjectRef(external_id=external_id),
        targets=[OFFERS],
        source=types_pb2.SOURCE_PORTAL,
    )
    await portal.consent.WithdrawConsent(request, metadata=portal.metadata)


async def _confirm(stubs: Stubs, token: str) -> consent_pb2.ConfirmConsentResponse:
    request = consent_pb2.ConfirmConsentRequest(token=token)
    return await stubs.consent.ConfirmConsent(request, metadata=stubs.metadata)


async def _attested(app: App, event_id: str) -> bool | None:
    """The event's `attested` column: whether it is the person's own word."""
    query = sa.text("SELECT attested FROM consent_events WHERE event_id = :e")
    async with owner(app).connect() as conn:
        found: bool | None = (await conn.execute(query, {"e": event_id})).scalar_one()
    return found


def _address() -> str:
    return f"p-{uuid4().hex[:8]}@example.fr"


@pytest.mark.parametrize("founded", ["record", "withdrawal"])
@pytest.mark.parametrize(
    "says", [types_pb2.SOURCE_API, types_pb2.SOURCE_PORTAL], ids=["api", "portal"]
)
async def test_a_crm_that_made_the_person_from_its_mailbox_does_not_ask_over_their_no(
    mailing_app: App,
    mailing_channel: grpc.aio.Channel,
    mail: tuple[Mailbox, int],
    says: types_pb2.Source.ValueType,
    founded: str,
) -> None:
    """`says`: the ask's source (a plain write key saying PORTAL is a system). `founded`: the
    CRM made the person by a record, or by a withdrawal it said was the person's (SOURCE_PORTAL:
    a withdrawal is never attested, and it counted as made in person; probe DE). The ask over
    their "no" is refused and mails nobody (probe DF: its link could lift nothing)."""
    _, crm, portal = await _keys(mailing_app, mailing_channel)
    known, inbox, real = f"crm-{uuid4().hex[:8]}", _address(), _address()
    if founded == "withdrawal":
        made = consent_pb2.WithdrawConsentRequest(
            subject=by_email(inbox), targets=[NEWS], source=types_pb2.SOURCE_PORTAL
        )
        await crm.consent.WithdrawConsent(made, metadata=crm.metadata)
    await _record(crm, types_pb2.SubjectIdentity(external_id=known, email=inbox), refuse(NEWS))
    await _record(crm, types_pb2.SubjectIdentity(external_id=known, email=real), refuse(NEWS))
    await _withdraw_in_person(portal, known)
    ask = types_pb2.SubjectIdentity(external_id=known, email=inbox)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _record(crm, ask, grant(OFFERS, notice_version=1), says)
    assert error_info(refused.value).reason == "STOP_IN_FORCE"
    for ref in (types_pb2.SubjectRef(external_id=known), by_email(real), by_email(inbox)):
        assert (await check(crm, ref, OFFERS)).decision == DENY
    assert not [m for m in mail[0].messages if m["To"] == inbox]


async def test_a_link_at_the_mailbox_a_crm_made_the_person_from_is_a_systems_grant(
    mailing_app: App, mailing_channel: grpc.aio.Channel, mail: tuple[Mailbox, int]
) -> None:
    """Asked before any "no" (nothing to refuse), the CRM's own link at the mailbox it made
    the person from confirms a system's grant, not the person's word: unattested, with the
    ask's source, it lifts none of their later "no"s."""
    _, crm, _ = await _keys(mailing_app, mailing_channel)
    known, inbox = f"crm-{uuid4().hex[:8]}", _address()
    ask = types_pb2.SubjectIdentity(external_id=known, email=inbox)
    asked = await _record(crm, ask, grant(OFFERS, 1), types_pb2.SOURCE_PORTAL)
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    confirmed = await _confirm(crm, token_of((await mail[0].wait_for(inbox))[0]))
    assert [e.state for e in confirmed.events] == [types_pb2.CONSENT_STATE_GRANTED]
    assert await _attested(mailing_app, confirmed.events[0].event_id) is False


async def test_a_person_made_in_person_confirms_a_forms_ask_over_their_own_no(
    mailing_app: App, mailing_channel: grpc.aio.Channel, mail: tuple[Mailbox, int]
) -> None:
    """Made in person from their address, they unsubscribed in person; a sign-up form (a plain
    write key, SOURCE_PORTAL) asks them again there, and their click is theirs. A CRM's sync
    (SOURCE_API) asking the same is refused: it mailed someone who had said no (probe DF)."""
    _, crm, portal = await _keys(mailing_app, mailing_channel)
    known, own = f"crm-{uuid4().hex[:8]}", _address()
    person = types_pb2.SubjectIdentity(external_id=known, email=own)
    await _record(portal, person, refuse(NEWS), types_pb2.SOURCE_PORTAL)
    await _withdraw_in_person(portal, known)
    by_address = types_pb2.SubjectIdentity(email=own)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _record(crm, by_address, grant(OFFERS, 1), types_pb2.SOURCE_API)
    assert error_info(refused.value).reason == "STOP_IN_FORCE"
    asked = await _record(crm, by_address, grant(OFFERS, 1), types_pb2.SOURCE_PORTAL)
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    confirmed = await _confirm(crm, token_of((await mail[0].wait_for(own))[0]))
    assert [e.source for e in confirmed.events] == [types_pb2.SOURCE_PORTAL]
    assert await _attested(mailing_app, confirmed.events[0].event_id) is True
    assert (await check(crm, by_email(own), OFFERS)).decision == ALLOW


async def test_an_address_the_person_left_is_not_theirs_when_a_system_gives_it_back(
    mailing_app: App, mailing_channel: grpc.aio.Channel, mail: tuple[Mailbox, int]
) -> None:
    """Probe DG: made in person from A, the person moved to B (RectifyContact); a CRM gave A back
    to them in one call and asked a form's way at A in the next, its link was confirmed by
    whoever reads A, and their "no" read ALLOW everywhere: the earliest holding of A counted.
    Only a holding of A unbroken since a record of theirs linked it proves A."""
    admin, crm, portal = await _keys(mailing_app, mailing_channel)
    known, left, moved = f"crm-{uuid4().hex[:8]}", _address(), _address()
    await _record(
        portal,
        types_pb2.SubjectIdentity(external_id=known, email=left),
        refuse(OFFERS),
        types_pb2.SOURCE_PORTAL,
    )
    rights = rights_pb2_grpc.RightsServiceStub(mailing_channel)
    rectify = rights_pb2.RectifyContactRequest(
        subject=types_pb2.SubjectRef(external_id=known),
        kind=rights_pb2.CONTACT_KIND_EMAIL,
        value=moved,
        actor="support",
    )
    await rights.RectifyContact(rectify, metadata=admin.metadata)
    back = types_pb2.SubjectIdentity(external_id=known, email=left)
    await _record(crm, back, refuse(NEWS))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _record(crm, back, grant(OFFERS, 1), types_pb2.SOURCE_PORTAL)
    assert error_info(refused.value).reason == "STOP_IN_FORCE"
    assert not [m for m in mail[0].messages if m["To"] == left]


async def test_an_address_the_person_added_in_person_is_theirs(
    mailing_app: App, mailing_channel: grpc.aio.Channel, mail: tuple[Mailbox, int]
) -> None:
    """Probe DG (over-blocking): made in person from A, the person added B themselves (an
    attested record naming it) and refused; a sign-up form's ask at B was refused, while the
    docs count an address they named in person as theirs. It is asked, and their click lifts
    their "no"."""
    _, crm, portal = await _keys(mailing_app, mailing_channel)
    known, first, added = f"crm-{uuid4().hex[:8]}", _address(), _address()
    await _record(
        portal, types_pb2.SubjectIdentity(external_id=known, email=first), refuse(NEWS),
        types_pb2.SOURCE_PORTAL,
    )  # fmt: skip
    await _record(
        portal, types_pb2.SubjectIdentity(external_id=known, email=added), refuse(OFFERS),
        types_pb2.SOURCE_PORTAL,
    )  # fmt: skip
    by_added = types_pb2.SubjectIdentity(email=added)
    asked = await _record(crm, by_added, grant(OFFERS, 1), types_pb2.SOURCE_PORTAL)
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    await _confirm(crm, token_of((await mail[0].wait_for(added))[0]))
    assert (await check(crm, by_email(added), OFFERS)).decision == ALLOW
