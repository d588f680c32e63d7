"""Unsubscribe links (peer comparison: every marketing message must carry a simple way to object,
CPCE L34-5, and bulk senders a one-click unsubscribe, RFC 8058; a withdrawal needed a key or a
portal token). A batch check gives each ALLOW answer a token; its link on the browser port asks
on GET, withdraws on POST (the page's button or a mail client's one-click), once."""

from __future__ import annotations

import asyncio
import base64
import socket
import struct
import urllib.error
import urllib.request
from typing import Any

import grpc
import pytest
from consent.v1 import campaign_pb2, campaign_pb2_grpc, consent_pb2, types_pb2

from consentd.app.unsubscribe import UnsubscribeLinks
from consentd.bootstrap import App
from consentd.domain.identifiers import normalise_email
from consentd.domain.model import Channel, Target
from consentd.domain.tenancy import Principal, Scope, Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    LEGITIMATE_INTEREST,
    by_email,
    check,
    grant,
    history,
    put_purpose,
    record,
)
from tests.e2e.helpers import target as make_target

NEWSLETTER = make_target("newsletter")
ONE_CLICK = b"List-Unsubscribe=One-Click"


def _call(url: str, body: bytes | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


async def _batch(channel: grpc.aio.Channel, stubs: Stubs, *emails: str) -> list[Any]:
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    request = campaign_pb2.BatchCheckConsentRequest(
        target=NEWSLETTER,
        recipients=[by_email(e) for e in emails],
        unsubscribe_links=True,
    )
    answer = await campaign.BatchCheckConsent(request, metadata=stubs.metadata)
    return list(answer.answers)


async def test_a_link_asks_on_get_and_withdraws_once_on_post(
    app: App, stubs: Stubs, channel: grpc.aio.Channel, http_port: int, tenant: Tenant
) -> None:
    await put_purpose(stubs, "newsletter")
    await record(stubs, types_pb2.SubjectIdentity(email="reader@example.fr"), grant(NEWSLETTER))
    await record(stubs, types_pb2.SubjectIdentity(email="other@example.fr"), grant(NEWSLETTER))
    answers = await _batch(channel, stubs, "reader@example.fr", "nobody@example.fr")
    token = answers[0].unsubscribe_token
    assert token.startswith("u1.")
    assert answers[0].unsubscribe_url == ""  # no CONSENTD_UNSUBSCRIBE_URL here
    assert (answers[1].decision, answers[1].unsubscribe_token) == (DENY, "")
    link = f"http://127.0.0.1:{http_port}/unsubscribe/{token}"

    status, page = await asyncio.to_thread(_call, link)
    assert (status, 'method="post"' in page) == (200, True)
    # The list it stops (its display name, else its id) on the link's channel (probe EA: the
    # page did not say "by e-mail", read as the list stopped everywhere); English marked.
    assert "Ne plus recevoir « newsletter » par e-mail ?" in page
    assert '<span lang="en">Stop receiving “newsletter” by e-mail?</span>' in page
    # Whose messages these are (a page naming no company looked like phishing; probe IC).
    assert f'Messages de {tenant.name} / <span lang="en">Messages from {tenant.name}' in page
    assert (await check(stubs, by_email("reader@example.fr"), NEWSLETTER)).decision == ALLOW

    status, page = await asyncio.to_thread(_call, link, ONE_CLICK)
    assert status == 200
    assert "Done: you will not receive “newsletter” by e-mail any more." in page
    withdrawn = await check(stubs, by_email("reader@example.fr"), NEWSLETTER)
    assert (withdrawn.decision, withdrawn.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    assert (await check(stubs, by_email("other@example.fr"), NEWSLETTER)).decision == ALLOW

    # Followed again (or prefetched by a scanner's POST): answered the same, nothing written.
    assert (await asyncio.to_thread(_call, link, ONE_CLICK))[0] == 200
    events = (await history(stubs, by_email("reader@example.fr"))).events
    (withdrawal,) = [e for e in events if e.state == types_pb2.CONSENT_STATE_WITHDRAWN]
    assert (withdrawal.source, withdrawal.actor) == (types_pb2.SOURCE_PORTAL, "unsubscribe link")


async def test_a_link_followed_after_a_systems_no_records_the_persons(
    stubs: Stubs, channel: grpc.aio.Channel, http_port: int
) -> None:
    """Probe CE: the CRM recorded its own refusal (bounce handling) after sending the mail;
    the person's click answered "already done" and wrote nothing, so their "no" was never in
    person and the CRM's next grant was taken: ALLOW. The person's withdrawal is recorded over
    a system's "no", and the CRM's grant is refused after it; a second click writes nothing."""
    await put_purpose(stubs, "newsletter")
    email = "bounced@example.fr"
    crm = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=email),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
    )
    await stubs.consent.RecordConsent(crm, metadata=stubs.metadata)
    (answer,) = await _batch(channel, stubs, email)
    link = f"http://127.0.0.1:{http_port}/unsubscribe/{answer.unsubscribe_token}"
    bounce = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=email),
        choices=[
            consent_pb2.ConsentChoice(target=NEWSLETTER, state=types_pb2.CONSENT_STATE_REFUSED)
        ],
        source=types_pb2.SOURCE_API,
    )
    await stubs.consent.RecordConsent(bounce, metadata=stubs.metadata)
    for _ in range(2):
        assert (await asyncio.to_thread(_call, link, ONE_CLICK))[0] == 200
    events = (await history(stubs, by_email(email))).events
    mine = [e for e in events if e.source == types_pb2.SOURCE_PORTAL]
    assert [e.state for e in mine] == [types_pb2.CONSENT_STATE_WITHDRAWN]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs.consent.RecordConsent(crm, metadata=stubs.metadata)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == DENY


