"""Double opt-in through a real SMTP server: a grant on a purpose that requires confirmation is
DENY `pending_confirmation` until the person follows the link sent to them, which works once and
not after it expired; the confirmation is in the evidence and the audit log. The same notifier
sends rights-request identity codes."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import (
    campaign_pb2,
    campaign_pb2_grpc,
    catalog_pb2,
    consent_pb2,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.domain.tenancy import Scope, Tenant
from consentd.store.tables import audit_entries, subjects
from tests.conftest import TEST_SECRET, Stubs, TestClock, bearer, owner
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    by_email,
    check,
    error_info,
    grant,
    publish_notice,
    put_purpose,
    record,
    refuse,
    target,
    withdraw,
)
from tests.e2e.mailbox import Mailbox, body_of, free_port, new_tenant, token_of

PENDING = consent_pb2.REASON_PENDING_CONFIRMATION


async def _confirmed_purpose(stubs: Stubs, purpose_id: str = "newsletter") -> None:
    purpose = catalog_pb2.Purpose(
        purpose_id=purpose_id,
        display_name="Lettre d'information",
        lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        requires_confirmation=True,
    )
    saved = await stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
    )
    assert saved.purpose.requires_confirmation


async def _confirmed_purpose_with_notice(stubs: Stubs, purpose_id: str) -> None:
    """A purpose that requires confirmation, with notice `<purpose_id>-notice` version 1."""
    await publish_notice(stubs, f"{purpose_id}-notice", "Version 1")
    purpose = catalog_pb2.Purpose(
        purpose_id=purpose_id,
        lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        notice_id=f"{purpose_id}-notice",
        requires_confirmation=True,
    )
    await stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
    )


async def _confirm(stubs: Stubs, token: str) -> consent_pb2.ConfirmConsentResponse:
    request = consent_pb2.ConfirmConsentRequest(
        token=token, evidence=types_pb2.Evidence(ip_address="203.0.113.9", user_agent="Firefox")
    )
    return await stubs.consent.ConfirmConsent(request, metadata=stubs.metadata)


def _address() -> str:
    return f"p-{uuid4().hex[:8]}@example.fr"


async def _batch(
    stubs: Stubs, channel: grpc.aio.Channel, address: str, to: types_pb2.ConsentTarget
) -> campaign_pb2.CheckAnswer:
    """The campaign path's answer for one address."""
    answer = await campaign_pb2_grpc.CampaignServiceStub(channel).BatchCheckConsent(
        campaign_pb2.BatchCheckConsentRequest(target=to, recipients=[by_email(address)]),
        metadata=stubs.metadata,
    )
    return answer.answers[0]


async def _suppressed(
    stubs: Stubs, channel: grpc.aio.Channel, to: types_pb2.ConsentTarget
) -> list[campaign_pb2.ExportSuppressionListResponse]:
    """The tenant's suppression list for the target (a pending grant is no refusal)."""
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    request = campaign_pb2.ExportSuppressionListRequest(target=to)
    stream = campaign.ExportSuppressionList(request, metadata=stubs.metadata)
    return [m async for m in stream if list(m.entries)]


