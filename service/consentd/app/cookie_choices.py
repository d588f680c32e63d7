"""A cookie choice as a page sends it, and the answer the page acts on (app/cookies.py and
app/grouped_cookies.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from consentd.app.commands import SubjectSelector
from consentd.domain.cookie_policy import CookiePolicy
from consentd.domain.cookies import (
    ChoiceMethod,
    ChoiceStatus,
    CookieChoice,
    choice_status,
    consent_mode,
    expiry,
)


@dataclass(frozen=True, slots=True)
class RecordCookieChoice:
    """A choice as the page sent it. `ip_network` is already truncated (see truncate_ip)."""

    visitor_id: str
    method: ChoiceMethod
    policy_revision: int
    subject: SubjectSelector | None = None
    granted: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    gpc: bool = False
    tcf_string: str = ""
    page_url: str = ""
    user_agent: str = ""
    ip_network: str = ""
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"RecordCookieChoice(visitor_id={self.visitor_id!r}, method={self.method}, ...)"


@dataclass(frozen=True, slots=True)
class CookieAnswer:
    """What a page acts on: the status, the latest choice, the Consent Mode signals to apply."""

    status: ChoiceStatus
    choice: CookieChoice | None
    consent_mode: dict[str, str]
    policy_revision: int


def answer(policy: CookiePolicy, choice: CookieChoice | None, now: datetime) -> CookieAnswer:
    """A period the tenant shortened since the choice was made counts for it too: a 12-month
    acceptance read VALID seven months on under a 6-month policy (probe DX). The stored
    choice, its proof, keeps the expiry it was given."""
    if choice is not None:
        ends = expiry(policy, choice.granted, choice.refused, choice.recorded_at, None)
        choice = replace(choice, expires_at=ends) if ends < choice.expires_at else choice
    status = choice_status(choice, policy.revision, now)
    granted = choice.granted if choice is not None and status is ChoiceStatus.VALID else None
    return CookieAnswer(status, choice, consent_mode(policy, granted), policy.revision)
