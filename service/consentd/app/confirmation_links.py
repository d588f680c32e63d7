"""Following a double opt-in link on consentd's own page (`/confirm/<tenant>/<token>` on the
browser port): a person known only by an address (a newsletter sign-up) has no portal token,
and the tenant had to build a page of its own to call ConfirmConsent. The token is the proof,
as in ConfirmConsent with a consent:write key; opening shows what it confirms and changes
nothing (mail scanners follow links), following confirms (DoubleOptIn.confirm)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from consentd.app.commands import Evidence
from consentd.app.confirmation_rules import (
    asked_until,
    refuse_if_changed,
    said_no_since,
    still_pending,
)
from consentd.app.confirmations import DoubleOptIn
from consentd.app.ports import Clock, TenantDirectory, UnitOfWork, UnitOfWorkFactory
from consentd.domain.confirmations import Confirmation, check_token, token_digest
from consentd.domain.errors import ConsentError, FailedPrecondition, InvalidInput
from consentd.domain.model import Channel, ConsentEvent
from consentd.domain.tenancy import Principal, Scope

ACTOR = "confirmation-link"


class Standing(enum.Enum):
    """What a link can do, or did."""

    USABLE = "usable"
    CONFIRMED = "confirmed"  # by this follow
    USED = "used"  # confirmed already (a second click, a scanner's POST)
    SUPERSEDED = "superseded"  # a newer link of the person's replaced it
    EXPIRED = "expired"  # past its time, or the validity asked ended before
    ENDED = "ended"  # the person said no since, was erased, or the address rectified


_BY_CODE = {
    "CONFIRMATION_USED": Standing.USED,
    "CONFIRMATION_SUPERSEDED": Standing.SUPERSEDED,
    "CONFIRMATION_EXPIRED": Standing.EXPIRED,
}


def _ended(refusal: ConsentError) -> Standing:
    return _BY_CODE.get(refusal.code, Standing.ENDED)


@dataclass(frozen=True, slots=True)
class Opening:
    """A link of this tenant: who acts for it, what it asks (each purpose's name and channel,
    in the message's order), and whether it can still be followed."""

    principal: Principal
    token: str
    asks: tuple[tuple[str, Channel], ...]
    standing: Standing


class ConfirmationLinks:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        tenants: TenantDirectory,
        double_opt_in: DoubleOptIn,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._tenants = tenants
        self._double_opt_in = double_opt_in

    async def opened(self, tenant_id: UUID, token: str) -> Opening | None:
        """The link's confirmation and what following it would do now, read and left as it
        is; None for no tenant of ours or no token of its confirmations."""
        try:
            token = check_token(token)
        except InvalidInput:
            return None
        found = await self._tenants.tenant(tenant_id)
        if found is None or found.purged:
            return None
        principal = Principal(found, ACTOR, frozenset({Scope.WRITE}))
        async with self._uow(tenant_id) as uow:
            confirmation = await uow.confirmations.lock(token_digest(token))
            if confirmation is None:
                return None
            try:
                still = await _still_asked(uow, confirmation, self._clock())
            except FailedPrecondition as refusal:
                return Opening(principal, token, (), _ended(refusal))
            purposes = await uow.catalog.purposes(sorted({e.target.purpose for e in still}))
        asks = tuple(
            (purposes[e.target.purpose].display_name or e.target.purpose, e.target.channel)
            for e in still
            if e.target.purpose in purposes
        )
        return Opening(principal, token, asks, Standing.USABLE if asks else Standing.ENDED)

    async def follow(self, opening: Opening, evidence: Evidence) -> Standing:
        """Confirm, as ConfirmConsent with the token does (the person's own word when the link
        went to an address of theirs); what became of the link."""
        try:
            confirmed = await self._double_opt_in.confirm(
                opening.principal, opening.token, evidence
            )
        except ConsentError as refusal:  # used, expired, the person erased or said no since
            return _ended(refusal)
        return Standing.CONFIRMED if confirmed.events else Standing.ENDED


async def _still_asked(
    uow: UnitOfWork, confirmation: Confirmation, now: datetime
) -> list[ConsentEvent]:
    """What following the link would grant now, judged as DoubleOptIn.confirm judges it (the
    page offered a button on a link the click then refused, after an objection or a
    rectification; probe IE); none when the person said no since. Raises FailedPrecondition
    (used, expired, superseded, the person erased or the address rectified)."""
    confirmation.check_usable(now)
    await refuse_if_changed(uow, confirmation)
    still = still_pending(confirmation, await uow.consents.current(confirmation.subject_id))
    if not still or await said_no_since(uow, confirmation):
        return []
    asked = asked_until(confirmation, still, now)
    return [e for e in still if e.event_id in asked]
