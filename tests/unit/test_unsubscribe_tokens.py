"""Unsubscribe tokens (app/unsubscribe.py): each names one tenant, subject and target under the
service's key, and opens only under it."""

from __future__ import annotations

from uuid import uuid4

from consentd.app.unsubscribe import UnsubscribeLinks
from consentd.config import Settings
from consentd.domain.identifiers import normalise_email
from consentd.domain.model import ALL, Channel, PartyScope, Target

NEWS = Target("newsletter", Channel.EMAIL, PartyScope.FIRST_PARTY)


def test_a_token_opens_to_what_it_names_and_its_link_follows_the_template() -> None:
    url = Settings.from_env({"CONSENTD_UNSUBSCRIBE_URL": "https://mail.example.fr/u/{token}"})
    links = UnsubscribeLinks(b"s" * 32, url.unsubscribe_url)
    tenant, subject = uuid4(), uuid4()
    for target in (NEWS, Target(ALL, Channel.ALL, PartyScope.ALL)):
        token = links.token(tenant, subject, target)
        opened = links.opened(token)
        assert opened is not None
        assert (opened.tenant_id, opened.subject, opened.target) == (tenant, subject, target)
        assert links.url(token) == f"https://mail.example.fr/u/{token}"
    assert UnsubscribeLinks(b"s" * 32).url(token) == ""


def test_only_the_key_that_made_a_token_opens_it() -> None:
    token = UnsubscribeLinks(b"s" * 32).token(uuid4(), uuid4(), NEWS)
    assert UnsubscribeLinks(b"t" * 32).opened(token) is None
    body, mac = token.removeprefix("u1.").split(".")
    for bad in ("", "u1.", f"u1.{body}", f"u1.{body}.", f"u1.{mac}.{body}", f"u1.{body}.{mac}x"):
        assert UnsubscribeLinks(b"s" * 32).opened(bad) is None, bad


def test_a_contact_points_token_seals_it_and_opens_to_it() -> None:
    """A prospect nobody recorded: the token holds the contact point sealed, never readable,
    each token another (a fresh nonce); tampered, or under another key, it opens to nothing."""
    links = UnsubscribeLinks(b"s" * 32)
    tenant, who = uuid4(), normalise_email("prospect@bigcorp.fr")
    target = Target("prospecting", Channel.EMAIL, PartyScope.FIRST_PARTY)
    token = links.token(tenant, who, target)
    assert token.startswith("u2.")
    assert "prospect" not in token
    assert links.token(tenant, who, target) != token
    opened = links.opened(token)
    assert opened is not None
    assert (opened.tenant_id, opened.subject, opened.target) == (tenant, who, target)
    assert UnsubscribeLinks(b"t" * 32).opened(token) is None
    assert links.opened(token[:-2] + ("AA" if not token.endswith("AA") else "BA")) is None
