"""Double opt-in: grants on a purpose that requires confirmation are recorded pending, a
single-use token goes to the person's email address, and confirming it records the grants
(not for a person erased or an address rectified since, nor over a no said since).

The pending event is an ordinary consent event in state `pending`, so every check path (unary,
batch, stream, as_of) answers DENY `pending_confirmation` from the latest fact without a rule of
its own; it lapses at its valid_until (DENY `expired`). Over a refusal or withdrawal of the
target, that "no" answers instead (consentd_check, migration 0047). Confirming appends a
`granted` event per pending event that is still the current state of its target (one withdrawn
meanwhile stays withdrawn), with the confirmation's time and channel in its sealed evidence and
in the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID, uuid4

import structlog

from consentd.app.commands import Evidence, RecordConsent
from consentd.app.confirmation_rules import (
    Named,
    address_proven,
    asked_until,
    refuse_if_changed,
    said_no_since,
    still_pending,
)
from consentd.app.evidence import EVIDENCE_LABEL
from consentd.app.idempotency import Once
from consentd.app.keys import SubjectKeys
from consentd.app.ports import Clock, ConfirmationMessage, Notifier, UnitOfWork, UnitOfWorkFactory
from consentd.app.subjects import SubjectResolver
from consentd.domain.audit import Action, AuditRecord
from consentd.domain.canonical import stamp
from consentd.domain.confirmations import (
    DEFAULT_LANGUAGE,
    DEFAULT_PENDING_DAYS,
    Confirmation,
    Delivery,
    confirm_link,
    language_of,
    new_token,
    pending_until,
    token_digest,
    unknown_token,
)
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import Identifier, IdentifierHasher, IdentifierKind
from consentd.domain.model import Channel, ConsentEvent, ConsentState, Purpose, Source
from consentd.domain.tenancy import Principal
from consentd.domain.validity import valid_until

log = structlog.get_logger("consentd.confirmations")
_GRANTED = ConsentState.GRANTED


@dataclass(frozen=True, slots=True)
class Confirmed:
    subject_id: UUID
    events: list[ConsentEvent]
    confirmed_at: datetime
    channel: Channel


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A confirmation message to send once its transaction has committed."""

    message: ConfirmationMessage