async def test_the_link_sent_by_mail_confirms_once_and_only_then_allows(
    mailing: Stubs, mail: tuple[Mailbox, int], mailing_app: App, mailing_channel: grpc.aio.Channel
) -> None:
    """Pending -> DENY pending_confirmation; the message arrives (French, with the link); the
    token confirms once (ALLOW granted, confirmation in the audit log); a second use is
    FAILED_PRECONDITION and changes nothing."""
    await _confirmed_purpose(mailing)
    address, to = _address(), target("newsletter")
    recorded = await record(mailing, types_pb2.SubjectIdentity(email=address), grant(to))
    assert recorded.events[0].state == types_pb2.CONSENT_STATE_PENDING
    # The caller learns the message went to the relay (a message that went nowhere was silent).
    assert recorded.confirmation == consent_pb2.CONFIRMATION_DELIVERY_SENT
    pending = await check(mailing, by_email(address), to)
    assert (pending.decision, pending.reason) == (DENY, PENDING)
    batch = await _batch(mailing, mailing_channel, address, to)
    assert (batch.decision, batch.reason) == (DENY, PENDING)
    assert await _suppressed(mailing, mailing_channel, to) == []

    (message,) = await mail[0].wait_for(address)
    assert "Confirmez votre accord" in message["Subject"]
    assert "Lettre d'information" in body_of(message)
    token = token_of(message)
    assert await check(mailing, by_email(address), to) == pending  # the message alone: no

    confirmed = await _confirm(mailing, token)
    assert confirmed.channel == types_pb2.CHANNEL_EMAIL
    assert [e.state for e in confirmed.events] == [types_pb2.CONSENT_STATE_GRANTED]
    assert confirmed.events[0].evidence_reference.startswith("confirmation:")
    allowed = await check(mailing, by_email(address), to)
    assert (allowed.decision, allowed.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    assert allowed.event_id == confirmed.events[0].event_id
    assert (await _batch(mailing, mailing_channel, address, to)).decision == ALLOW

    with pytest.raises(grpc.aio.AioRpcError) as again:
        await _confirm(mailing, token)
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(again.value).reason == "CONFIRMATION_USED"  # a portal branches on it
    assert await check(mailing, by_email(address), to) == allowed

    engine = mailing_app.owner_engine
    assert engine is not None
    async with engine.connect() as conn:
        tenant_id = (
            await conn.execute(
                sa.select(subjects.c.tenant_id).where(
                    subjects.c.subject_id == sa.cast(recorded.subject_id, sa.Uuid)
                )
            )
        ).scalar_one()
    # The confirmation's entry is queued with it; the sequencer integrates it in its own time.
    await mailing_app.sequencer.drain(tenant_id)
    async with engine.connect() as conn:
        payloads = (
            (
                await conn.execute(
                    sa.select(audit_entries.c.payload).where(
                        audit_entries.c.action == "consent.confirmed",
                        audit_entries.c.subject_id == sa.cast(recorded.subject_id, sa.Uuid),
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(payloads) == 1
    assert payloads[0]["channel"] == "email"
    assert payloads[0]["confirmed_at"]
    assert address not in str(payloads[0])

    # The person's export lists the message: sent, until when, used when (probe AA: it had no
    # such section), never the link's token.
    rights = rights_pb2_grpc.RightsServiceStub(mailing_channel)
    exported = await rights.ExportSubject(
        rights_pb2.ExportSubjectRequest(subject=by_email(address)), metadata=mailing.metadata
    )
    document = json.loads(exported.document_json)
    (sent,) = document["confirmations"]
    assert (sent["channel"], sent["event_ids"]) == ("email", [recorded.events[0].event_id])
    assert sent["sent_at"] <= sent["confirmed_at"] < sent["expires_at"]
    assert token not in exported.document_json
    # The grant the link recorded is the person's own (migration 0033).
    (mine,) = (e for e in document["consent_history"] if e["state"] == "granted")
    assert (mine["event_id"], mine["attested"]) == (confirmed.events[0].event_id, True)


async def test_an_expired_token_is_refused_and_the_grant_lapses(
    mailing: Stubs, mail: tuple[Mailbox, int], clock: TestClock
) -> None:
    """Seven days on, the token is FAILED_PRECONDITION and the check DENY expired."""
    await _confirmed_purpose(mailing)
    address, to = _address(), target("newsletter")
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(to))
    (message,) = await mail[0].wait_for(address)

    clock.pinned = datetime.now(UTC) + timedelta(days=7, minutes=1)
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await _confirm(mailing, token_of(message))
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "expired" in (late.value.details() or "")
    assert error_info(late.value).reason == "CONFIRMATION_EXPIRED"
    lapsed = await check(mailing, by_email(address), to)
    assert (lapsed.decision, lapsed.reason) == (DENY, consent_pb2.REASON_EXPIRED)


async def test_a_grant_asked_for_an_hour_is_confirmed_for_that_hour_only(
    mailing: Stubs, mail: tuple[Mailbox, int], clock: TestClock
) -> None:
    """RecordConsent with valid_until an hour ahead on a double opt-in purpose: the confirmed
    grant had the purpose's validity only and allowed a day later, where the same grant without
    confirmation was DENY expired after the hour (probe P). It ends when asked; a link followed
    after that end confirms nothing."""
    await _confirmed_purpose(mailing)
    to = target("newsletter")
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    first, late = _address(), _address()
    for address in (first, late):
        await record(
            mailing, types_pb2.SubjectIdentity(email=address), grant(to, valid_until=until)
        )
    (message,) = await mail[0].wait_for(first)
    confirmed = await _confirm(mailing, token_of(message))
    assert confirmed.events[0].valid_until.ToDatetime(tzinfo=UTC) == until
    assert (await check(mailing, by_email(first), to)).decision == ALLOW
    clock.pinned = until + timedelta(seconds=1)
    lapsed = await check(mailing, by_email(first), to)
    assert (lapsed.decision, lapsed.reason) == (DENY, consent_pb2.REASON_EXPIRED)
    (message,) = await mail[0].wait_for(late)
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await _confirm(mailing, token_of(message))
    assert ended.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "validity asked" in (ended.value.details() or "")
    assert error_info(ended.value).reason == "CONFIRMATION_EXPIRED"
    assert (await check(mailing, by_email(late), to)).decision == DENY


@pytest.mark.parametrize("no", ["withdrawal", "objection"])
async def test_a_no_said_after_the_request_stands_against_its_link(
    mailing: Stubs, mail: tuple[Mailbox, int], mailing_channel: grpc.aio.Channel, no: str
) -> None:
    """Pending grant, then a withdrawal of everything or an objection, then the person follows
    the link mailed before it: nothing is recorded and the later no stands (DENY withdrawn or
    objected). After an objection the confirmation recorded a grant newer than it, which lifted
    it (ALLOW on every path)."""
    await _confirmed_purpose(mailing)
    address, to = _address(), target("newsletter")
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(to))
    (message,) = await mail[0].wait_for(address)
    if no == "withdrawal":
        await withdraw(mailing, by_email(address), everything=True)
        reason = consent_pb2.REASON_WITHDRAWN
    else:
        await rights_pb2_grpc.RightsServiceStub(mailing_channel).RecordObjection(
            rights_pb2.RecordObjectionRequest(subject=by_email(address)), metadata=mailing.metadata
        )
        reason = consent_pb2.REASON_OBJECTED

    confirmed = await _confirm(mailing, token_of(message))
    assert list(confirmed.events) == []
    denied = await check(mailing, by_email(address), to)
    assert (denied.decision, denied.reason) == (DENY, reason)


async def test_a_link_to_an_address_rectified_since_confirms_nothing(
    mailing: Stubs, mail: tuple[Mailbox, int], mailing_channel: grpc.aio.Channel
) -> None:
    """Pending grant for address A (the link mailed to A), the address rectified to B, then the
    link from A followed: FAILED_PRECONDITION, nothing recorded, B stays DENY pending. The
    grant was confirmed, and B ALLOWed, on a proof of A's mailbox."""
    await _confirmed_purpose(mailing)
    address, to = _address(), target("newsletter")
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(to))
    (message,) = await mail[0].wait_for(address)
    moved = _address()
    rights = rights_pb2_grpc.RightsServiceStub(mailing_channel)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_email(address), kind=rights_pb2.CONTACT_KIND_EMAIL, value=moved, actor="dpo"
        ),
        metadata=mailing.metadata,
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _confirm(mailing, token_of(message))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "rectified since" in (refused.value.details() or "")
    pending = await check(mailing, by_email(moved), to)
    assert (pending.decision, pending.reason) == (DENY, PENDING)


async def test_a_link_to_a_person_erased_since_is_refused(
    mailing: Stubs, mail: tuple[Mailbox, int], mailing_channel: grpc.aio.Channel
) -> None:
    """Pending grant, then the person erased, then the link followed: it answered OK with the
    erased person's subject id and no events. FAILED_PRECONDITION saying so, no id, nothing
    written; the address stays DENY erased."""
    await _confirmed_purpose(mailing)
    address, to = _address(), target("newsletter")
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(to))
    (message,) = await mail[0].wait_for(address)
    await rights_pb2_grpc.RightsServiceStub(mailing_channel).EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=by_email(address), actor="dpo"),
        metadata=mailing.metadata,
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _confirm(mailing, token_of(message))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.details() == "the person this link was sent to was erased since"
    erased = await check(mailing, by_email(address), to)
    assert (erased.decision, erased.reason) == (DENY, consent_pb2.REASON_ERASED)


