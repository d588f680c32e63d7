"""Use cases of cookie choices: record, read back, history, link to a subject, tenant policy."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from consentd.app.commands import MAX_PAGE_SIZE, SubjectSelector
from consentd.app.cookie_choices import CookieAnswer, RecordCookieChoice, answer
from consentd.app.group_commit import ALONE, Grouping
from consentd.app.grouped_cookies import GroupedChoices
from consentd.app.idempotency import Once
from consentd.app.keys import SubjectKeys
from consentd.app.paging import (
    Page,
    decode_token,
    encode_token,
    id_cursor,
    page_size,
    require_scope,
)
from consentd.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from consentd.app.subjects import SubjectResolver
from consentd.domain.audit import Action, AuditRecord
from consentd.domain.canonical import stamp
from consentd.domain.cookie_policy import (
    DEFAULT_POLICY,
    NECESSARY,
    CookiePolicy,
    settle_policy,
    stores_for_advertising,
)
from consentd.domain.cookies import (
    ChoiceMethod,
    CookieChoice,
    expiry,
    policy_record,
    settle_categories,
)
from consentd.domain.errors import InvalidInput, PermissionDenied
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.tcf import decode_tc_string, publisher_consents, said_otherwise
from consentd.domain.tenancy import Principal, Scope

_HISTORY = "cookie_choices"
# How long a process trusts its copy of a tenant's allowed origins (a put here: at once).
ORIGINS_TTL_SECONDS = 5.0
NAMES_SUBJECTS = frozenset({Scope.WRITE, Scope.ADMIN})  # server keys, never a page's
ORIGINS_CACHE_ENTRIES = 10_000  # preflights name any tenant id: bounded (cleared when full)


class CookieUseCases:
    """Every cookie use case; each call is one unit of work inside the caller's tenant."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: IdentifierHasher,
        clock: Clock,
        keys: SubjectKeys,
        grouping: Grouping = ALONE,
    ) -> None:
        """`grouping.batch` > 1: concurrent choices of a tenant share a transaction
        (app/grouped_cookies.py), except those naming a subject or under an idempotency key."""
        self._uow = uow
        self._grouped = GroupedChoices(uow, clock, self.prepared, self._record_one, grouping)
        self._hasher = hasher
        self._subjects = SubjectResolver(hasher, keys)
        self._clock = clock
        self._origins: dict[UUID, tuple[float, frozenset[str]]] = {}

    async def record_cookie_choice(
        self, principal: Principal, command: RecordCookieChoice, once: Once | None = None
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
        return await self._grouped.record(principal, command, once)

    async def _record_one(
        self, principal: Principal, command: RecordCookieChoice, once: Once | None
    ) -> CookieAnswer:
        now = self._clock()
        tenant = principal.tenant_id
        async with self._uow(tenant, once) as uow:
            policy = await uow.cookies.policy() or DEFAULT_POLICY
            choice = self.prepared(tenant, command, policy, now)
            subject_id = await self._subject(uow, tenant, command.subject, now)
            linked = await uow.cookies.touch_visitor(command.visitor_id, subject_id, now)
            stored = await uow.cookies.append(replace(choice, subject_id=linked))
            # The entry is the stored row (digests for the visitor id, URL and TCF string).
            uow.audit.cookie_choice(stored.choice_id, now)
            result = answer(policy, stored, now)
            await uow.commit(result)
        return result

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
        before = id_cursor(decode_token(_HISTORY, token, scope=None, tenant=principal.tenant_id))
        async with self._uow(principal.tenant_id) as uow:
            if isinstance(owner, str):
                scope = f"visitor|{owner}"
                require_scope(token, scope, tenant=principal.tenant_id)
                items = await uow.cookies.history(owner, None, before, limit + 1)
            else:
                subject_id = await self._subjects.find(uow, principal.tenant_id, owner)
                scope = f"subject|{subject_id}"
                require_scope(token, scope, tenant=principal.tenant_id)
                if subject_id is None:
                    return Page([], "")
                items = await uow.cookies.history(None, subject_id, before, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        following = (
            encode_token(_HISTORY, str(items[-1].choice_id), scope, tenant=principal.tenant_id)
            if more
            else ""
        )
        return Page(items, following)

    async def link_visitor(
        self,
        principal: Principal,
        visitor_id: str,
        subject: SubjectSelector,
        once: Once | None = None,
    ) -> tuple[UUID, int]:
        """Link the visitor to the subject (created when its identifiers are new); returns the
        subject and how many earlier choices were attributed. Raises NotFound for an unknown
        subject id."""
        now = self._clock()
        async with self._uow(principal.tenant_id, once) as uow:
            subject_id = await self._subject(uow, principal.tenant_id, subject, now)
            assert subject_id is not None  # a selector always resolves or raises
            await uow.cookies.touch_visitor(visitor_id, subject_id, now)
            # A sign-in is the person heard from (its visitor row goes 30 days after its last
            # choice, and they were erased as inactive; probe HE).
            await uow.subjects.heard_from(subject_id, now)
            linked = await uow.cookies.link_choices(visitor_id, subject_id)
            # Which visitor, as its choices' entries name it: audit verify compares the
            # choices' person with it (probe ID: a choice given to another person verified ok).
            visitor = hashlib.sha256(visitor_id.encode()).hexdigest()
            payload = {"choices_linked": linked, "visitor_sha256": visitor}
            uow.audit.record(AuditRecord(Action.VISITOR_LINKED, now, payload, subject_id))
            await uow.commit((subject_id, linked))
        return subject_id, linked

    async def put_cookie_policy(
        self, principal: Principal, policy: CookiePolicy, once: Once | None = None
    ) -> CookiePolicy:
        """Replace the tenant's policy (defaults for zero values); the first one held to the
        default once choices were made under it (a remap at revision 1 turned refusals of
        advertising into grants; probe ZA). Raises InvalidInput naming the field."""
        now = self._clock()
        async with self._uow(principal.tenant_id, once) as uow:
            current = await uow.cookies.policy(for_update=True)
            if current is None and await uow.cookies.choices_made():
                current = DEFAULT_POLICY
            settled = settle_policy(policy, current)
            stored = await uow.cookies.put_policy(replace(settled, updated_at=now), now)
            if stored is None:
                raise InvalidInput("policy.revision", "a higher revision was just put: reload")
            uow.audit.record(AuditRecord(Action.COOKIE_POLICY_PUT, now, policy_record(stored)))
            await uow.commit(stored)
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
        return await self._subjects.linkable(uow, tenant_id, selector, now)

    def prepared(
        self, tenant_id: UUID, command: RecordCookieChoice, policy: CookiePolicy, now: datetime
    ) -> CookieChoice:
        """The choice to store under `policy` (no subject yet). Raises InvalidInput naming the
        field (unknown category or revision, malformed TCF string, expiry in the past)."""
        _check_revision(command.policy_revision, policy.revision)
        tcf = decode_tc_string(command.tcf_string) if command.tcf_string else None
        granted, refused = settle_categories(
            policy, command.method, command.granted, command.refused, command.gpc
        )
        # REFUSE_ALL, GPC, or a CUSTOM choice granting nothing but `necessary` (probe SA).
        refusal = command.method in _REFUSALS or bool(refused and set(granted) <= {NECESSARY})
        if tcf is not None:
            publisher = publisher_consents(command.tcf_string)
            ads = stores_for_advertising(policy, granted)
            if said := said_otherwise(tcf, publisher, refusal=refusal, advertising=ads, now=now):
                raise InvalidInput("tcf_string", said)
        return CookieChoice(
            choice_id=uuid4(),
            visitor_id=command.visitor_id,
            subject_id=None,
            method=command.method,
            granted=granted,
            refused=refused,
            policy_revision=command.policy_revision,
            gpc=command.gpc,
            recorded_at=now,
            expires_at=expiry(policy, granted, refused, now, command.expires_at),
            page_url=command.page_url,
            tcf_string=command.tcf_string,
            tcf=tcf,
            ip_digest=self._digest(tenant_id, "ip", command.ip_network),
            ua_digest=self._digest(tenant_id, "ua", command.user_agent),
        )

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


# Choices that refuse every category but the necessary ones: no TC string may consent.
_REFUSALS = (ChoiceMethod.REFUSE_ALL, ChoiceMethod.GPC)


def _check_revision(given: int, current: int) -> None:
    """A revision the tenant has had (1 to current). An older one is stored, and answered
    REVISION_OUTDATED, so a stale page's click is kept as what the visitor saw."""
    if not 1 <= given <= current:
        raise InvalidInput(
            "policy_revision",
            f"revision {given} does not exist: the current revision is {current}",
        )
