"""Preference links: a campaign's check answers carry, for each ALLOW recipient named by a
contact point or an external id, a token that acts for that person as a portal token does
(subject:self) until it expires; nobody can make one for someone else, change its person or
stretch its time, and `consentd preference-link` makes one for a message of the tenant's own."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import grpc
import pytest
from consent.v1 import campaign_pb2, campaign_pb2_grpc, rights_pb2, rights_pb2_grpc, types_pb2

from consentd.app.admin import AdminUseCases
from consentd.app.preference_links import PreferenceLinks
from consentd.bootstrap import App
from consentd.domain.identifiers import normalise, normalise_email, normalise_external_id
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs, TestClock, bearer, command_env
from tests.e2e.helpers import (
    ALLOW,
    by_email,
    by_id,
    current,
    grant,
    put_purpose,
    record,
    target,
    withdraw,
)
from tests.e2e.security_helpers import fails, logged_payloads
from tests.e2e.test_browser_wire import _send
from tests.e2e.test_import_consents import _consentd

NEWSLETTER = target("newsletter")
JEANNE = "Jeanne.Links@Example.fr"  # as a campaign names her: the link holds it normalised


async def _answers(
    channel: grpc.aio.Channel, stubs: Stubs, *recipients: types_pb2.SubjectRef
) -> list[campaign_pb2.CheckAnswer]:
    request = campaign_pb2.BatchCheckConsentRequest(
        target=NEWSLETTER, recipients=recipients, preference_links=True
    )
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    return list((await campaign.BatchCheckConsent(request, metadata=stubs.metadata)).answers)


async def _jeanne(stubs: Stubs) -> str:
    """Jeanne, known by her e-mail address alone, granted the newsletter: her subject id."""
    await put_purpose(stubs, "newsletter")
    written = await record(stubs, types_pb2.SubjectIdentity(email=JEANNE), grant(NEWSLETTER))
    return written.subject_id


async def test_an_allow_answer_carries_a_link_acting_for_its_person_alone(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """The link reads and withdraws the person's consents, files their request, and nobody
    else's; a recipient named by subject id, or answered DENY, gets none."""
    jeanne_id = await _jeanne(stubs)
    paul = types_pb2.SubjectIdentity(email="paul.links@example.fr")
    paul_id = (await record(stubs, paul, grant(NEWSLETTER))).subject_id
    answers = await _answers(
        channel, stubs, by_email(JEANNE), by_id(paul_id), by_email("nobody@example.fr")
    )
    token = answers[0].preference_token
    assert token.startswith("p1.")
    assert answers[0].preference_url == ""  # no CONSENTD_PREFERENCES_URL: the token alone
    assert [a.preference_token for a in answers[1:]] == ["", ""]  # by subject id; DENY
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert (claims["kind"], claims["sub"]) == ("email", "jeanne.links@example.fr")
    link = replace(stubs, metadata=bearer(token))
    for ref in (by_email(JEANNE), by_id(jeanne_id)):
        assert (await current(link, ref)).subject_id == jeanne_id
    denied = await fails(current(link, by_id(paul_id)))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    denied = await fails(withdraw(link, by_email("paul.links@example.fr"), NEWSLETTER))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    # Her own grant, as the page records it (named as the link names her); then withdrawn.
    again = await record(link, types_pb2.SubjectIdentity(email=JEANNE), grant(target("newsletter")))
    assert again.subject_id == jeanne_id
    withdrawn = await withdraw(link, by_email(JEANNE), NEWSLETTER)
    assert withdrawn.events[0].source == types_pb2.SOURCE_PORTAL
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    filed = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_PORT, subject=by_email(JEANNE)
        ),
        metadata=link.metadata,
    )
    assert filed.request.state == rights_pb2.RIGHTS_REQUEST_STATE_IDENTITY_VERIFIED
    # A link may not change the catalogue or check anyone: subject:self only.
    refused = await fails(_answers(channel, link, by_email(JEANNE)))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