async def test_an_older_link_after_a_newer_one_was_sent_says_so(
    mailing: Stubs, mail: tuple[Mailbox, int]
) -> None:
    """Two pending grants, two links: the first link answered success with nothing confirmed
    (the person believed it done, the check stayed DENY). It is FAILED_PRECONDITION naming the
    newer link, which still confirms. (The second is asked on a newer notice version: the same
    grant asked again within 15 minutes is not sent again.)"""
    await _confirmed_purpose_with_notice(mailing, "newer-link")
    address, to = _address(), target("newer-link")
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(to, notice_version=1))
    (first,) = await mail[0].wait_for(address)
    await publish_notice(mailing, "newer-link-notice", "Version 2")
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(to, notice_version=2))
    second = (await mail[0].wait_for(address, count=2))[-1]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _confirm(mailing, token_of(first))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "newer confirmation link" in (refused.value.details() or "")
    confirmed = await _confirm(mailing, token_of(second))
    assert len(confirmed.events) == 1
    assert (await check(mailing, by_email(address), to)).decision == ALLOW


async def test_another_tenant_cannot_use_the_token(
    mailing: Stubs, mail: tuple[Mailbox, int], mailing_app: App, mailing_channel: grpc.aio.Channel
) -> None:
    """A token is NOT_FOUND under another tenant's credentials, and still works in its own."""
    await _confirmed_purpose(mailing)
    address, to = _address(), target("newsletter")
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(to))
    (message,) = await mail[0].wait_for(address)
    other, _ = await new_tenant(mailing_app, mailing_channel)

    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        await _confirm(other, token_of(message))
    assert foreign.value.code() == grpc.StatusCode.NOT_FOUND
    assert len((await _confirm(mailing, token_of(message))).events) == 1


async def test_a_purpose_with_confirmation_needs_an_email_address(mailing: Stubs) -> None:
    """A grant that needs confirmation, recorded by phone alone, is INVALID_ARGUMENT."""
    await _confirmed_purpose(mailing)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await record(
            mailing, types_pb2.SubjectIdentity(phone="+33612345678"), grant(target("newsletter"))
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "subject.email" in (refused.value.details() or "")


async def test_the_english_notice_gets_the_english_message(
    mailing: Stubs, mail: tuple[Mailbox, int]
) -> None:
    """The message is in the language of the notice the person was shown."""
    notice = await mailing.catalog.PublishNotice(
        catalog_pb2.PublishNoticeRequest(
            notice_id="offers-notice", title="Offers", language="en", content="We will write."
        ),
        metadata=mailing.metadata,
    )
    purpose = catalog_pb2.Purpose(
        purpose_id="offers",
        display_name="Product offers",
        lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        notice_id="offers-notice",
        requires_confirmation=True,
    )
    await mailing.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=mailing.metadata
    )
    address = _address()
    choice = grant(target("offers"), notice_version=notice.notice.version)
    await record(mailing, types_pb2.SubjectIdentity(email=address), choice)
    (message,) = await mail[0].wait_for(address)
    assert message["Subject"].startswith("Please confirm your consent")
    assert "Product offers" in body_of(message)


async def test_rights_request_codes_go_out_by_mail(
    mailing: Stubs, mail: tuple[Mailbox, int], mailing_channel: grpc.aio.Channel
) -> None:
    """SubmitRightsRequest with send_code_to EMAIL mails the code; that code verifies."""
    address = _address()
    await put_purpose(mailing, "calls")
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(target("calls")))
    rights = rights_pb2_grpc.RightsServiceStub(mailing_channel)
    submitted = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS,
            subject=by_email(address),
            send_code_to=rights_pb2.CONTACT_KIND_EMAIL,
        ),
        metadata=mailing.metadata,
    )
    assert submitted.code_sent
    (message,) = await mail[0].wait_for(address)
    code = re.search(r"code ?: ?(\S+)", body_of(message))
    assert code
    confirmed = await rights.ConfirmIdentity(
        rights_pb2.ConfirmIdentityRequest(
            request_id=submitted.request.request_id, code=code.group(1)
        ),
        metadata=mailing.metadata,
    )
    assert confirmed.request.state == rights_pb2.RIGHTS_REQUEST_STATE_IDENTITY_VERIFIED


