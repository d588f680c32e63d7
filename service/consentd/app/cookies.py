"""Use cases of cookie choices: record, read back, history, link to a subject, tenant policy."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from consentd.app.commands import MAX_PAGE_SIZE, SubjectSelector
from consentd.app.keys import SubjectKeys
from consentd.app.paging import Page, decode_token, encode_token, id_cursor, page_size
from consentd.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from consentd.app.subjects import SubjectResolver
from consentd.domain.audit import Action, AuditRecord, stamp
from consentd.domain.cookie_policy import DEFAULT_POLICY, CookiePolicy, settle_policy
from consentd.domain.cookies import (
    ChoiceMethod,
    ChoiceStatus,
    CookieChoice,
    choice_status,
    consent_mode,
    expiry,
    settle_categories,
)
from consentd.domain.errors import InvalidInput, PermissionDenied
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.tcf import decode_tc_string
from consentd.domain.tenancy import Principal, Scope

_HISTORY = "cookie_choices"
# How long a process trusts its copy of a tenant's allowed origins (a put in this process
# refreshes it at once; other replicas see it within this many seconds).
ORIGINS_TTL_SECONDS = 5.0
# Who may attribute a choice to a person: keys kept on servers, never a page's public key.
NAMES_SUBJECTS = frozenset({Scope.WRITE, Scope.ADMIN})
# Preflights name any tenant id they like: the cache is bounded (cleared when full).
ORIGINS_CACHE_ENTRIES = 10_000


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
    status = choice_status(choice, policy.revision, now)
    granted = choice.granted if choice is not None and status is ChoiceStatus.VALID else None
    return CookieAnswer(status, choice, consent_mode(policy, granted), policy.revision)


class CookieUseCases:
    """Every cookie use case; each call is one unit of work inside the caller's tenant."""

    def __init__(
        self, uow: UnitOfWorkFactory, hasher: IdentifierHasher, clock: Clock, keys: SubjectKeys
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._subjects = SubjectResolver(hasher, keys)
        self._clock = clock
        self._origins: dict[UUID, tuple[float, frozenset[str]]] = {}

    async def record_cookie_choice(
        self, principal: Principal, command: RecordCookieChoice
    ) -> CookieAnswer:
        """Store the choice with the expiry the policy allows. Raises InvalidInput naming the
        field (unknown category or revision, malformed TCF string, expiry in the past),
        NotFound for an unknown subject id, and PermissionDenied when a caller with a public
        page key (cookies:write alone) names a subject; nothing is stored then."""
        if command.subject is not None and not principal.scopes & NAMES_SUBJECTS:
            raise PermissionDenied(
                "subject: a page key may not attribute a choice to a person; "
                "link the visitor from your server (LinkVisitor, scope consent:write)"
            )
        now = self._clock()
        tcf = decode_tc_string(command.tcf_string) if command.tcf_string else None
        tenant = principal.tenant_id
        async with self._uow(tenant) as uow:
            policy = await uow.cookies.policy() or DEFAULT_POLICY
            _check_revision(command.policy_revision, policy.revision)
            granted, refused = settle_categories(
                policy, command.method, command.granted, command.refused, command.gpc
            )
            expires_at = expiry(policy, granted, refused, now, command.expires_at)
            subject_id = await self._subject(uow, tenant, command.subject, now)
            linked = await uow.cookies.touch_visitor(command.visitor_id, subject_id, now)
            choice = CookieChoice(
                choice_id=uuid4(),
                visitor_id=command.visitor_id,
                subject_id=linked,
                method=command.method,
                granted=granted,
                refused=refused,
                policy_revision=command.policy_revision,
                gpc=command.gpc,
                recorded_at=now,
                expires_at=expires_at,
                page_url=command.page_url,
                tcf_string=command.tcf_string,
                tcf=tcf,
                ip_digest=self._digest(tenant, "ip", command.ip_network),
                ua_digest=self._digest(tenant, "ua", command.user_agent),
            )
            stored = await uow.cookies.append(choice)
            # The entry is the stored row (digests for the visitor id, URL and TCF string).
            uow.audit.cookie_choice(stored.choice_id, now)
            await uow.commit()
        return answer(policy, stored, now)

    async def get_cookie_choice(self, principal: Principal, visitor_id: str) -> CookieAnswer:
        """The visitor's latest choice and what the page must do with it (never VALID once
        expired or made on an older policy revision)."""
        now = self._clock()
        async with self._uow(principal.tenant_id) as uow:
            policy = await uow.cookies.policy() or DEFAULT_POLICY
            latest = await uow.cookies.latest(visitor_id)
        return answer(policy, latest, now)

    async def list_cookie_choices(
        self, principal: Principal, owner: str | SubjectSelector, size: int, token: str
    ) -> Page[CookieChoice]:
        """A page of a visitor's (str) or a subject's choices, newest first; an unknown subject
        has none. Raises InvalidInput for a bad page size or token."""
        limit = page_size(size, 50, MAX_PAGE_SIZE)
        before = id_cursor(decode_token(_HISTORY, token))
        async with self._uow(principal.tenant_id) as uow:
            if isinstance(owner, str):
                items = await uow.cookies.history(owner, None, before, limit + 1)
            else:
                subject_id = await self._subjects.find(uow, principal.tenant_id, owner)
                if subject_id is None:
                    return Page([], "")
                items = await uow.cookies.history(None, subject_id, before, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(items, encode_token(_HISTORY, str(items[-1].choice_id)) if more else "")

    async def link_visitor(
        self, principal: Principal, visitor_id: str, subject: SubjectSelector
    ) -> tuple[UUID, int]:
        """Link the visitor to the subject (created when its identifiers are new); returns the
        subject and how many earlier choices were attributed. Raises NotFound for an unknown
        subject id."""
        now = self._clock()
        async with self._uow(principal.tenant_id) as uow:
            subject_id = await self._subject(uow, principal.tenant_id, subject, now)
            assert subject_id is not None  # a selector always resolves or raises
            await uow.cookies.touch_visitor(visitor_id, subject_id, now)
            linked = await uow.cookies.link_choices(visitor_id, subject_id)
            payload = {"choices_linked": linked}
            uow.audit.record(AuditRecord(Action.VISITOR_LINKED, now, payload, subject_id))
            await uow.commit()
        return subject_id, linked

    async def put_cookie_policy(self, principal: Principal, policy: CookiePolicy) -> CookiePolicy:
        """Replace the tenant's policy (defaults for zero values). Raises InvalidInput naming the
        field, also when the revision would go down (even through a concurrent put)."""
        now = self._clock()
        async with self._uow(principal.tenant_id) as uow:
            current = await uow.cookies.policy(for_update=True)
            settled = settle_policy(policy, current)
            stored = await uow.cookies.put_policy(replace(settled, updated_at=now), now)
            if stored is None:
                raise InvalidInput("policy.revision", "a higher revision was just put: reload")
            payload = {
                "revision": stored.revision,
                "refusal_validity_months": stored.refusal_validity_months,
                "acceptance_validity_months": stored.acceptance_validity_months,
                "categories": [c.category_id for c in stored.categories],
                "allowed_origins": list(stored.allowed_origins),
            }
            uow.audit.record(AuditRecord(Action.COOKIE_POLICY_PUT, now, payload))
            await uow.commit()
        self._origins[principal.tenant_id] = (time.monotonic(), frozenset(stored.allowed_origins))
        return stored

    async def get_cookie_policy(self, principal: Principal) -> CookiePolicy:
        """The tenant's policy, or the defaults while it has put none."""
        async with self._uow(principal.tenant_id) as uow:
            return await uow.cookies.policy() or DEFAULT_POLICY

    async def allowed_origins(self, tenant_id: UUID) -> frozenset[str]:
        """The browser origins the tenant allows, cached for ORIGINS_TTL_SECONDS. Asked before
        any caller is known (a CORS preflight): it reads the tenant's policy and nothing else."""
        cached = self._origins.get(tenant_id)
        if cached is not None and time.monotonic() - cached[0] < ORIGINS_TTL_SECONDS:
            return cached[1]
        async with self._uow(tenant_id) as uow:
            policy = await uow.cookies.policy() or DEFAULT_POLICY
        origins = frozenset(policy.allowed_origins)
        if len(self._origins) >= ORIGINS_CACHE_ENTRIES:
            self._origins.clear()
        self._origins[tenant_id] = (time.monotonic(), origins)
        return origins

    async def _subject(
        self, uow: UnitOfWork, tenant_id: UUID, selector: SubjectSelector | None, now: datetime
    ) -> UUID | None:
        if selector is None:
            return None
        if isinstance(selector, UUID):
            return await self._subjects.require(uow, tenant_id, selector)
        return await self._subjects.find_or_create(uow, tenant_id, [selector], now)

    def _digest(self, tenant_id: UUID, label: str, value: str) -> bytes | None:
        return self._hasher.keyed(tenant_id, label, value) if value else None


class CookieExport:
    """The `cookie_choices` section of a subject's export (an ExportSection of
    app/subject_export.py): every choice attributed to the subject, oldest first, without the
    keyed hashes."""

    async def export(self, uow: UnitOfWork, subject_id: UUID) -> list[dict[str, Any]]:
        found: list[CookieChoice] = []
        before: UUID | None = None
        while True:
            page = await uow.cookies.history(None, subject_id, before, MAX_PAGE_SIZE)
            found.extend(page)
            if len(page) < MAX_PAGE_SIZE:
                break
            before = page[-1].choice_id
        return [
            {
                "choice_id": str(c.choice_id),
                "visitor_id": c.visitor_id,
                "method": c.method.value,
                "granted": list(c.granted),
                "refused": list(c.refused),
                "policy_revision": c.policy_revision,
                "gpc": c.gpc,
                "recorded_at": stamp(c.recorded_at),
                "expires_at": stamp(c.expires_at),
                "page_url": c.page_url,
                "tcf_string": c.tcf_string or None,
            }
            for c in reversed(found)
        ]


def _check_revision(given: int, current: int) -> None:
    """A revision the tenant has had (1 to current). An older one is stored, and answered
    REVISION_OUTDATED, so a stale page's click is kept as what the visitor saw."""
    if not 1 <= given <= current:
        raise InvalidInput(
            "policy_revision",
            f"revision {given} does not exist: the current revision is {current}",
        )
