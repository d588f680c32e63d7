"""Unsubscribe links: a token that withdraws one target for one person when followed, to put in
every marketing message (CPCE L34-5: a simple way to object in each message; RFC 8058: one-click
unsubscribe). The token is the proof: a keyed MAC over the tenant, the subject and the target,
so nobody can make one for someone else or for another target, and it needs no table. It never
expires (a link in an old message must still work) and can only ever withdraw."""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from consentd.app.catalog import CatalogUseCases
from consentd.app.checks import CheckResult
from consentd.app.commands import CheckConsent, Evidence, WithdrawConsent
from consentd.app.consents import ConsentUseCases
from consentd.app.ports import TenantDirectory
from consentd.domain.canonical import b64url, unb64url
from consentd.domain.confirmations import TOKEN_PLACEHOLDER
from consentd.domain.decision import persons_word, standing_stop
from consentd.domain.errors import ConsentError
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.model import (
    Channel,
    PartyScope,
    Reason,
    Source,
    Target,
    everything_on,
)
from consentd.domain.tenancy import Principal, Scope

_PREFIX = "u1."
_MAC_BYTES = 16
# A contact point's token (no subject yet): the contact point sealed (AES-256-GCM) with the
# target, under a key of its own; about 150 to 520 characters.
_SEALED_PREFIX = "u2."
_NONCE = 12
# Tokens we issue are about 110 characters (a contact point's: up to about 520); anything
# much longer is not one.
MAX_TOKEN = 640


@dataclass(frozen=True, slots=True)
class Link:
    """Who a link stops a target for: a subject, or a contact point nobody had recorded when
    the link was made (a prospect answered ALLOW under legitimate interest): following it then
    records the withdrawal for that contact point, a subject made as WithdrawConsent does."""

    tenant_id: UUID
    subject: UUID | Identifier
    target: Target


class Followed(Enum):
    WITHDRAWN = "withdrawn"
    ALREADY = "already"  # the person's "no" stands already (or the person is gone)


@dataclass(frozen=True, slots=True)
class Opened:
    """A link this service made, who acts for it, and what it stops (for the page)."""

    link: Link
    principal: Principal
    name: str


class UnsubscribeLinks:
    """Makes and opens tokens under a key derived from the service secret (every replica
    opens what any other made); `url_template` holds TOKEN_PLACEHOLDER, or is empty."""

    def __init__(self, key: bytes, url_template: str = "") -> None:
        self._key = key
        self._template = url_template
        self._sealing = AESGCM(hashlib.sha256(b"consentd/unsubscribe/u2|" + key).digest())

    def token(self, tenant_id: UUID, subject: UUID | Identifier, target: Target) -> str:
        fields = (target.purpose, target.channel.value, target.scope.value)
        if isinstance(subject, Identifier):
            # The contact point itself never shows in the URL (mail logs keep URLs).
            nonce = os.urandom(_NONCE)
            plain = "\x1f".join((subject.kind.value, subject.value, *fields)).encode()
            sealed = self._sealing.encrypt(nonce, plain, tenant_id.bytes)
            return f"{_SEALED_PREFIX}{b64url(tenant_id.bytes + nonce + sealed)}"
        payload = tenant_id.bytes + subject.bytes + "\x1f".join(fields).encode()
        return f"{_PREFIX}{b64url(payload)}.{b64url(self._mac(payload))}"

    def url(self, token: str) -> str:
        return self._template.replace(TOKEN_PLACEHOLDER, token) if self._template else ""

    def opened(self, token: str) -> Link | None:
        """The link a token names; None for anything this service did not issue."""
        if len(token) <= MAX_TOKEN and token.startswith(_SEALED_PREFIX) and token.count(".") == 1:
            return self._opened_sealed(token[len(_SEALED_PREFIX) :])
        if len(token) > MAX_TOKEN or not token.startswith(_PREFIX) or token.count(".") != 2:
            return None
        body, mac = token[len(_PREFIX) :].split(".")
        try:
            payload, given = unb64url(body), unb64url(mac)
            # One spelling per token: padding, the other alphabet and spare bits were taken as
            # the same token (probe AI), which a list of leaked tokens would miss.
            if (b64url(payload), b64url(given)) != (body, mac):
                return None
            if not hmac.compare_digest(given, self._mac(payload)):
                return None
            purpose, channel, scope = payload[32:].decode().split("\x1f")
            target = Target(purpose, Channel(channel), PartyScope(scope))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return Link(UUID(bytes=payload[:16]), UUID(bytes=payload[16:32]), target)

    def _opened_sealed(self, body: str) -> Link | None:
        try:
            raw = unb64url(body)
            if b64url(raw) != body or len(raw) < 16 + _NONCE:
                return None
            tenant, nonce, sealed = raw[:16], raw[16 : 16 + _NONCE], raw[16 + _NONCE :]
            plain = self._sealing.decrypt(nonce, sealed, tenant).decode()
            kind, value, purpose, channel, scope = plain.split("\x1f")
            contact = Identifier(IdentifierKind(kind), value)
            target = Target(purpose, Channel(channel), PartyScope(scope))
        except (binascii.Error, InvalidTag, UnicodeDecodeError, ValueError):
            return None
        return Link(UUID(bytes=tenant), contact, target)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