async def test_with_a_relay_only_a_mailed_code_is_reported_sent(
    mailing: Stubs, mail: tuple[Mailbox, int], mailing_channel: grpc.aio.Channel
) -> None:
    """With an SMTP relay, a code to the subject's email is sent (code_sent true, the mail
    arrives); a code to its phone only logged (SMS needs the tenant's own provider) answers
    code_sent false, on submit and on resend."""
    address = _address()
    await put_purpose(mailing, "calls")
    person = types_pb2.SubjectIdentity(email=address, phone="+33622334466")
    await record(mailing, person, grant(target("calls")))
    rights = rights_pb2_grpc.RightsServiceStub(mailing_channel)
    by_phone = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS,
            subject=by_email(address),
            send_code_to=rights_pb2.CONTACT_KIND_PHONE,
        ),
        metadata=mailing.metadata,
    )
    assert not by_phone.code_sent
    request_id = by_phone.request.request_id
    for kind, sent in (
        (rights_pb2.CONTACT_KIND_PHONE, False),
        (rights_pb2.CONTACT_KIND_EMAIL, True),
    ):
        resent = await rights.ResendVerificationCode(
            rights_pb2.ResendVerificationCodeRequest(request_id=request_id, send_code_to=kind),
            metadata=mailing.metadata,
        )
        assert resent.code_sent is sent
    (mailed,) = await mail[0].wait_for(address)
    # Which request it is for: six requests mailed six identical messages (found by a probe).
    assert f"(référence {request_id[:8]})" in body_of(mailed)


async def test_a_relay_down_answers_code_sent_false_and_a_retry_the_same(
    database_url: str, owner_url: str, clock: TestClock
) -> None:
    """With the SMTP relay down, SubmitRightsRequest answered UNAVAILABLE "the database is
    unavailable" though the request was committed, and a retry with the same idempotency key
    answered code_sent=true for a code nobody received. Now: OK, code_sent false, the request
    kept (a code can be sent again), and the retry answers the same."""
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=free_port(),  # nothing listens there
        smtp_sender="consent@consentd.example",
        smtp_tls="none",
    )
    app = bootstrap(settings, database_url, TEST_SECRET, clock, owner_url=owner_url)
    server = app.server()
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stubs, _ = await new_tenant(app, channel)
            address = _address()
            await put_purpose(stubs, "calls")
            await record(stubs, types_pb2.SubjectIdentity(email=address), grant(target("calls")))
            rights = rights_pb2_grpc.RightsServiceStub(channel)
            request = rights_pb2.SubmitRightsRequestRequest(
                kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS,
                subject=by_email(address),
                send_code_to=rights_pb2.CONTACT_KIND_EMAIL,
            )
            once = (*stubs.metadata, ("idempotency-key", uuid4().hex))
            first = await rights.SubmitRightsRequest(request, metadata=once)
            again = await rights.SubmitRightsRequest(request, metadata=once)
            assert not first.code_sent
            assert not again.code_sent
            assert again.request.request_id == first.request.request_id
            resent = await rights.ResendVerificationCode(
                rights_pb2.ResendVerificationCodeRequest(
                    request_id=first.request.request_id,
                    send_code_to=rights_pb2.CONTACT_KIND_EMAIL,
                ),
                metadata=stubs.metadata,
            )
            assert not resent.code_sent
            # A confirmation the relay did not take: the grant stays pending, and the caller
            # is told (record it again later to ask again).
            await _confirmed_purpose(stubs)
            pending = await record(
                stubs, types_pb2.SubjectIdentity(email=address), grant(target("newsletter"))
            )
            assert pending.events[0].state == types_pb2.CONSENT_STATE_PENDING
            assert pending.confirmation == consent_pb2.CONFIRMATION_DELIVERY_NOT_SENT
    finally:
        await server.stop(grace=1)
        await app.aclose()


async def test_without_a_relay_the_confirmation_is_only_logged_and_says_so(stubs: Stubs) -> None:
    """No relay configured: the message is written to the log only, and the answer says so;
    a grant of a purpose without confirmation asks for none."""
    await _confirmed_purpose(stubs)
    await put_purpose(stubs, "calls")
    address = _address()
    logged = await record(
        stubs, types_pb2.SubjectIdentity(email=address), grant(target("newsletter"))
    )
    assert logged.confirmation == consent_pb2.CONFIRMATION_DELIVERY_LOGGED_ONLY
    plain = await record(stubs, types_pb2.SubjectIdentity(email=address), grant(target("calls")))
    assert plain.confirmation == consent_pb2.CONFIRMATION_DELIVERY_UNSPECIFIED


async def test_the_person_is_told_of_an_extension_and_of_a_refusal(
    mailing: Stubs, mail: tuple[Mailbox, int], mailing_channel: grpc.aio.Channel
) -> None:
    """GDPR art. 12(3) and 12(4): an extension's reasons and a refusal's, with the right to
    complain, must reach the person; they were only stored (found by a probe). Each is mailed
    to the subject's address, naming the request."""
    address = _address()
    await put_purpose(mailing, "calls")
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(target("calls")))
    rights = rights_pb2_grpc.RightsServiceStub(mailing_channel)
    filed = []
    for _ in range(2):
        submitted = await rights.SubmitRightsRequest(
            rights_pb2.SubmitRightsRequestRequest(
                kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email(address)
            ),
            metadata=mailing.metadata,
        )
        filed.append(submitted.request.request_id)
    before = datetime.now(UTC)
    extension = await rights.ExtendRightsRequest(
        rights_pb2.ExtendRightsRequestRequest(
            request_id=filed[0], months=2, reason="archives à consulter sur trois sites"
        ),
        metadata=mailing.metadata,
    )
    refusal = await rights.RefuseRightsRequest(
        rights_pb2.RefuseRightsRequestRequest(
            request_id=filed[1], reason="demande manifestement excessive"
        ),
        metadata=mailing.metadata,
    )
    # When the person was told is on the request: the condition of an extension (probe AL).
    for answer in (extension, refusal):
        told = answer.request.person_told_at.ToDatetime(tzinfo=UTC)
        assert before <= told <= datetime.now(UTC), answer
        got = await rights.GetRightsRequest(
            rights_pb2.GetRightsRequestRequest(request_id=answer.request.request_id),
            metadata=mailing.metadata,
        )
        assert got.request.person_told_at == answer.request.person_told_at
    extended, refused = (body_of(m) for m in await mail[0].wait_for(address, count=2))
    assert f"référence {filed[0][:8]}" in extended
    assert "prolongé" in extended
    assert "archives à consulter sur trois sites" in extended
    assert f"référence {filed[1][:8]}" in refused
    assert "demande manifestement excessive" in refused
    assert "CNIL" in refused


