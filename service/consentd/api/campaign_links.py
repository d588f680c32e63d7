"""The links a campaign's check answers carry when asked: unsubscribe links (app/unsubscribe.py)
and preference links (app/preference_links.py), and who may ask for the latter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from consentd.app.campaign import Recipient
from consentd.app.checks import Decided
from consentd.app.preference_links import PreferenceLinks
from consentd.app.unsubscribe import UnsubscribeLinks
from consentd.domain.errors import InvalidInput, PermissionDenied
from consentd.domain.identifiers import Identifier
from consentd.domain.model import Decision, Target
from consentd.domain.tenancy import Principal


def may_link(asked: bool, as_of: datetime | None, caller: Principal) -> None:
    """Preference links act as their person (subject:self: their history, their data, their
    grants in person): only for a caller that speaks for people already (consent:attest, admin),
    and for answers of now (probe LA: a consent:check key minted links, and an `as_of` before an
    objection gave a link whose grant lifted it). Raises PermissionDenied, InvalidInput."""
    if not asked:
        return
    if not caller.vouches:
        raise PermissionDenied(
            "preference_links: a link acts as its person: ask with a key holding consent:attest "
            "(or admin)"
        )
    if as_of is not None:
        raise InvalidInput("preference_links", "is for answers of now: not with as_of")


def add_unsubscribe_links(
    answers: Any,
    decided: Decided,
    recipients: Sequence[Recipient],
    *,
    links: UnsubscribeLinks,
    tenant_id: UUID,
    target: Target,
) -> None:
    """Every ALLOW answer gets its unsubscribe link (app/unsubscribe.py): a known subject's, or
    a contact point's nobody has recorded (a prospect under legitimate interest: its message
    must offer a way to object too, CPCE L34-5; probe BF)."""
    for out, answer, recipient in zip(answers, decided.answers, recipients, strict=True):
        if isinstance(answer, InvalidInput) or answer.verdict.decision is not Decision.ALLOW:
            continue
        named = answer.subject_id or (recipient if isinstance(recipient, Identifier) else None)
        if named is not None:
            out.unsubscribe_token = token = links.token(tenant_id, named, target)
            out.unsubscribe_url = links.url(token)


def add_preference_links(
    answers: Any,
    decided: Decided,
    recipients: Sequence[Recipient],
    *,
    links: PreferenceLinks,
    tenant_id: UUID,
) -> None:
    """Every ALLOW answer of a known person named by an identifier gets their preference centre
    link (app/preference_links.py): it names the person as the recipient does (a subject id
    names nobody the page can act for)."""
    for out, answer, recipient in zip(answers, decided.answers, recipients, strict=True):
        if isinstance(answer, InvalidInput) or answer.verdict.decision is not Decision.ALLOW:
            continue
        # A known person only: a link for a contact point nobody recorded (a prospect under
        # legitimate interest) would let its holder make them and grant in their name.
        if isinstance(recipient, Identifier) and answer.subject_id:
            out.preference_token = token = links.token(tenant_id, recipient)[0]
            out.preference_url = links.url(token)
