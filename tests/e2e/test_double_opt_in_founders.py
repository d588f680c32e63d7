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
from consent.v1 import catalog_pb2, consent_pb2, types_pb2

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.tenancy import Scope
from tests.conftest import Stubs, bearer
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


def _address() -> str:
    return f"p-{uuid4().hex[:8]}@example.fr"


@pytest.mark.parametrize(
    "says", [types_pb2.SOURCE_API, types_pb2.SOURCE_PORTAL], ids=["api", "portal"]
)
async def test_a_crm_that_made_the_person_from_its_mailbox_does_not_confirm_over_their_no(
    mailing_app: App,
    mailing_channel: grpc.aio.Channel,
    mail: tuple[Mailbox, int],
    says: types_pb2.Source.ValueType,
) -> None:
    """`says`: the ask's source (a plain write key saying PORTAL is a system: its link's
    grant, recorded with the ask's source, was unattested (NULL) and read as in person)."""
    _, crm, portal = await _keys(mailing_app, mailing_channel)
    known, inbox, real = f"crm-{uuid4().hex[:8]}", _address(), _address()
    await _record(crm, types_pb2.SubjectIdentity(external_id=known, email=inbox), refuse(NEWS))
    await _record(crm, types_pb2.SubjectIdentity(external_id=known, email=real), refuse(NEWS))
    await _withdraw_in_person(portal, known)
    ask = types_pb2.SubjectIdentity(external_id=known, email=inbox)
    asked = await _record(crm, ask, grant(OFFERS, notice_version=1), says)
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    token = token_of((await mail[0].wait_for(inbox))[0])
    # Neither the CRM's own key nor a confirming page holding consent:attest makes it theirs.
    for confirming in (crm, portal):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _confirm(confirming, token)
        assert error_info(refused.value).reason == "STOP_IN_FORCE"
    for ref in (types_pb2.SubjectRef(external_id=known), by_email(real), by_email(inbox)):
        assert (await check(crm, ref, OFFERS)).decision == DENY


async def test_a_person_made_in_person_confirms_a_forms_ask_over_their_own_no(
    mailing_app: App, mailing_channel: grpc.aio.Channel, mail: tuple[Mailbox, int]
) -> None:
    _, crm, portal = await _keys(mailing_app, mailing_channel)
    known, own = f"crm-{uuid4().hex[:8]}", _address()
    person = types_pb2.SubjectIdentity(external_id=known, email=own)
    await _record(portal, person, refuse(NEWS), types_pb2.SOURCE_PORTAL)
    await _withdraw_in_person(portal, known)
    asked = await _record(crm, types_pb2.SubjectIdentity(email=own), grant(OFFERS, 1))
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    confirmed = await _confirm(crm, token_of((await mail[0].wait_for(own))[0]))
    assert [e.source for e in confirmed.events] == [types_pb2.SOURCE_PORTAL]
    assert (await check(crm, by_email(own), OFFERS)).decision == ALLOW