def _forged(token: str, **claims: object) -> str:
    """The token with its claims changed, its mac kept."""
    _, payload, mac = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    changed = base64.urlsafe_b64encode(json.dumps({**body, **claims}).encode()).rstrip(b"=")
    return f"p1.{changed.decode()}.{mac}"


async def test_a_link_changed_expired_or_of_another_secret_is_unauthenticated(
    app: App, tenant: Tenant, stubs: Stubs, clock: TestClock
) -> None:
    await _jeanne(stubs)
    links = app.preference_links
    jeanne = normalise_email(JEANNE)
    token, expires = links.token(tenant.tenant_id, jeanne)
    assert expires - clock() <= timedelta(days=7)
    other_secret = PreferenceLinks(b"x" * 32, clock).token(tenant.tenant_id, jeanne)[0]
    expired = links.token(tenant.tenant_id, jeanne, timedelta(seconds=-1))[0]
    _, payload, mac = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # The mac's last character holds 2 unused bits: its neighbour decodes to the same bytes.
    same_bytes = mac[:-1] + alphabet[alphabet.index(mac[-1]) ^ 1]
    for bad in (
        f"p1.{payload}.{same_bytes}",  # one spelling per link (probe LA)
        f"p1.{payload}.{mac.replace('-', '+').replace('_', '/')}" if set(mac) & set("-_") else "x",
        _forged(token, sub="paul.links@example.fr"),
        _forged(token, exp=4_000_000_000),
        _forged(token, tid="00000000-0000-0000-0000-000000000001"),
        f"p1.{payload}.{mac[:-2]}",
        f"p1.{payload}.{mac}!",
        f"p1.{payload}.{mac[:5]}*{mac[6:]}",  # a character base64url has not: not skipped
        other_secret,
        expired,
        "p1." + "A" * 2000,
    ):
        refused = await fails(current(replace(stubs, metadata=bearer(bad)), by_email(JEANNE)))
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED, bad
    assert (await current(replace(stubs, metadata=bearer(token)), by_email(JEANNE))).consents


async def test_a_link_of_a_person_erased_is_not_found(
    channel: grpc.aio.Channel,
    stubs: Stubs,
    app: App,
    tenant: Tenant,
) -> None:
    """The person's erasure ends what their links can do, and a link made before it does not
    act for whoever holds the address next, at once (a link is read at each call: trusted 5 s
    as a key is, it acted for the new holder meanwhile; probe WA)."""
    await _jeanne(stubs)
    token = app.preference_links.token(tenant.tenant_id, normalise_email(JEANNE))[0]
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    request = rights_pb2.EraseSubjectRequest(subject=by_email(JEANNE), actor="dpo")
    await rights.EraseSubject(request, metadata=stubs.metadata)
    gone = await fails(current(replace(stubs, metadata=bearer(token)), by_email(JEANNE)))
    assert gone.code() == grpc.StatusCode.NOT_FOUND
    # Probe TC: once someone holds the address again, the link made before the erasure acted
    # for them (their consents, their export). Refused: the address changed hands since.
    await _jeanne(stubs)
    assert (await current(stubs, by_email(JEANNE))).consents
    taken = await fails(current(replace(stubs, metadata=bearer(token)), by_email(JEANNE)))
    assert taken.code() == grpc.StatusCode.UNAUTHENTICATED
    fresh = app.preference_links.token(tenant.tenant_id, normalise_email(JEANNE))[0]
    assert (await current(replace(stubs, metadata=bearer(fresh)), by_email(JEANNE))).consents