async def test_a_tampered_or_foreign_token_withdraws_nothing(
    app: App, stubs: Stubs, channel: grpc.aio.Channel, http_port: int, tenant: Tenant
) -> None:
    await put_purpose(stubs, "newsletter")
    await record(stubs, types_pb2.SubjectIdentity(email="kept@example.fr"), grant(NEWSLETTER))
    (answer,) = await _batch(channel, stubs, "kept@example.fr")
    token = answer.unsubscribe_token
    base = f"http://127.0.0.1:{http_port}/unsubscribe/"
    subject = app.unsubscribes.links.opened(token)
    assert subject is not None
    sms = Target("newsletter", Channel.SMS, subject.target.scope)
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BA"),  # another MAC
        token.replace("u1.", "u2.", 1),
        "u1..",
        token + "." + token,
        "x" * 400,
        # The same subject and target under another key: another deployment's token.
        UnsubscribeLinks(b"k" * 32).token(tenant.tenant_id, subject.subject, subject.target),
        # A genuine token for a target that is not this one is another token, not this one.
        UnsubscribeLinks(b"k" * 32).token(tenant.tenant_id, subject.subject, sms),
    ]
    for bad in forged:
        status, said = await asyncio.to_thread(_call, base + bad)
        assert status == 404, bad
        # Its window says so, not the form's title (probe ZD: every state had one title).
        assert "<title>Lien non valable – Désabonnement / Link not valid" in said
        assert (await asyncio.to_thread(_call, base + bad, ONE_CLICK))[0] == 404, bad
    assert (await check(stubs, by_email("kept@example.fr"), NEWSLETTER)).decision == ALLOW


