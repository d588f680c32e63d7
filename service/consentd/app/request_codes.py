"""The one-time codes that verify a rights request's identity: made, kept as a keyed digest,
and sent to the subject's own contact point."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import structlog

from consentd.app.idempotency import Once
from consentd.app.keys import SubjectKeys
from consentd.app.ports import Notifier, UnitOfWork, UnitOfWorkFactory
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import Identifier, IdentifierHasher, IdentifierKind
from consentd.domain.rights import CODE_TTL, RightsRequest
from consentd.domain.tenancy import Principal

log = structlog.get_logger("consentd.requests")
CODE_DIGITS = 6


class Codes:
    def __init__(self, hasher: IdentifierHasher, keys: SubjectKeys, notifier: Notifier) -> None:
        self._hasher = hasher
        self._keys = keys
        self._notifier = notifier

    def digest(self, tenant_id: UUID, request_id: UUID, code: str) -> bytes:
        """The code's keyed digest. Raises InvalidInput for a code that is not CODE_DIGITS
        digits (empty, spaced): none was ever sent, and it is not counted as a try (probe CA:
        an empty code, a client's bug, used up one of the person's tries)."""
        if len(code) != CODE_DIGITS or not (code.isascii() and code.isdigit()):
            shape = f"the {CODE_DIGITS} digits sent to the person, nothing else"
            raise InvalidInput("code", f"is required: {shape}" if not code else f"is not {shape}")
        return self._hasher.keyed(tenant_id, f"rights-code:{request_id}", code)

    def issue(
        self, tenant_id: UUID, request: RightsRequest, now: datetime
    ) -> tuple[str, RightsRequest]:
        """A new code, and the request holding its digest (the old code stops working)."""
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        digest = self.digest(tenant_id, request.request_id, code)
        return code, replace(request, code_digest=digest, code_expires_at=now + CODE_TTL)

    async def contact(
        self, uow: UnitOfWork, tenant_id: UUID, subject_id: UUID, kind: IdentifierKind | None
    ) -> Identifier | None:
        """The subject's own contact point of that kind, opened from its sealed value."""
        if kind is None:
            return None
        key = await self._keys.existing(uow, tenant_id, subject_id)
        if key is None:
            return None
        for stored in await uow.rights.identifiers(subject_id):
            if stored.kind is kind and stored.sealed_value is not None:
                return Identifier(kind, key.open(kind.value, stored.sealed_value))
        return None

    async def sent_after_commit(
        self,
        uows: UnitOfWorkFactory,
        principal: Principal,
        sending: tuple[RightsRequest, Identifier, str],
        once: Once | None,
        answer: Callable[[bool], object],
    ) -> bool:
        """Send the code of a request already committed (no connection held meanwhile);
        whether it is on its way. Under an idempotency key, a retry is answered `answer(True)`
        once it is (the commit stored `answer(False)`)."""
        request, to, code = sending
        sent = await self.sent(principal, request, to, code)
        if sent and once is not None:
            async with uows(principal.tenant_id) as uow:
                await uow.restate(once, answer(True))
                await uow.commit()
        return sent

    async def sent(
        self, principal: Principal, request: RightsRequest, to: Identifier | None, code: str | None
    ) -> bool:
        """Send the code; whether it is on its way to the person. A relay down or refusing is
        logged (never the address) and answers False, the request kept: a code can be sent
        again (it answered UNAVAILABLE "the database is unavailable" once committed, and a
        retry answered code_sent=true for a code nobody received)."""
        if to is None or code is None:
            return False
        try:
            await self._notifier.send_code(principal.tenant, request.request_id, to, code)
        except Exception as error:  # noqa: BLE001 - the request stands; say the code did not go
            log.warning(
                "verification_code_not_sent", tenant=principal.tenant.slug,
                request_id=str(request.request_id), error=type(error).__name__,
            )  # fmt: skip
            return False
        return self._notifier.delivers(to.kind)

    async def reachable(
        self, uow: UnitOfWork, tenant_id: UUID, subject_id: UUID
    ) -> Identifier | None:
        """Where the person is told of a decision: their e-mail address when mail reaches it (a
        relay is configured), else their phone when texts do (an SMS gateway), else their
        address (the message is only logged)."""
        for kind in (IdentifierKind.EMAIL, IdentifierKind.PHONE):
            if self._notifier.delivers(kind):
                found = await self.contact(uow, tenant_id, subject_id, kind)
                if found is not None:
                    return found
        # Nothing reaches the person: their address still, where the message is only logged,
        # and tell() warns (a phone texts reach was passed over for an address no relay
        # served, and nothing warned; probe AR).
        return await self.contact(uow, tenant_id, subject_id, IdentifierKind.EMAIL)

    def untold(self, principal: Principal, request: RightsRequest, why: str = "") -> None:
        """The person was not told (nowhere to send to, nothing configured to reach it, or the
        relay refused): said in the log, for the operator to tell them another way within
        the deadline."""
        log.warning(
            "rights_decision_not_sent", tenant=principal.tenant.slug,
            request_id=str(request.request_id), state=request.state.value,
            # A phone on record with no SMS gateway read "no ... phone on record" (probe DM).
            error=why or "nothing reaches the person (no e-mail address on record, and no "
            "phone or no SMS gateway to text it): tell the person another way",
        )  # fmt: skip

    async def tell(self, principal: Principal, request: RightsRequest, to: Identifier) -> bool:
        """Tell the person of an extension or a refusal, and why (GDPR art. 12(3), 12(4): it
        was only stored). After the commit; a failure is logged, the decision stands. Whether
        it was handed to a relay that reaches the person (without one, it is only logged)."""
        try:
            await self._notifier.send_decision(principal.tenant, request, to)
        except Exception as error:  # noqa: BLE001 - the decision is committed; say so
            self.untold(principal, request, type(error).__name__)
            return False
        if self._notifier.delivers(to.kind):
            return True
        where = "an e-mail address" if to.kind is IdentifierKind.EMAIL else f"a {to.kind.value}"
        why = f"nothing is configured to reach {where}: tell the person another way"
        self.untold(principal, request, why)
        return False