class Unsubscribes:
    """Following a link: withdraw its target for its person, once."""

    def __init__(
        self,
        links: UnsubscribeLinks,
        tenants: TenantDirectory,
        consents: ConsentUseCases,
        catalog: CatalogUseCases,
    ) -> None:
        self.links = links
        self._tenants = tenants
        self._consents = consents
        self._catalog = catalog
        self._locks: dict[UUID | Identifier, _Held] = {}

    async def opened(self, token: str) -> Opened | None:
        """The link a token names, who acts for it in its tenant, and what it stops in the
        tenant's words (its purpose's display name, or its id: probe AJ, the page named no
        list); None for a token this service did not make, or a tenant gone or purged. Read
        once for the page and the follow."""
        link = self.links.opened(token)
        tenant = await self._tenants.tenant(link.tenant_id) if link else None
        if link is None or tenant is None or tenant.purged:
            return None
        principal = Principal(tenant, "unsubscribe-link", frozenset({Scope.WRITE}))
        try:
            purpose = await self._catalog.get_purpose(principal, link.target.purpose)
        except ConsentError:  # a purpose removed since, or "everything"
            return Opened(link, principal, link.target.purpose)
        return Opened(link, principal, purpose.display_name or purpose.purpose_id)

    async def follow(
        self, opened: Opened, evidence: Evidence, *, whole_channel: bool = False
    ) -> Followed:
        """Withdraw the link's target (SOURCE_PORTAL, actor "unsubscribe link": the person
        acting from their own mailbox), unless the person's "no" already stands for it (a
        withdrawal, refusal, objection or erasure): a link followed again, or by a mail
        client and its scanner at once, writes nothing more. Any other DENY (a restriction, a
        lapsed grant, an older notice, a confirmation pending) ends and the grant would count
        again: the withdrawal is recorded (probe AI: "Done", then ALLOW once a restriction was
        lifted). `whole_channel`: every purpose on the link's channel ("nothing more by e-mail":
        WithdrawConsent `all` + `channel`), unless that stop stands already."""
        subject = opened.link.subject
        # One follow of a subject at a time here: 20 POSTs of one link at once wrote 20
        # withdrawals (probe AI); replicas following it at the same instant may still write two.
        # The lock goes once nobody holds or waits for it (dropped while others waited, two
        # links of one person still ran together; probe AK).
        held = self._locks.setdefault(subject, _Held())
        held.users += 1
        try:
            async with held.lock:
                if whole_channel:
                    return await self._stopped(opened.principal, opened.link, evidence)
                return await self._withdrawn(opened.principal, opened.link, evidence)
        except ConsentError:  # the subject erased or gone since: nothing left to withdraw
            return Followed.ALREADY
        finally:
            held.users -= 1
            if not held.users:
                del self._locks[subject]

    async def _withdrawn(self, principal: Principal, link: Link, evidence: Evidence) -> Followed:
        checked = CheckConsent(link.subject, link.target)
        result = await self._consents.check_consent(principal, checked)
        if result.verdict.reason in STANDING_NO and await self._theirs(principal, link, result):
            return Followed.ALREADY
        withdrawal = WithdrawConsent(
            link.subject, (link.target,), False, Source.PORTAL, "unsubscribe link", evidence
        )
        await self._consents.withdraw_consent(principal, withdrawal)
        return Followed.WITHDRAWN

    async def _theirs(self, principal: Principal, link: Link, result: CheckResult) -> bool:
        """Whether the "no" that decided is one only the person lifts: an objection, an
        erasure, a withdrawal of everything, or their own in person. A system's (a CRM's bounce
        handling) is not: the person's is recorded over it, or the CRM's next grant was taken
        (probe CE: the link answered "already done" and wrote nothing)."""
        _, current = await self._consents.subject_consents(principal, link.subject)
        fact = next((f for f in current if f.event_id == result.verdict.event_id), None)
        return fact is None or fact.target.is_all or persons_word(fact)

    async def _stopped(self, principal: Principal, link: Link, evidence: Evidence) -> Followed:
        """Every purpose on the link's channel withdrawn, unless a withdrawal of everything
        there (of this channel or of all) stands already with no grant on the channel since."""
        _, current = await self._consents.subject_consents(principal, link.subject)
        if standing_stop(everything_on(link.target.channel), current) is not None:
            return Followed.ALREADY
        stop = WithdrawConsent(
            link.subject,
            (),
            True,
            Source.PORTAL,
            "unsubscribe link",
            evidence,
            channel=link.target.channel,
        )
        await self._consents.withdraw_consent(principal, stop)
        return Followed.WITHDRAWN


class _Held:
    """A subject's lock and how many follows hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


# The answers that are the person's "no" already: nothing more to record.
STANDING_NO = frozenset({Reason.WITHDRAWN, Reason.REFUSED, Reason.OBJECTED, Reason.ERASED})