async def test_a_link_stays_its_persons_when_their_address_comes_back_to_them(
    channel: grpc.aio.Channel, stubs: Stubs, app: App, tenant: Tenant
) -> None:
    """Probe UA: a person rectified away from their address and back to it (a typo fixed, then
    undone) lost their link: an ended holding revoked it whoever held the address since. Only
    another's holding revokes it."""
    subject_id = await _jeanne(stubs)
    token = app.preference_links.token(tenant.tenant_id, normalise_email(JEANNE))[0]
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    for address in ("jeanne.typo@example.fr", JEANNE):
        await rights.RectifyContact(
            rights_pb2.RectifyContactRequest(
                subject=by_id(subject_id),
                kind=rights_pb2.CONTACT_KIND_EMAIL,
                value=address,
                actor="support",
            ),
            metadata=stubs.metadata,
        )
    assert (await current(replace(stubs, metadata=bearer(token)), by_email(JEANNE))).consents


async def test_the_command_prints_a_link_for_one_person(
    database_url: str, owner_url: str, tenant: Tenant, stubs: Stubs
) -> None:
    await _jeanne(stubs)
    env = command_env(database_url, owner_url)
    made = await _consentd(env, "preference-link", tenant.slug, "--email", JEANNE, "--days", "1")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("p1.")
    assert "valid until" in made.stderr
    assert "CONSENTD_PREFERENCES_URL" in made.stderr
    link = replace(stubs, metadata=bearer(token))
    assert (await current(link, by_email(JEANNE))).consents
    with_url = {
        **env,
        "CONSENTD_PREFERENCES_URL": "https://consent.example.fr/preferences/#token={token}",
    }
    made = await _consentd(with_url, "preference-link", tenant.slug, "--email", JEANNE)
    assert made.stdout.startswith("https://consent.example.fr/preferences/#token=p1."), made
    too_long = await _consentd(
        env, "preference-link", tenant.slug, "--email", JEANNE, "--days", "31"
    )
    assert too_long.returncode == 2
    # Nobody on record by that address (probe NA: the link made them, with a grant).
    nobody = await _consentd(env, "preference-link", tenant.slug, "--email", "nobody@example.fr")
    assert (nobody.returncode, nobody.stdout) == (1, ""), nobody
    assert "no person of tenant" in nobody.stderr
    bad = await _consentd(env, "preference-link", tenant.slug, "--email", "not an address")
    assert bad.returncode != 0
    assert "--email" in bad.stderr
    assert "not an address" not in bad.stderr + bad.stdout  # never the value