async def test_a_confirmed_grant_sent_again_stays_confirmed_and_is_not_asked_again(
    mailing: Stubs, mail: tuple[Mailbox, int]
) -> None:
    """Probe BS: a CRM sending a confirmed subscriber's grant again made it PENDING (DENY
    until a new link was followed, EXPIRED after 7 days unfollowed), and a form posted ten
    times sent ten messages in 2 s. A grant that stands is not asked again: confirmed and in
    force, or asked less than 15 minutes ago; nothing is recorded or sent for it, and the
    response lists it in `not_asked_again`. A newer notice version, or a withdrawal since, is
    asked again."""
    await _confirmed_purpose_with_notice(mailing, "kept-confirmed")
    address, to = _address(), target("kept-confirmed")
    person = types_pb2.SubjectIdentity(email=address)
    first = await record(mailing, person, grant(to, notice_version=1))
    for _ in range(5):  # the same form posted again: one message only
        again = await record(mailing, person, grant(to, notice_version=1))
        assert (list(again.events), list(again.not_asked_again)) == ([], [to])
        assert again.confirmation == consent_pb2.CONFIRMATION_DELIVERY_UNSPECIFIED
    (message,) = await mail[0].wait_for(address)
    await _confirm(mailing, token_of(message))
    allowed = await check(mailing, by_email(address), to)
    assert allowed.decision == ALLOW
    crm = consent_pb2.RecordConsentRequest(
        subject=person, choices=[grant(to, notice_version=1)], source=types_pb2.SOURCE_API
    )
    resent = await mailing.consent.RecordConsent(crm, metadata=mailing.metadata)
    assert (list(resent.events), list(resent.not_asked_again)) == ([], [to])
    assert await check(mailing, by_email(address), to) == allowed
    assert len(await mail[0].wait_for(address)) == 1
    # Beside it, another choice is recorded as usual.
    await put_purpose(mailing, "other")
    beside = await record(mailing, person, grant(to, notice_version=1), refuse(target("other")))
    assert [e.state for e in beside.events] == [types_pb2.CONSENT_STATE_REFUSED]
    # A newer version of the notice is asked.
    await publish_notice(mailing, "kept-confirmed-notice", "Version 2")
    newer = await record(mailing, person, grant(to, notice_version=2))
    assert [e.state for e in newer.events] == [types_pb2.CONSENT_STATE_PENDING]
    assert first.subject_id == newer.subject_id


async def test_an_objection_since_or_ten_calls_at_once_ask_once(
    mailing: Stubs, mail: tuple[Mailbox, int], mailing_channel: grpc.aio.Channel
) -> None:
    """Probe BT: the person's own grant after their objection was dropped as standing (DENY
    objected, no message), and ten calls at once for a known person sent up to nine messages
    (each read none standing). The objection since the grant asks again; the subject's lock
    makes the ten one."""
    await _confirmed_purpose_with_notice(mailing, "asked-once")
    await put_purpose(mailing, "plain")
    to, address = target("asked-once"), _address()
    person = types_pb2.SubjectIdentity(email=address)
    await record(mailing, person, grant(target("plain")))  # known before the ten
    calls = [record(mailing, person, grant(to, notice_version=1)) for _ in range(10)]
    answers = await asyncio.gather(*calls)
    assert sum(len(a.events) for a in answers) == 1
    (message,) = await mail[0].wait_for(address)
    await _confirm(mailing, token_of(message))
    rights = rights_pb2_grpc.RightsServiceStub(mailing_channel)
    await rights.RecordObjection(
        rights_pb2.RecordObjectionRequest(subject=by_email(address)), metadata=mailing.metadata
    )
    again = await record(mailing, person, grant(to, notice_version=1))
    assert [e.state for e in again.events] == [types_pb2.CONSENT_STATE_PENDING]
    assert list(again.not_asked_again) == []
    second = (await mail[0].wait_for(address, count=2))[-1]
    await _confirm(mailing, token_of(second))
    assert (await check(mailing, by_email(address), to)).decision == ALLOW