class DoubleOptIn:
    """Pending grants, messages, confirmations; `link`: the confirming page with `{token}` (empty:
    the token alone); `language`: when the notice has none of ours."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        keys: SubjectKeys,
        hasher: IdentifierHasher,
        notifier: Notifier,
        *,
        link: str = "",
        pending_days: int = DEFAULT_PENDING_DAYS,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self._uow = uow
        self._language = language
        self._clock = clock
        self._keys = keys
        self._subjects = SubjectResolver(hasher, keys)
        self._notifier = notifier
        self._link = link
        self.days = pending_days

    async def open(
        self,
        uow: UnitOfWork,
        principal: Principal,
        command: RecordConsent,
        asked: tuple[Sequence[ConsentEvent], Named],
        purposes: Mapping[str, Purpose],
    ) -> Outgoing | None:
        """Store a confirmation for the pending events among those written (None: none), with
        whether its address proves the person (address_proven), and return the message to send
        after commit. Raises InvalidInput when the request names no email address."""
        written, named = asked
        pending = [e for e in written if e.state is ConsentState.PENDING]
        if not pending:
            return None
        contact = contact_of(command.identifiers)
        if contact is None:
            raise InvalidInput(
                "subject.email",
                "a purpose of this request requires confirmation (double opt-in): give the "
                "email address the confirmation is sent to",
            )
        token, now, subject_id = new_token(), pending[0].recorded_at, pending[0].subject_id
        language = await _notice_language(uow, pending[0])
        ends = {c.target: c.valid_until for c in command.choices}
        digest = self._subjects.digests(principal.tenant_id, [contact])[0][1]
        confirmation = Confirmation(
            uuid4(),
            subject_id,
            Channel.EMAIL,
            language_of(language, self._language),
            tuple(e.event_id for e in pending),
            now,
            pending[0].valid_until or pending_until(now, self.days),
            grant_until=tuple(ends.get(e.target) for e in pending),
            address_digest=digest,
            address_proven=await address_proven(uow, named, command, subject_id, digest),
        )
        await uow.confirmations.add(confirmation, token_digest(token))
        message = ConfirmationMessage(
            principal.tenant,
            contact,
            token,
            confirm_link(self._link, principal.tenant_id, token),
            confirmation.language,
            tuple(dict.fromkeys(_named(pending, purposes))),
            confirmation.expires_at,
        )
        return Outgoing(message)

    async def send(self, outgoing: Outgoing | None) -> Delivery | None:
        """Send after commit; a failure is logged (never the address) and the grant stays
        pending: the person can be asked again. What became of it (None: nothing to send), for
        the caller to know (a message that went nowhere was silent; probe BF)."""
        if outgoing is None:
            return None
        try:
            await self._notifier.send_confirmation(outgoing.message)
        except Exception as error:  # noqa: BLE001 - the write is committed; say so, do not fail it
            log.warning(
                "confirmation_not_sent",
                tenant=outgoing.message.tenant.slug,
                error=type(error).__name__,
            )
            return Delivery.NOT_SENT
        return (
            Delivery.SENT if self._notifier.delivers(IdentifierKind.EMAIL) else Delivery.LOGGED_ONLY
        )

    async def confirm(
        self, principal: Principal, token: str, evidence: Evidence, once: Once | None = None
    ) -> Confirmed:
        """Record the confirmed grants. Raises NotFound (unknown token, or a portal token of
        another person), FailedPrecondition (used or expired)."""
        digest, now = token_digest(token), self._clock()
        async with self._uow(principal.tenant_id, once) as uow:
            confirmation = await uow.confirmations.lock(digest)
            if confirmation is None or not await self._own(uow, principal, confirmation):
                raise unknown_token()
            confirmation.check_usable(now)
            # The subject's lock before its facts and blocks are read: a no another process
            # committed meanwhile was not seen, and the grant lifted it (2 workers, 12 in 60).
            await uow.consents.lock_subject(confirmation.subject_id)
            now = self._clock()
            await refuse_if_changed(uow, confirmation)
            events = await self._granted(uow, principal, confirmation, evidence, now)
            written = await uow.consents.append(events, now) if events else []
            await uow.confirmations.confirmed(confirmation.confirmation_id, now)
            uow.audit.record(_audited(confirmation, written, now))
            result = Confirmed(confirmation.subject_id, written, now, confirmation.channel)
            await uow.commit(result)
        return result

    async def _own(self, uow: UnitOfWork, principal: Principal, confirmation: Confirmation) -> bool:
        """A portal token (subject:self) may confirm its own person's grants only."""
        if principal.subject is None:
            return True
        own = await self._subjects.find(uow, principal.tenant_id, principal.subject)
        return own == confirmation.subject_id

    async def _granted(
        self,
        uow: UnitOfWork,
        principal: Principal,
        confirmation: Confirmation,
        evidence: Evidence,
        now: datetime,
    ) -> list[ConsentEvent]:
        """A grant per pending event still current, valid from now on as a grant would be;
        none when the person said no since (said_no_since). The person's word (PORTAL,
        attested) when the link went to an address of theirs (address_proven); else a
        system's, whatever the ask's source, refused over their "no" (migration 0046)."""
        still = still_pending(confirmation, await uow.consents.current(confirmation.subject_id))
        if not still or await said_no_since(uow, confirmation):
            return []
        asked = asked_until(confirmation, still, now)
        purposes = await uow.catalog.purposes(sorted({e.target.purpose for e in still}))
        key = await self._keys.key(uow, principal.tenant_id, confirmation.subject_id, now)
        document = {
            "ip_address": evidence.ip_address,
            "user_agent": evidence.user_agent,
            "confirmed_at": stamp(now),
            "confirmation_channel": confirmation.channel.value,
            "confirmation_id": str(confirmation.confirmation_id),
            # How it was followed ("confirmation link": consentd's own page saw the click).
            **({"via": evidence.reference} if evidence.reference else {}),
        }
        sealed = key.seal(EVIDENCE_LABEL, json.dumps(document, sort_keys=True))
        theirs = confirmation.address_proven is not False
        return [
            replace(
                e,
                event_id=uuid4(),
                sequence=0,
                state=ConsentState.GRANTED,
                source=Source.PORTAL if theirs else e.source,
                recorded_at=now,
                valid_until=valid_until(
                    purposes[e.target.purpose], _GRANTED, now, asked[e.event_id], "token"
                ),
                evidence_reference=f"confirmation:{confirmation.confirmation_id}",
                evidence_sealed=sealed,
                evidence_ip_digest=None,
                evidence_ua_digest=None,
                attested=theirs,  # not None: an unvouched ask's PORTAL source is a system's (0046)
                decided_at=None,  # they decided now, following it
            )
            for e in still
            if e.event_id in asked
        ]


def _named(
    pending: Sequence[ConsentEvent], purposes: Mapping[str, Purpose]
) -> list[tuple[str, str]]:
    """What the message asks: each purpose's name and channel (notify_templates words it)."""
    return [
        (purposes[e.target.purpose].display_name or e.target.purpose, e.target.channel.value)
        for e in pending
    ]


def _audited(
    confirmation: Confirmation, events: Sequence[ConsentEvent], now: datetime
) -> AuditRecord:
    """When and through which channel the person confirmed, and the grants it recorded."""
    return AuditRecord(
        Action.CONSENT_CONFIRMED,
        now,
        {
            "subject_id": str(confirmation.subject_id),
            "confirmation_id": str(confirmation.confirmation_id),
            "channel": confirmation.channel.value,
            "confirmed_at": stamp(now),
            "sent_at": stamp(confirmation.created_at),
            "events": [
                {
                    "event_id": str(e.event_id),
                    "purpose": e.target.purpose,
                    "channel": e.target.channel.value,
                    "scope": e.target.scope.value,
                    "state": e.state.value,
                }
                for e in events
            ],
        },
        confirmation.subject_id,
    )


async def _notice_language(uow: UnitOfWork, event: ConsentEvent) -> str | None:
    """The language of the notice version the person was shown, if any."""
    notices = await uow.catalog.list_notices(event.notice_id, None, 500) if event.notice_id else []
    return next((n.language for n in notices if n.version == event.notice_version), None)


def contact_of(identifiers: Sequence[Identifier]) -> Identifier | None:
    return next((i for i in identifiers if i.kind is IdentifierKind.EMAIL), None)
