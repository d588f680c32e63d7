"""Preference links (app/preference_links.py): what a token holds, its page's address, and
that only this service's secret opens it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from consentd.app import preference_links
from consentd.app.preference_links import PreferenceLinks
from consentd.domain.canonical import b64url
from consentd.domain.errors import Unauthenticated
from consentd.domain.identifiers import normalise_email, normalise_external_id

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
TENANT = UUID(int=7)


def _links(secret: bytes = b"s" * 32, url: str = "") -> PreferenceLinks:
    return PreferenceLinks(secret, lambda: NOW, url, days=7)


def test_a_token_opens_as_its_tenant_person_and_expiry() -> None:
    person = normalise_external_id("crm-élodie")
    token, expires = _links().token(TENANT, person)
    assert expires == NOW + timedelta(days=7)
    assert _links().opened(token) == (TENANT, person, expires, NOW)  # made now: its `iat`
    with pytest.raises(Unauthenticated):
        _links(b"t" * 32).opened(token)


def test_the_url_is_the_template_with_the_token() -> None:
    links = _links(url="https://consent.example.fr/preferences/#token={token}")
    token, _ = links.token(TENANT, normalise_email("a@example.fr"), timedelta(hours=1))
    assert links.url(token) == f"https://consent.example.fr/preferences/#token={token}"
    assert links.serves_urls
    assert not _links().serves_urls
    assert _links().url(token) == ""


@pytest.mark.parametrize(
    "payload",
    [
        b'{"tid":"00000000-0000-0000-0000-000000000007","kind":"email","sub":"a@b.fr","exp":"1"}',
        b'{"tid":"00000000-0000-0000-0000-000000000007","kind":"email","sub":"a@b.fr","exp":1e30}',
        b'{"tid":"00000000-0000-0000-0000-000000000007","kind":"email","exp":1900000000}',
        b'{"tid":"00000000-0000-0000-0000-000000000007","kind":"fax","sub":"1","exp":1900000000}',
        b'{"tid":"acme","kind":"email","sub":"a@b.fr","exp":1900000000}',
        b'{"tid":"00000000-0000-0000-0000-000000000007","kind":"email","sub":7,"exp":1900000000}',
        b"[1, 2]",
        b"\xff\xfe",
    ],
)
def test_a_signed_payload_not_of_our_form_is_refused_not_internal(payload: bytes) -> None:
    """Probe PA: a payload signed with the secret but not of the form (another build's, a
    secret shared) was INTERNAL with a traceback; it is UNAUTHENTICATED, `link_malformed`."""
    links = _links()
    signed = "p1." + b64url(payload)
    token = f"{signed}.{b64url(links._mac(signed))}"
    with pytest.raises(Unauthenticated):
        links.opened(token)


def test_a_link_made_before_iat_counts_as_made_its_longest_lifetime_before_it_expires() -> None:
    """Links made before they carried `iat`: a revocation refuses them if one made as early as
    a link can be (30 days before its expiry) would be refused."""
    links = _links()
    expires = int((NOW + timedelta(days=1)).timestamp())
    claims = {"tid": str(TENANT), "kind": "email", "sub": "a@b.fr", "exp": expires}
    signed = "p1." + b64url(json.dumps(claims).encode())
    opened = links.opened(f"{signed}.{b64url(links._mac(signed))}")
    assert opened.issued == opened.expires - timedelta(days=30)


def test_a_link_is_bounded_as_any_input_even_signed() -> None:
    """Probe SB: an `iat` after now (a link that outlived every revocation), a lifetime past 30
    days, a tenant id spelled otherwise were taken from a link signed with the secret."""
    links = _links()
    now, day = int(NOW.timestamp()), 86_400
    for claims in (
        {"tid": str(TENANT), "iat": now + day, "exp": now + 2 * day},
        {"tid": str(TENANT), "iat": now - day, "exp": now + 40 * day},
        {"tid": str(TENANT).replace("-", ""), "iat": now, "exp": now + day},
    ):
        payload = {"kind": "email", "sub": "a@b.fr", **claims}
        signed = "p1." + b64url(json.dumps(payload).encode())
        with pytest.raises(Unauthenticated):
            links.opened(f"{signed}.{b64url(links._mac(signed))}")
    made = links.token(TENANT, normalise_email("a@b.fr"))[0]
    assert links.opened(made).issued == NOW


def test_a_link_made_by_a_clock_ahead_is_said_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe VA: a link made on a host 10 minutes ahead was refused on the others as
    `link_malformed`, which sent the operator away from the clock."""
    later = NOW + timedelta(minutes=10)
    ahead = PreferenceLinks(b"s" * 32, lambda: later, "", days=7).token(
        TENANT, normalise_email("a@b.fr")
    )[0]
    reasons: list[str] = []

    def said(reason: str) -> Unauthenticated:
        reasons.append(reason)
        return Unauthenticated()

    monkeypatch.setattr(preference_links, "refused", said)
    with pytest.raises(Unauthenticated):
        _links().opened(ahead)
    assert reasons == ["link_made_ahead"]