async def test_a_new_address_linked_to_a_confirmed_person_is_asked_at_that_address(
    mailing: Stubs, mail: tuple[Mailbox, int]
) -> None:
    """Probe BT: a person confirmed at one address (and known by external id); a CRM's record
    naming them by external id and a new address was not asked again, and the new address
    read ALLOW though no mail ever went to it. A confirmed grant proves the mailbox it was sent
    to: a record naming an address the person did not hold asks again, at that address, and
    the grant waits for it; the address they hold is not asked again."""
    await _confirmed_purpose_with_notice(mailing, "new-address")
    to, first, second = target("new-address"), _address(), _address()
    crm_id = f"crm-{uuid4().hex[:8]}"
    known = types_pb2.SubjectIdentity(external_id=crm_id, email=first)
    await record(mailing, known, grant(to, notice_version=1))
    (message,) = await mail[0].wait_for(first)
    await _confirm(mailing, token_of(message))
    held = await record(mailing, known, grant(to, notice_version=1))
    assert (list(held.events), list(held.not_asked_again)) == ([], [to])
    moved = types_pb2.SubjectIdentity(external_id=crm_id, email=second)
    asked = await record(mailing, moved, grant(to, notice_version=1))
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    assert (list(asked.not_asked_again), asked.subject_id) == ([], held.subject_id)
    waiting = await check(mailing, by_email(second), to)
    assert (waiting.decision, waiting.reason) == (DENY, PENDING)
    (sent,) = await mail[0].wait_for(second)
    await _confirm(mailing, token_of(sent))
    assert (await check(mailing, by_email(second), to)).decision == ALLOW
    assert len(await mail[0].wait_for(first)) == 1
    # Probe CE: a third address linked first by a record without a double opt-in purpose was
    # held when the grant came, and not asked again. It is: no link ever went to it.
    third = _address()
    await put_purpose(mailing, "plain-beside")
    linked = types_pb2.SubjectIdentity(external_id=crm_id, email=third)
    await record(mailing, linked, refuse(target("plain-beside")))
    again = await record(mailing, linked, grant(to, notice_version=1))
    assert [e.state for e in again.events] == [types_pb2.CONSENT_STATE_PENDING]
    assert len(await mail[0].wait_for(third)) == 1
    # Confirmed there too: the addresses links went to are not asked again.
    await _confirm(mailing, token_of((await mail[0].wait_for(third))[0]))
    for address in (first, second, third):
        known = types_pb2.SubjectIdentity(external_id=crm_id, email=address)
        kept = await record(mailing, known, grant(to, notice_version=1))
        assert (list(kept.events), list(kept.not_asked_again)) == ([], [to])


async def test_a_sign_up_form_asks_again_someone_who_unsubscribed_or_sent_a_stop(
    mailing_app: App, mailing_channel: grpc.aio.Channel, mail: tuple[Mailbox, int]
) -> None:
    """Probe CE: after the person unsubscribed (portal) or stopped every e-mail, a double
    opt-in grant sent by a sign-up form's server (a plain write key) was STOP_IN_FORCE and no
    mail went: nobody could re-subscribe that way. It is asked (PENDING, mailed) when the form
    sends it as in the person's presence (SOURCE_PORTAL) to an address of theirs: only the
    person's confirmation makes it a grant, and that is theirs. A CRM's sync (SOURCE_API)
    asking the same is refused, and mails nobody (probe DF: it mailed someone who had stopped
    every e-mail, with a link no click could use)."""
    mailing, tenant = await new_tenant(mailing_app, mailing_channel)
    form = replace(mailing, metadata=bearer(await _plain_key(mailing_app, tenant)))
    await _confirmed_purpose_with_notice(mailing, "resub")
    to, address = target("resub"), _address()
    person = types_pb2.SubjectIdentity(email=address)
    signed = consent_pb2.RecordConsentRequest(
        subject=person, choices=[grant(to, notice_version=1)], source=types_pb2.SOURCE_PORTAL
    )
    await record(mailing, person, grant(to, notice_version=1))
    await _confirm(mailing, token_of((await mail[0].wait_for(address))[0]))
    await withdraw(mailing, by_email(address), to)
    stop = consent_pb2.WithdrawConsentRequest(
        subject=by_email(address),
        all=True,
        channel=types_pb2.CHANNEL_EMAIL,
        source=types_pb2.SOURCE_API,
    )
    synced = consent_pb2.RecordConsentRequest(
        subject=person, choices=[grant(to, notice_version=1)], source=types_pb2.SOURCE_API
    )
    for sent, then in ((2, None), (3, stop)):
        if then is not None:
            await mailing.consent.WithdrawConsent(then, metadata=mailing.metadata)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await form.consent.RecordConsent(synced, metadata=form.metadata)
        assert error_info(refused.value).reason == "STOP_IN_FORCE"
        asked = await form.consent.RecordConsent(signed, metadata=form.metadata)
        assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
        assert (await check(mailing, by_email(address), to)).decision == DENY
        messages = await mail[0].wait_for(address, count=sent)
        assert len(messages) == sent  # the sync's refused grant mailed nobody
        await _confirm(form, token_of(messages[-1]))
        assert (await check(mailing, by_email(address), to)).decision == ALLOW


async def test_an_ask_not_confirmed_leaves_the_no_before_it_standing(
    mailing_app: App,
    mailing_channel: grpc.aio.Channel,
    mail: tuple[Mailbox, int],
    clock: TestClock,
) -> None:
    """Probe DE: a system's ask over the person's refusal became the current fact: checks said
    DENY pending_confirmation and the suppression list dropped the person, for good once the
    ask lapsed unconfirmed (a sender filtering with the list would have mailed them). The
    refusal stays the answer and on the list until their click (migration 0047)."""
    mailing, tenant = await new_tenant(mailing_app, mailing_channel)
    form = replace(mailing, metadata=bearer(await _plain_key(mailing_app, tenant)))
    await _confirmed_purpose_with_notice(mailing, "held-no")
    to, address = target("held-no"), _address()
    person = types_pb2.SubjectIdentity(email=address)
    await record(mailing, person, refuse(to, notice_version=1))
    ask = consent_pb2.RecordConsentRequest(
        subject=person, choices=[grant(to, notice_version=1)], source=types_pb2.SOURCE_PORTAL
    )
    asked = await form.consent.RecordConsent(ask, metadata=form.metadata)
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    await _no_stands(mailing, mailing_channel, clock, (asked, address), consent_pb2.REASON_REFUSED)
    await _confirm(form, token_of((await mail[0].wait_for(address))[0]))
    assert (await check(mailing, by_email(address), to)).decision == ALLOW
    assert await _suppressed(mailing, mailing_channel, to) == []