async def test_a_stream_asked_in_its_first_message_carries_the_links(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    await put_purpose(stubs, "newsletter")
    await record(stubs, types_pb2.SubjectIdentity(email="streamed@example.fr"), grant(NEWSLETTER))
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    first = campaign_pb2.StreamCheckConsentRequest(
        target=NEWSLETTER, recipients=[by_email("streamed@example.fr")], unsubscribe_links=True
    )
    second = campaign_pb2.StreamCheckConsentRequest(recipients=[by_email("nobody@example.fr")])
    answers = [a async for r in campaign.StreamCheckConsent(iter([first, second]),
               metadata=stubs.metadata) for a in r.answers]  # fmt: skip
    assert [bool(a.unsubscribe_token) for a in answers] == [True, False]
    late = campaign_pb2.StreamCheckConsentRequest(unsubscribe_links=True)
    call = campaign.StreamCheckConsent(iter([first, late]), metadata=stubs.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in call:
            pass
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith("unsubscribe_links: only the first message")


async def test_a_link_followed_during_a_restriction_is_recorded(
    app: App, stubs: Stubs, channel: grpc.aio.Channel, http_port: int, tenant: Tenant
) -> None:
    """Probe AI: followed while the person's processing was restricted, the link said "Done"
    and wrote nothing (the check was DENY restricted): once the restriction was lifted the
    grant counted again. Only a "no" already standing is left as it is."""
    await put_purpose(stubs, "newsletter")
    email = "restricted@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    (answer,) = await _batch(channel, stubs, email)
    dpo = Principal(tenant=tenant, caller="dpo", scopes=frozenset({Scope.ADMIN}))
    await app.rights.restrict(dpo, normalise_email(email))
    link = f"http://127.0.0.1:{http_port}/unsubscribe/{answer.unsubscribe_token}"
    assert (await asyncio.to_thread(_call, link, ONE_CLICK))[0] == 200
    await app.rights.restrict(dpo, normalise_email(email), lift=True)
    withdrawn = await check(stubs, by_email(email), NEWSLETTER)
    assert (withdrawn.decision, withdrawn.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)


async def test_one_link_followed_many_times_at_once_withdraws_once(
    stubs: Stubs, channel: grpc.aio.Channel, http_port: int
) -> None:
    """Probe AI: 20 POSTs of one link at once (a mail client and its scanner) wrote 20
    withdrawals; and each token has one spelling."""
    await put_purpose(stubs, "newsletter")
    await record(stubs, types_pb2.SubjectIdentity(email="eager@example.fr"), grant(NEWSLETTER))
    (answer,) = await _batch(channel, stubs, "eager@example.fr")
    link = f"http://127.0.0.1:{http_port}/unsubscribe/{answer.unsubscribe_token}"
    padded = await asyncio.to_thread(_call, link + "==")
    assert padded[0] == 404
    answers = await asyncio.gather(*(asyncio.to_thread(_call, link, ONE_CLICK) for _ in range(20)))
    assert {status for status, _ in answers} == {200}
    events = (await history(stubs, by_email("eager@example.fr"))).events
    assert [e.state for e in events].count(types_pb2.CONSENT_STATE_WITHDRAWN) == 1


async def test_two_links_of_one_person_at_once_withdraw_each_once(
    stubs: Stubs, channel: grpc.aio.Channel, http_port: int
) -> None:
    """Probe AK: the per-person lock was dropped while others waited on it, so 60 POSTs of
    a person's two links wrote 2-3 withdrawals of one target."""
    offers = make_target("offers")
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    identity = types_pb2.SubjectIdentity(email="twice@example.fr")
    await record(stubs, identity, grant(NEWSLETTER), grant(offers))
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    links = []
    for target in (NEWSLETTER, offers):
        request = campaign_pb2.BatchCheckConsentRequest(
            target=target, recipients=[by_email("twice@example.fr")], unsubscribe_links=True
        )
        (answer,) = (await campaign.BatchCheckConsent(request, metadata=stubs.metadata)).answers
        links.append(f"http://127.0.0.1:{http_port}/unsubscribe/{answer.unsubscribe_token}")
    await asyncio.gather(*(asyncio.to_thread(_call, links[i % 2], ONE_CLICK) for i in range(40)))
    events = (await history(stubs, by_email("twice@example.fr"))).events
    withdrawn = [e.target.purpose for e in events if e.state == types_pb2.CONSENT_STATE_WITHDRAWN]
    assert sorted(withdrawn) == ["newsletter", "offers"]


async def test_a_link_of_a_person_restricted_then_erased_is_done_not_unavailable(
    app: App, stubs: Stubs, channel: grpc.aio.Channel, http_port: int, tenant: Tenant
) -> None:
    """Probe AK: by id the check said restricted, the withdrawal was refused by the database
    (erased), and every POST answered 503 "try again" for ever."""
    await put_purpose(stubs, "newsletter")
    email = "gone@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    (answer,) = await _batch(channel, stubs, email)
    dpo = Principal(tenant=tenant, caller="dpo", scopes=frozenset({Scope.ADMIN}))
    await app.rights.restrict(dpo, normalise_email(email))
    await app.rights.erase(dpo, normalise_email(email), "dpo")
    link = f"http://127.0.0.1:{http_port}/unsubscribe/{answer.unsubscribe_token}"
    assert [(await asyncio.to_thread(_call, link, ONE_CLICK))[0] for _ in "ab"] == [200, 200]


async def test_the_page_also_stops_the_whole_channel_once(
    stubs: Stubs, channel: grpc.aio.Channel, http_port: int
) -> None:
    """Beside "unsubscribe from this list", the page offers "nothing more by e-mail" (every
    ESP's "unsubscribe from all"; probe BF): every purpose on the link's channel withdrawn, those
    added later too, other channels untouched; followed again it writes nothing more. A mail
    client's one-click POST stays the link's own list."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    sms = make_target("offers", types_pb2.CHANNEL_SMS)
    person = types_pb2.SubjectIdentity(email="all-mail@example.fr")
    await record(stubs, person, grant(NEWSLETTER), grant(make_target("offers")), grant(sms))
    (answer,) = await _batch(channel, stubs, "all-mail@example.fr")
    link = f"http://127.0.0.1:{http_port}/unsubscribe/{answer.unsubscribe_token}"
    status, page = await asyncio.to_thread(_call, link)
    assert (status, 'Plus rien par e-mail / <span lang="en">Nothing more by e-mail' in page) == (
        200,
        True,
    )

    # A form however spelt (probe BG: these stopped only the link's purpose).
    status, page = await asyncio.to_thread(_call, link, b"STOP=Chan%6Eel%0D%0A")
    assert (status, "nothing more by e-mail" in page) == (200, True)
    await put_purpose(stubs, "later")
    answers = [
        (await check(stubs, by_email("all-mail@example.fr"), t)).decision
        for t in (NEWSLETTER, make_target("offers"), make_target("later"), sms)
    ]
    assert answers == [DENY, DENY, DENY, ALLOW]
    before = len((await history(stubs, by_email("all-mail@example.fr"))).events)
    assert (await asyncio.to_thread(_call, link, b"stop=channel"))[0] == 200
    assert len((await history(stubs, by_email("all-mail@example.fr"))).events) == before


async def test_a_prospect_nobody_recorded_gets_a_link_that_keeps_their_no(
    stubs: Stubs, channel: grpc.aio.Channel, http_port: int
) -> None:
    """A prospect's address nobody has recorded is ALLOW under legitimate interest, and came
    without an unsubscribe link (probe BF), though every message must offer one (CPCE L34-5).
    Its link seals the address (never readable in the URL); followed, it records the objection
    for that address (a subject made, as WithdrawConsent does), once. The stream gives it too."""
    await put_purpose(stubs, "prospecting", LEGITIMATE_INTEREST)
    prospecting = make_target("prospecting")
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    request = campaign_pb2.BatchCheckConsentRequest(
        target=prospecting, recipients=[by_email("Prospect@BigCorp.fr")], unsubscribe_links=True
    )
    (answer,) = (await campaign.BatchCheckConsent(request, metadata=stubs.metadata)).answers
    assert (answer.decision, answer.subject_id) == (ALLOW, "")
    token = answer.unsubscribe_token
    assert token.startswith("u2.")
    raw = base64.urlsafe_b64decode(token[3:] + "=" * (-len(token[3:]) % 4))
    assert b"prospect" not in raw.lower()
    stream = campaign_pb2.StreamCheckConsentRequest(
        target=prospecting, recipients=[by_email("prospect@bigcorp.fr")], unsubscribe_links=True
    )
    streamed = [a async for r in campaign.StreamCheckConsent(iter([stream]),
                metadata=stubs.metadata) for a in r.answers]  # fmt: skip
    assert streamed[0].unsubscribe_token.startswith("u2.")

    link = f"http://127.0.0.1:{http_port}/unsubscribe/{token}"
    status, page = await asyncio.to_thread(_call, link)
    assert (status, "« prospecting »" in page) == (200, True)
    tampered = link[:-2] + ("A" if link[-2] != "A" else "B") + link[-1]
    assert (await asyncio.to_thread(_call, tampered, ONE_CLICK))[0] == 404
    assert (await asyncio.to_thread(_call, link, ONE_CLICK))[0] == 200
    denied = await check(stubs, by_email("prospect@bigcorp.fr"), prospecting)
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_OBJECTED)
    assert (await asyncio.to_thread(_call, link, ONE_CLICK))[0] == 200
    events = (await history(stubs, by_email("prospect@bigcorp.fr"))).events
    assert [(e.state, e.actor) for e in events] == [
        (types_pb2.CONSENT_STATE_WITHDRAWN, "unsubscribe link")
    ]


def _post_without_body(port: int, path: str, length: int = 10) -> bytes:
    """A POST saying Content-Length: `length` whose body never comes; what the server answers
    within 5 s (b"" when it waits)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" % (path.encode(), length)
        )
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


async def test_a_link_this_service_did_not_make_is_refused_before_its_body(http_port: int) -> None:
    """Probe BQ: a POST of a made-up link with a Content-Length and no body waited 30 s and
    got 408; the API's routes refuse a bad credential at once. The link is read first."""
    answer = await asyncio.to_thread(_post_without_body, http_port, "/unsubscribe/u1.x.y")
    assert answer.startswith(b"HTTP/1.1 404 "), answer


async def test_a_link_posted_with_a_body_no_form_has_withdraws_at_once(
    stubs: Stubs, channel: grpc.aio.Channel, http_port: int
) -> None:
    """Probe CE: a real link POSTed declaring a 1 GB body that never came was held 30 s, then
    408 (its token is in every mail). No form of ours is that large: the link's own purpose
    is withdrawn at once (the minimal "no"), and the connection closed."""
    await put_purpose(stubs, "newsletter")
    await record(stubs, types_pb2.SubjectIdentity(email="huge@example.fr"), grant(NEWSLETTER))
    (answer,) = await _batch(channel, stubs, "huge@example.fr")
    path = f"/unsubscribe/{answer.unsubscribe_token}"
    head = await asyncio.to_thread(_post_without_body, http_port, path, 10**9)
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"connection: close" in head.lower(), head
    withdrawn = await check(stubs, by_email("huge@example.fr"), NEWSLETTER)
    assert (withdrawn.decision, withdrawn.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)


def _form_post(path: str, part: bytes, length: int) -> bytes:
    """A form's POST saying Content-Length: `length`, with `part` of its body."""
    return (
        b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n%s" % (path.encode(), length, part)
    )


def _post_cut_off(port: int, path: str, part: bytes, length: int) -> None:
    """A POST saying Content-Length: `length` that sends `part` of its body, then hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(_form_post(path, part, length))


async def test_a_form_cut_off_withdraws_nothing(
    stubs: Stubs, channel: grpc.aio.Channel, http_port: int
) -> None:
    """Probe DD: a POST whose form stopped at `stop=chan` (12 bytes declared) was answered 408,
    or its client was gone, and the link's purpose was withdrawn all the same: read as the
    first button, when the person pressed the second. A form cut off is no form: nothing is
    written and the link stays good; the whole form then stops the channel."""
    offers, person = make_target("offers"), types_pb2.SubjectIdentity(email="cut@example.fr")
    for purpose in ("newsletter", "offers"):
        await put_purpose(stubs, purpose)
    await record(stubs, person, grant(NEWSLETTER), grant(offers))
    (answer,) = await _batch(channel, stubs, "cut@example.fr")
    path = f"/unsubscribe/{answer.unsubscribe_token}"
    await asyncio.to_thread(_post_cut_off, http_port, path, b"stop=chan", 12)
    await asyncio.sleep(1)
    for to in (NEWSLETTER, offers):
        assert (await check(stubs, by_email("cut@example.fr"), to)).decision == ALLOW
    link = f"http://127.0.0.1:{http_port}{path}"
    assert (await asyncio.to_thread(_call, link, b"stop=channel"))[0] == 200
    for to in (NEWSLETTER, offers):
        assert (await check(stubs, by_email("cut@example.fr"), to)).decision == DENY


def _post_then_reset(port: int, path: str, body: bytes) -> None:
    """A POST sent whole, then the connection reset at once (SO_LINGER 0)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(_form_post(path, body, len(body)))
    sock.close()


async def test_a_whole_form_then_a_reset_still_withdraws(
    stubs: Stubs, channel: grpc.aio.Channel, http_port: int
) -> None:
    """Probe DK: a form that arrived whole, the connection reset right after (a proxy aborting
    its upstream, a mail client's SO_LINGER 0), was taken as cut off and the click was lost."""
    offers, person = make_target("offers"), types_pb2.SubjectIdentity(email="reset@example.fr")
    for purpose in ("newsletter", "offers"):
        await put_purpose(stubs, purpose)
    await record(stubs, person, grant(NEWSLETTER), grant(offers))
    (answer,) = await _batch(channel, stubs, "reset@example.fr")
    path = f"/unsubscribe/{answer.unsubscribe_token}"
    await asyncio.to_thread(_post_then_reset, http_port, path, b"stop=channel")
    for _ in range(50):
        if (await check(stubs, by_email("reset@example.fr"), offers)).decision == DENY:
            break
        await asyncio.sleep(0.1)
    for to in (NEWSLETTER, offers):
        assert (await check(stubs, by_email("reset@example.fr"), to)).decision == DENY


def _post_smuggled(port: int, path: str) -> bytes:
    """A whole form whose head says both Content-Length and Transfer-Encoding; the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nc\r\nstop=channel\r\n0\r\n\r\n" % path.encode()
        )
        return sock.recv(65536)


async def test_a_request_refused_400_withdraws_nothing(
    stubs: Stubs, channel: grpc.aio.Channel, http_port: int
) -> None:
    """Probe DL: a form refused 400 (both Content-Length and Transfer-Encoding: a proxy in
    front may read another request into it) was carried out all the same, its body in hand."""
    person = types_pb2.SubjectIdentity(email="smuggled@example.fr")
    await put_purpose(stubs, "newsletter")
    await record(stubs, person, grant(NEWSLETTER))
    (answer,) = await _batch(channel, stubs, "smuggled@example.fr")
    path = f"/unsubscribe/{answer.unsubscribe_token}"
    head = await asyncio.to_thread(_post_smuggled, http_port, path)
    assert head.startswith(b"HTTP/1.1 400 "), head
    await asyncio.sleep(0.5)
    assert (await check(stubs, by_email("smuggled@example.fr"), NEWSLETTER)).decision == ALLOW
