"""Rights requests: received -> identity verified -> in progress -> done / refused. The identity
is verified by a one-time code sent through the Notifier port to the subject's own contact point
(a keyed hash kept; 24 hours, five wrong tries), or attested by an operator. The one-month clock
starts at the acknowledged receipt (domain/rights.py: the month-end rule); one extension of up to
two months, with a reason, before the first due date. An objection is in force once verified,
an erasure or restriction at completion. Every transition is an audit entry."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from consentd.app import request_log
from consentd.app.blocking import block_subject
from consentd.app.commands import MAX_PAGE_SIZE, SubjectSelector
from consentd.app.erasure import erase_subject
from consentd.app.idempotency import Once
from consentd.app.keys import SubjectKeys
from consentd.app.paging import Page, decode_token, encode_token, id_cursor, page_size
from consentd.app.ports import Clock, Notifier, UnitOfWorkFactory
from consentd.app.request_codes import Codes
from consentd.app.request_log import held, locked, open_request, transition, unknown_request
from consentd.app.subjects import SubjectResolver
from consentd.domain.errors import FailedPrecondition, InvalidInput
from consentd.domain.identifiers import IdentifierHasher, IdentifierKind
from consentd.domain.rights import (
    MAX_CODE_ATTEMPTS,
    TOO_MANY_CODES,
    BlockKind,
    RequestKind,
    RequestState,
    RightsRequest,
)
from consentd.domain.tenancy import Principal

_REQUESTS = "rights_requests"
MAX_DUE_WITHIN_DAYS = 90  # the widest "due within" window a list takes (due within 1-3 months)
_Move = Callable[[RightsRequest, datetime], RightsRequest]
# The requests whose completion puts a block in force.
_BLOCKS = {RequestKind.RESTRICT: BlockKind.RESTRICTED}


@dataclass(frozen=True, slots=True)
class Submitted:
    request: RightsRequest
    code_sent: bool


class RightsRequestUseCases:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: IdentifierHasher,
        keys: SubjectKeys,
        notifier: Notifier,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._subjects = SubjectResolver(hasher, keys)
        self._codes = Codes(hasher, keys, notifier)
        self._clock, self._keys = clock, keys

    def now(self) -> datetime:
        """The use cases' clock (whether a request is overdue is read against it)."""
        return self._clock()

    async def submit(
        self,
        principal: Principal,
        kind: RequestKind,
        selector: SubjectSelector,
        send_code_to: IdentifierKind | None,
        once: Once | None = None,
    ) -> Submitted:
        """Receive a request; send a one-time code to the subject's email or phone when asked
        and known; `code_sent` only if it reaches the person. A contact point nobody recorded
        becomes a subject: "what do you hold on me?" is answered within the month even when it
        is nothing. The person filing it through the portal is verified by their token (no
        code), and answered with their open request of that kind when they have one. Raises
        NotFound for an unknown subject id."""
        tenant_id = principal.tenant_id
        async with self._uow(tenant_id, once) as uow:
            await self._subjects.guard(uow, principal, selector)  # a portal caller: itself only
            subject_id = await self._subjects.kept(uow, tenant_id, selector, self._clock())
            await held(uow, subject_id)
            now = self._clock()
            # Filed through the tenant's portal, whose token names the person: verified by it (a
            # code they had nowhere to enter left it RECEIVED; three clicks made three requests);
            # one filed otherwise is verified by the token now (it stayed RECEIVED; probe DO).
            portal = principal.subject is not None
            if portal and (pending := await open_request(uow, subject_id, kind)) is not None:
                pending = await locked(uow, pending.request_id)
                by = principal.caller
                pending = await request_log.filed_again_by_token(uow, pending, now, by)
                await uow.commit(Submitted(pending, False))
                return Submitted(pending, False)
            request = RightsRequest.received(uuid4(), subject_id, kind, now)
            code_to = None if portal else send_code_to
            contact = await self._codes.contact(uow, tenant_id, subject_id, code_to)
            code = None
            if contact is not None:
                code, request = self._codes.issue(tenant_id, request, now)
            await uow.requests.add(request)
            uow.audit.record(transition(request, None, now, by=principal.caller))
            submitted = Submitted(request, False)
            if portal:
                verified = await request_log.verified_by_token(uow, request, now, principal.caller)
                submitted = Submitted(verified, False)
            await uow.commit(submitted)
        if portal or contact is None or code is None:
            return submitted
        # After the commit: sends to a slow gateway held every write connection (probe AR).
        sent = await self._codes.sent_after_commit(
            self._uow, principal, (request, contact, code), once, lambda ok: Submitted(request, ok)
        )
        return Submitted(request, sent)

    async def resend_code(
        self,
        principal: Principal,
        request_id: UUID,
        send_code_to: IdentifierKind,
        once: Once | None = None,
    ) -> bool:
        """A new code (the old one stops working); False when it reaches no one. Raises
        NotFound, FailedPrecondition once the identity is verified."""
        now = self._clock()
        tenant_id = principal.tenant_id
        async with self._uow(tenant_id, once) as uow:
            request = await locked(uow, request_id)
            request.require_unverified()
            if request.code_attempts >= MAX_CODE_ATTEMPTS:
                raise FailedPrecondition(TOO_MANY_CODES, code="TOO_MANY_CODES")
            contact = await self._codes.contact(uow, tenant_id, request.subject_id, send_code_to)
            if contact is None:
                return False
            code, request = self._codes.issue(tenant_id, request, now)
            await uow.requests.save(request)
            await uow.commit(False)
        # After the commit, as in submit(): no connection held while the code goes.
        sending = (request, contact, code)
        return await self._codes.sent_after_commit(self._uow, principal, sending, once, bool)

    async def confirm_identity(
        self, principal: Principal, request_id: UUID, code: str, once: Once | None = None
    ) -> RightsRequest:
        """Check the one-time code; a wrong one counts as a try (kept even though the call
        fails). Raises NotFound, InvalidInput (wrong code), FailedPrecondition (no code,
        expired, too many tries, already verified)."""
        now = self._clock()
        tenant_id = principal.tenant_id
        async with self._uow(tenant_id, once) as uow:
            request = await locked(uow, request_id)
            sent = request.code_to_check(now)
            expected = self._codes.digest(tenant_id, request_id, code)
            if not hmac.compare_digest(expected, sent):
                tries = request.code_attempts + 1
                await uow.requests.save(replace(request, code_attempts=tries))
                await uow.commit_refusal()  # the try counts, under a key or not
                # Seen by the operator: codes guessed at left no trace (probe VA).
                request_log.log.warning(
                    "rights_code_wrong", request_id=str(request_id), tries=tries
                )
                left = max(MAX_CODE_ATTEMPTS - tries, 0)
                raise InvalidInput("code", f"does not match the code sent ({left} tries left)")
            verified = request.verified(now, "one_time_code")
            await request_log.saved(uow, request, verified, now, by=principal.caller)
        return verified

    async def attest_identity(
        self, principal: Principal, request_id: UUID, actor: str, once: Once | None = None
    ) -> RightsRequest:
        """An operator confirms the identity otherwise. Raises NotFound, FailedPrecondition."""
        return await self._apply(principal, request_id, lambda r, now: r.attested(now, actor), once)

    async def start(
        self, principal: Principal, request_id: UUID, once: Once | None = None
    ) -> RightsRequest:
        return await self._apply(principal, request_id, lambda r, now: r.started(now), once)

    async def extend(
        self,
        principal: Principal,
        request_id: UUID,
        months: int,
        reason: str,
        once: Once | None = None,
        *,
        told: bool = False,
    ) -> RightsRequest:
        extended = lambda r, now: r.extended(now, months, reason, told=told)  # noqa: E731
        return await self._apply(principal, request_id, extended, once, tell=True)

    async def told(
        self, principal: Principal, request_id: UUID, once: Once | None = None
    ) -> RightsRequest:
        return await self._apply(principal, request_id, lambda r, now: r.told(now), once)

    async def refuse(
        self, principal: Principal, request_id: UUID, reason: str, once: Once | None = None
    ) -> RightsRequest:
        refused = lambda r, now: r.refused(now, reason)  # noqa: E731
        return await self._apply(principal, request_id, refused, once, tell=True)

    async def complete(
        self,
        principal: Principal,
        request_id: UUID,
        outcome: str,
        actor: str,
        once: Once | None = None,
    ) -> RightsRequest:
        """Done; an erase, restrict or object request is carried out in the same transaction.
        Raises NotFound, FailedPrecondition (not in progress)."""
        now = self._clock()
        async with self._uow(principal.tenant_id, once) as uow:
            request = await locked(uow, request_id)
            done = request.done(now, outcome)
            answer = await request_log.export_answering(uow, request)
            if request.kind is RequestKind.ERASE:
                await erase_subject(
                    uow, request.subject_id, now, actor, request_id, by=principal, keys=self._keys
                )
            elif (block := _BLOCKS.get(request.kind)) is not None:
                await block_subject(
                    uow, request.subject_id, block, self._clock, request_id, by=principal.caller
                )
            await request_log.saved(uow, request, done, now, answer, by=principal.caller)
        return done

    async def _apply(
        self,
        principal: Principal,
        request_id: UUID,
        move: _Move,
        once: Once | None,
        tell: bool = False,
    ) -> RightsRequest:
        """`tell`: then the person is told at their e-mail address (an extension, a refusal),
        unless told another way already (person_told: nor warned of then; probe BI)."""
        now, tenant_id = self._clock(), principal.tenant_id
        async with self._uow(tenant_id, once) as uow:
            request = await locked(uow, request_id)
            moved = move(request, now)
            tell = tell and moved.person_told_at is None
            to = await self._codes.reachable(uow, tenant_id, request.subject_id) if tell else None
            await request_log.saved(uow, request, moved, now, by=principal.caller)
        if to is not None:
            if await self._codes.tell(principal, moved, to):
                return await request_log.told(self._uow, tenant_id, moved, self._clock())
        elif tell:
            self._codes.untold(principal, moved)
        return moved

    async def get(self, principal: Principal, request_id: UUID) -> RightsRequest:
        async with self._uow(principal.tenant_id) as uow:
            request = await uow.requests.get(request_id)
        if request is None:
            raise unknown_request()
        return request

    async def listed(
        self,
        principal: Principal,
        overdue_only: bool,
        state: RequestState | None,
        size: int,
        token: str,
        *,
        due_within_days: int = 0,
        subject: SubjectSelector | None = None,
    ) -> Page[RightsRequest]:
        """Requests by id; `overdue_only`: open ones past their due date now; `due_within_days`
        (1 to 90): open ones due within that many days; `subject`: that person's only (none
        when it names nobody). Raises InvalidInput."""
        limit = page_size(size, 100, MAX_PAGE_SIZE)
        if not 0 <= due_within_days <= MAX_DUE_WITHIN_DAYS:
            raise InvalidInput("due_within_days", f"must be 1 to {MAX_DUE_WITHIN_DAYS} (or unset)")
        tenant = principal.tenant_id
        now = self._clock()
        ahead = timedelta(0) if overdue_only else timedelta(days=due_within_days)
        due_before = now + ahead if overdue_only or due_within_days else None
        async with self._uow(tenant) as uow:
            whose = await self._subjects.find(uow, tenant, subject) if subject is not None else None
            # Whose list: nobody's (a subject nobody holds) is not the unfiltered list (GJ).
            named = (whose or "nobody") if subject is not None else ""
            scope = f"{overdue_only}|{state.value if state else ''}|{due_within_days}|{named}"
            # A request id (a forged "\ud800" was INTERNAL, a forged "zzz" ended the list; V).
            cursor = id_cursor(decode_token(_REQUESTS, token, scope=scope, tenant=tenant))
            after = str(cursor) if cursor is not None else None
            if subject is not None and whose is None:
                return Page([], "")  # nobody holds it (the token checked first: probe GI)
            items = await uow.requests.listed(due_before, state, after, limit + 1, whose)
        more, items = len(items) > limit, items[:limit]
        last = str(items[-1].request_id) if more else None
        return Page(items, encode_token(_REQUESTS, last, scope, tenant=tenant) if last else "")