@pytest.mark.parametrize("before", ["stop", "erasure"])
async def test_an_ask_not_confirmed_leaves_a_stop_or_an_erasure_standing(
    mailing_app: App,
    mailing_channel: grpc.aio.Channel,
    mail: tuple[Mailbox, int],
    clock: TestClock,
    before: str,
) -> None:
    """Probes DG, DI: the same after a withdrawal of every e-mail (a STOP, no fact of the ask's
    own target before it), and after an erasure (an ask in person makes the person anew): the
    ask answered DENY pending_confirmation and took them off the suppression list. The STOP or
    the erasure answers, and lists them, until their click."""
    mailing, tenant = await new_tenant(mailing_app, mailing_channel)
    form = replace(mailing, metadata=bearer(await _plain_key(mailing_app, tenant)))
    await _confirmed_purpose_with_notice(mailing, "held-stop")
    await put_purpose(mailing, "other")
    to, address = target("held-stop"), _address()
    person = types_pb2.SubjectIdentity(email=address)
    await record(mailing, person, grant(target("other")))
    if before == "stop":
        stop = consent_pb2.WithdrawConsentRequest(
            subject=by_email(address),
            all=True,
            channel=types_pb2.CHANNEL_EMAIL,
            source=types_pb2.SOURCE_PORTAL,
        )
        await mailing.consent.WithdrawConsent(stop, metadata=mailing.metadata)
        asking, reason = form, consent_pb2.REASON_WITHDRAWN
    else:
        await rights_pb2_grpc.RightsServiceStub(mailing_channel).EraseSubject(
            rights_pb2.EraseSubjectRequest(subject=by_email(address), actor="dpo"),
            metadata=mailing.metadata,
        )
        asking, reason = mailing, consent_pb2.REASON_ERASED  # only the person comes back
    ask = consent_pb2.RecordConsentRequest(
        subject=person, choices=[grant(to, notice_version=1)], source=types_pb2.SOURCE_PORTAL
    )
    asked = await asking.consent.RecordConsent(ask, metadata=asking.metadata)
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    await _no_stands(mailing, mailing_channel, clock, (asked, address), reason)
    await _confirm(form, token_of((await mail[0].wait_for(address, count=1))[-1]))
    assert (await check(mailing, by_email(address), to)).decision == ALLOW


async def test_the_message_names_a_channel_other_than_e_mail(
    mailing: Stubs, mail: tuple[Mailbox, int]
) -> None:
    """Probe DI: a grant asked for text messages was confirmed by a mail saying only
    "Newsletter", and the click lifted the person's SMS STOP: the mail names the channel."""
    await _confirmed_purpose(mailing, "sms-news")
    address = _address()
    person = types_pb2.SubjectIdentity(email=address, phone="+33612345670")
    sms = target("sms-news", types_pb2.CHANNEL_SMS)
    await record(mailing, person, grant(sms), grant(target("sms-news")))
    body = body_of((await mail[0].wait_for(address))[0])
    assert "Lettre d'information (par SMS), Lettre d'information." in body


async def test_an_ask_is_no_answer_to_an_earlier_holders_no(
    mailing_app: App, mailing_channel: grpc.aio.Channel, mail: tuple[Mailbox, int]
) -> None:
    """Probe DJ: the person refused in person, then their address was taken from them
    (RectifyContact); a CRM's ask made a new subject with it, PENDING, and the address left
    the suppression list, nobody clicking. Their "no" stays on it until the new holder's grant
    (contact-points.md rule 3): a system does not ask there at all (migration 0048: refused,
    nobody mailed), and an ask made in person answers nothing until it is confirmed."""
    mailing, tenant = await new_tenant(mailing_app, mailing_channel)
    crm = replace(mailing, metadata=bearer(await _plain_key(mailing_app, tenant)))
    await _confirmed_purpose_with_notice(mailing, "left-no")
    to, address, known = target("left-no"), _address(), f"crm-{uuid4().hex[:8]}"
    await record(mailing, types_pb2.SubjectIdentity(external_id=known, email=address), refuse(to))
    await rights_pb2_grpc.RightsServiceStub(mailing_channel).RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(external_id=known),
            kind=rights_pb2.CONTACT_KIND_EMAIL,
            remove=True,
            actor="support",
        ),
        metadata=mailing.metadata,
    )
    ask = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=address),
        choices=[grant(to, notice_version=1)],
        source=types_pb2.SOURCE_API,
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await crm.consent.RecordConsent(ask, metadata=crm.metadata)
    assert error_info(refused.value).reason == "STOP_IN_FORCE"
    ask.source = types_pb2.SOURCE_PORTAL  # the sign-up form of a server that vouches for it
    asked = await mailing.consent.RecordConsent(ask, metadata=mailing.metadata)
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    answer = await check(mailing, by_email(address), to)
    assert (answer.decision, answer.reason) == (DENY, consent_pb2.REASON_REFUSED)
    listed = await _suppressed(mailing, mailing_channel, to)
    assert [e.reason for m in listed for e in m.entries] == [consent_pb2.REASON_REFUSED]
    await _confirm(crm, token_of((await mail[0].wait_for(address))[0]))
    assert (await check(mailing, by_email(address), to)).decision == ALLOW