async def test_a_stream_asked_in_its_first_message_carries_the_links(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    await _jeanne(stubs)
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    first = campaign_pb2.StreamCheckConsentRequest(
        target=NEWSLETTER, recipients=[by_email(JEANNE)], preference_links=True
    )
    second = campaign_pb2.StreamCheckConsentRequest(recipients=[by_email(JEANNE)])
    answers = [a async for r in campaign.StreamCheckConsent(iter([first, second]),
               metadata=stubs.metadata) for a in r.answers]  # fmt: skip
    assert [a.preference_token[:3] for a in answers] == ["p1.", "p1."]
    assert [a.unsubscribe_token for a in answers] == ["", ""]  # not asked
    late = campaign_pb2.StreamCheckConsentRequest(preference_links=True)
    call = campaign.StreamCheckConsent(iter([first, late]), metadata=stubs.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in call:
            pass
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith("preference_links: only the first message")


async def test_only_a_key_that_speaks_for_people_gets_links_and_only_for_now(
    channel: grpc.aio.Channel, app: App, admin: AdminUseCases, tenant: Tenant, stubs: Stubs
) -> None:
    """Probe LA: a consent:check key got links, which read the person's history and export
    and recorded grants in their name (lifting their own withdrawal); an `as_of` before an
    objection gave a fresh link whose grant lifted it; a prospect nobody recorded got a link
    that made them, with a grant. A link acts as its person: consent:attest or admin only,
    answers of now only, known people only."""
    jeanne_id = await _jeanne(stubs)
    check, _ = await admin.issue_key(tenant.slug, [Scope.CHECK.value], name="checks")
    refused = await fails(
        _answers(channel, replace(stubs, metadata=bearer(check.token)), by_email(JEANNE))
    )
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "consent:attest" in str(refused.details())
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    past = campaign_pb2.BatchCheckConsentRequest(
        target=NEWSLETTER, recipients=[by_email(JEANNE)], preference_links=True
    )
    past.as_of.FromSeconds(int(time.time()) - 60)
    refused = await fails(campaign.BatchCheckConsent(past, metadata=stubs.metadata))
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(refused.details()).startswith("preference_links: is for answers of now")
    # A legitimate interest: a prospect nobody recorded is ALLOW, and gets no link.
    await put_purpose(stubs, "service-news", basis=types_pb2.LAWFUL_BASIS_LEGITIMATE_INTEREST)
    interest = campaign_pb2.BatchCheckConsentRequest(
        target=target("service-news"),
        recipients=[by_email("prospect.links@example.fr"), by_email(JEANNE)],
        preference_links=True,
    )
    answers = (await campaign.BatchCheckConsent(interest, metadata=stubs.metadata)).answers
    assert [a.decision for a in answers] == [ALLOW] * 2
    assert [bool(a.preference_token) for a in answers] == [False, True]
    # The link's caller in the audit log is keyed: no hash of the address to search.
    link = replace(stubs, metadata=bearer(answers[1].preference_token))
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    export = rights_pb2.ExportSubjectRequest(subject=by_id(jeanne_id))
    await rights.ExportSubject(export, metadata=link.metadata)
    plain = hashlib.sha256(f"email:{JEANNE.lower()}".encode()).hexdigest()[:16]
    (payload,) = await logged_payloads(app, tenant, "subject.exported")
    assert payload["by"].startswith("link:")
    assert payload["by"] != f"link:{plain}"


async def test_a_list_is_checked_over_connect_json_with_its_links(
    http_port: int, admin: AdminUseCases, tenant: Tenant, stubs: Stubs
) -> None:
    """A server that does not speak gRPC (an e-mail service, an integration platform) checks a
    list over Connect JSON with a consent:check key: one call, answers in order, with the
    links asked (it could only call CheckConsent once per recipient; probe KC). A page key is
    refused, as on the gRPC port; the streams stay on the gRPC port."""
    await _jeanne(stubs)
    scopes = [Scope.CHECK.value, Scope.ATTEST.value]  # links act as the person: attest
    key, _ = await admin.issue_key(tenant.slug, scopes, name="esp")
    body = {
        "target": {
            "purpose": "newsletter",
            "channel": "CHANNEL_EMAIL",
            "scope": "PARTY_SCOPE_FIRST_PARTY",
        },
        "recipients": [{"email": JEANNE}, {"email": "nobody@example.fr"}, {"email": "bad"}],
        "preferenceLinks": True,
        "unsubscribeLinks": True,
    }
    status, answer = await _connect(http_port, "BatchCheckConsent", body, key.token)
    assert status == 200, answer
    first, second, third = answer["answers"]
    assert (first["decision"], second["decision"]) == ("DECISION_ALLOW", "DECISION_DENY")
    assert first["preferenceToken"].startswith("p1.")
    assert first["unsubscribeToken"].startswith("u1.")
    assert "error" in third
    page, _ = await admin.issue_key(tenant.slug, [Scope.COOKIES.value], name="page")
    status, refused = await _connect(http_port, "BatchCheckConsent", body, page.token)
    assert (status, refused["code"]) == (403, "permission_denied"), refused
    status, hashed = await _connect(
        http_port, "HashContactPoints", {"contactPoints": [{"email": JEANNE}]}, key.token
    )
    assert status == 200, hashed
    status, summary = await _connect(http_port, "SummarizeConsents", {}, key.token)
    assert (status, summary["tallies"][0]["subjects"]) == (200, "1"), summary
    status, streamed = await _connect(http_port, "StreamCheckConsent", body, key.token)
    assert (status, streamed["code"]) == (501, "unimplemented"), streamed


async def _connect(port: int, method: str, body: object, key: str) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{port}/consent.v1.CampaignService/{method}"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    status, _, answer = await asyncio.to_thread(
        _send, url, json.dumps(body).encode(), headers, "POST"
    )
    return status, json.loads(answer)


async def test_the_command_revokes_a_persons_links_made_so_far(
    database_url: str, owner_url: str, app: App, tenant: Tenant, stubs: Stubs
) -> None:
    """A link forwarded, or kept by a mail gateway, acted for its person until it expired:
    `--revoke` refuses the person's links made until then (UNAUTHENTICATED), whatever
    identifier they name them by (probe SB: the phone's and external id's links of one person
    went on), audited with the subject and the links' caller names (never the address); a
    link made after works, another person's too."""
    await put_purpose(stubs, "newsletter")
    jeanne = types_pb2.SubjectIdentity(email=JEANNE, phone="+33612345678", external_id="crm-j")
    await record(stubs, jeanne, grant(NEWSLETTER))
    await record(stubs, types_pb2.SubjectIdentity(email="paul.links@example.fr"), grant(NEWSLETTER))
    links = app.preference_links
    # Not used before the revocation: a credential found valid is trusted 5 s (app/auth.py).
    identities = [
        normalise_email(JEANNE),
        normalise("phone", "+33612345678", "FR", "phone"),
        normalise_external_id("crm-j"),
    ]
    before = [links.token(tenant.tenant_id, who)[0] for who in identities]
    paul = links.token(tenant.tenant_id, normalise_email("paul.links@example.fr"))[0]
    env = command_env(database_url, owner_url)
    revoked = await _consentd(env, "preference-link", tenant.slug, "--email", JEANNE, "--revoke")
    assert revoked.returncode == 0, revoked.stderr
    assert "of this person, by any identifier," in revoked.stdout
    assert JEANNE.lower() not in revoked.stdout.lower()
    for token in before:
        refused = await fails(current(replace(stubs, metadata=bearer(token)), by_email(JEANNE)))
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
    after = links.token(tenant.tenant_id, normalise_email(JEANNE))[0]
    assert (await current(replace(stubs, metadata=bearer(after)), by_email(JEANNE))).consents
    other = replace(stubs, metadata=bearer(paul))
    assert (await current(other, by_email("paul.links@example.fr"))).consents
    entries = await logged_payloads(app, tenant, "preference_link.revoked")
    assert len(entries) == 1
    assert entries[0]["callers"][0] == links.caller(normalise_email(JEANNE))
    assert entries[0]["callers"][1].startswith("subject:")
    assert JEANNE.lower() not in json.dumps(entries)


async def test_a_link_of_an_address_nobody_holds_any_more_can_be_revoked(
    channel: grpc.aio.Channel, database_url: str, owner_url: str, app: App, tenant: Tenant,
    *, stubs: Stubs,
) -> None:  # fmt: skip
    """Probe SB: after a rectification, the old address's link could not be revoked (exit 1,
    "no person ... is known"): it is, by the identifier."""
    await _jeanne(stubs)
    old = app.preference_links.token(tenant.tenant_id, normalise_email(JEANNE))[0]
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    moved = rights_pb2.RectifyContactRequest(
        subject=by_email(JEANNE),
        kind=rights_pb2.CONTACT_KIND_EMAIL,
        value="jeanne.new@example.fr",
        actor="support",
    )
    await rights.RectifyContact(moved, metadata=stubs.metadata)
    env = command_env(database_url, owner_url)
    revoked = await _consentd(env, "preference-link", tenant.slug, "--email", JEANNE, "--revoke")
    assert revoked.returncode == 0, revoked.stderr
    assert "naming this identifier" in revoked.stdout
    refused = await fails(current(replace(stubs, metadata=bearer(old)), by_email(JEANNE)))
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