async def _no_stands(
    stubs: Stubs,
    channel: grpc.aio.Channel,
    clock: TestClock,
    asked: tuple[consent_pb2.RecordConsentResponse, str],
    reason: consent_pb2.Reason.ValueType,
) -> None:
    """The check of the ask's `address` and target answers DENY `reason`, and the address is
    listed for that reason, while the ask waits and once it lapsed."""
    response, address = asked
    to = response.events[0].target
    lapsed = response.events[0].valid_until.ToDatetime(UTC) + timedelta(seconds=1)
    for at in (None, lapsed):
        clock.pinned = at
        try:
            answer = await check(stubs, by_email(address), to)
            listed = await _suppressed(stubs, channel, to)
        finally:
            clock.pinned = None
        assert (answer.decision, answer.reason) == (DENY, reason)
        assert [e.reason for m in listed for e in m.entries] == [reason]


async def _plain_key(app: App, tenant: Tenant) -> str:
    """A plain write key of the tenant's (a form's server, a CRM: a system)."""
    admin = app.admin
    assert isinstance(admin, AdminUseCases)
    key, _ = await admin.issue_key(tenant.slug, [Scope.WRITE.value], name="a system")
    return key.token


async def test_a_systems_ask_is_not_the_persons_word(
    mailing_app: App, mailing_channel: grpc.aio.Channel, mail: tuple[Mailbox, int]
) -> None:
    """Probe CF: after the person's own "no", a system's double opt-in grant wrote a pending
    ask the person never answered, and from then on their "no" stood no more: the system's next
    import row, or its grant once the purpose no longer required confirmation, was ALLOW. The
    ask is not their word (the database's rule too: the import and the append read it); only
    their confirmation is."""
    stubs, tenant = await new_tenant(mailing_app, mailing_channel)
    form = replace(stubs, metadata=bearer(await _plain_key(mailing_app, tenant)))
    await _confirmed_purpose_with_notice(stubs, "asked")
    to, address = target("asked"), _address()
    person = types_pb2.SubjectIdentity(email=address)
    await record(stubs, person, grant(to, notice_version=1))
    await _confirm(stubs, token_of((await mail[0].wait_for(address))[0]))
    await withdraw(stubs, by_email(address), to)
    ask = consent_pb2.RecordConsentRequest(
        subject=person, choices=[grant(to, notice_version=1)], source=types_pb2.SOURCE_PORTAL
    )
    asked = await form.consent.RecordConsent(ask, metadata=form.metadata)
    assert [e.state for e in asked.events] == [types_pb2.CONSENT_STATE_PENDING]
    stands = sa.text("SELECT consentd_stop_stands(:t, :s, 'asked', 'email', 'first_party')")
    async with owner(mailing_app).connect() as conn:
        found = await conn.execute(stands, {"t": tenant.tenant_id, "s": asked.subject_id})
        assert found.scalar_one() is True
    plain = catalog_pb2.Purpose(
        purpose_id="asked", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT, notice_id="asked-notice"
    )
    await stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=plain), metadata=stubs.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await form.consent.RecordConsent(ask, metadata=form.metadata)
    assert error_info(refused.value).reason == "STOP_IN_FORCE"
    assert (await check(stubs, by_email(address), to)).decision == DENY
    # Their click on the ask is theirs: ALLOW.
    await _confirm(form, token_of((await mail[0].wait_for(address, count=2))[-1]))
    assert (await check(stubs, by_email(address), to)).decision == ALLOW


async def test_a_system_asks_over_the_persons_no_only_at_an_address_of_theirs(
    mailing_app: App, mailing_channel: grpc.aio.Channel, mail: tuple[Mailbox, int]
) -> None:
    """Probe CG: the person (known by external id) confirmed at their address, then withdrew in
    person; a CRM's record naming them with a mailbox it read was asked there, the CRM
    confirmed, and the person's "no" read ALLOW; probe CH: the same with the mailbox attached
    by one record and asked at by the next. Such an ask is refused (STOP_IN_FORCE) and mails
    nobody (probe DF: its link could lift nothing); asked at their own address, their click is
    theirs."""
    mailing, tenant = await new_tenant(mailing_app, mailing_channel)
    form = replace(mailing, metadata=bearer(await _plain_key(mailing_app, tenant)))
    await _confirmed_purpose_with_notice(mailing, "kept-no")
    to, own, other, third = target("kept-no"), _address(), _address(), _address()
    crm_id = f"crm-{uuid4().hex[:8]}"
    person = types_pb2.SubjectIdentity(external_id=crm_id, email=own)
    await record(mailing, person, grant(to, notice_version=1))
    await _confirm(mailing, token_of((await mail[0].wait_for(own))[0]))
    await withdraw(mailing, by_email(own), to)
    await put_purpose(mailing, "beside-no")
    attach = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=crm_id, email=third),
        choices=[refuse(target("beside-no"))],
        source=types_pb2.SOURCE_API,
    )
    await form.consent.RecordConsent(attach, metadata=form.metadata)
    for named in (types_pb2.SubjectIdentity(external_id=crm_id, email=other),
                  types_pb2.SubjectIdentity(email=third)):  # fmt: skip
        given = consent_pb2.RecordConsentRequest(
            subject=named, choices=[grant(to, notice_version=1)], source=types_pb2.SOURCE_PORTAL
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await form.consent.RecordConsent(given, metadata=form.metadata)
        assert error_info(refused.value).reason == "STOP_IN_FORCE"
    for address in (own, other, third):
        assert (await check(mailing, by_email(address), to)).decision == DENY
    again = consent_pb2.RecordConsentRequest(
        subject=person, choices=[grant(to, notice_version=1)], source=types_pb2.SOURCE_PORTAL
    )
    await form.consent.RecordConsent(again, metadata=form.metadata)
    await _confirm(form, token_of((await mail[0].wait_for(own, count=2))[-1]))
    assert (await check(mailing, by_email(own), to)).decision == ALLOW
    assert not [m for m in mail[0].messages if m["To"] in (other, third)]
