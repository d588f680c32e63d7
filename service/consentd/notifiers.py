"""Notifier adapters: how a rights request's one-time code, or a double opt-in confirmation,
reaches the person.

SmtpNotifier sends them by email through the operator's SMTP relay (aiosmtplib), in French or
English. LogNotifier (no relay configured) records that a message was due (tenant, request or
language, never the code, token or address); operators then confirm identities by attestation
and double opt-in grants stay pending. ByChannel adds texts to phones through the operator's
SMS gateway (sms.py). None ever logs an address, a number, a code or a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from uuid import UUID

import aiosmtplib
import structlog

from consentd.app.ports import ConfirmationMessage, Notifier
from consentd.config import Settings
from consentd.domain.confirmations import DEFAULT_LANGUAGE
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.rights import RequestState, RightsRequest
from consentd.domain.tenancy import Tenant
from consentd.notify_templates import code_text, confirmation_text, decision_text, link_text
from consentd.sms import SmsNotifier

log = structlog.get_logger("consentd.notify")
# The send happens inside the RecordConsent or SubmitRightsRequest call, after its commit.
SMTP_TIMEOUT = 10.0


def code_issued(tenant: Tenant, request_id: UUID, kind: IdentifierKind, *, delivered: bool) -> None:
    """The log line of a one-time code sent (or only logged): never the code nor the contact."""
    log.info(
        "verification_code_issued",
        tenant=tenant.slug,
        request_id=str(request_id),
        channel=kind.value,
        delivered=delivered,
    )


def decision_issued(tenant: Tenant, request: RightsRequest, *, delivered: bool) -> None:
    """The log line of an extension or refusal told (or only logged)."""
    log.info(
        "rights_decision_issued",
        tenant=tenant.slug,
        request_id=str(request.request_id),
        state=request.state.value,
        delivered=delivered,
    )


class LogNotifier:
    def delivers(self, kind: IdentifierKind) -> bool:
        """Nothing reaches anyone: messages are only logged."""
        return False

    async def send_code(
        self, tenant: Tenant, request_id: UUID, contact: Identifier, code: str
    ) -> None:
        code_issued(tenant, request_id, contact.kind, delivered=False)

    async def send_decision(
        self, tenant: Tenant, request: RightsRequest, contact: Identifier
    ) -> None:
        decision_issued(tenant, request, delivered=False)

    async def send_confirmation(self, message: ConfirmationMessage) -> None:
        log.info(
            "confirmation_issued",
            tenant=message.tenant.slug,
            language=message.language,
            delivered=False,
        )

    async def send_link(
        self, tenant: Tenant, contact: Identifier, url: str, expires: datetime
    ) -> None:
        log.info("preference_link_sent", tenant=tenant.slug, delivered=False)

    async def send_to_desk(self, tenant: Tenant, address: str, subject: str, body: str) -> None:
        log.info("rights_digest_sent", tenant=tenant.slug, delivered=False)


@dataclass(frozen=True)
class SmtpRelay:
    """Where mail goes: host, port, sender, optional login, and TLS (`starttls`, `tls` or
    `none` — the last for a relay on the same host only)."""

    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    tls: str = "starttls"

    def __repr__(self) -> str:
        return f"SmtpRelay({self.host}:{self.port}, tls={self.tls}, <credentials redacted>)"


class SmtpNotifier:
    """Sends by email; a phone contact point (SMS needs the tenant's own provider) is logged as
    LogNotifier does. Raises aiosmtplib.SMTPException when the relay refuses."""

    def __init__(self, relay: SmtpRelay, language: str = DEFAULT_LANGUAGE) -> None:
        self._relay = relay
        self._language = language
        self._fallback = LogNotifier()

    def delivers(self, kind: IdentifierKind) -> bool:
        """Email only: a phone contact point's code is only logged."""
        return kind is IdentifierKind.EMAIL

    async def send_code(
        self, tenant: Tenant, request_id: UUID, contact: Identifier, code: str
    ) -> None:
        if contact.kind is not IdentifierKind.EMAIL:
            await self._fallback.send_code(tenant, request_id, contact, code)
            return
        subject, body = code_text(self._language, tenant.name, code, str(request_id)[:8])
        await self._send(contact.value, subject, body)
        code_issued(tenant, request_id, contact.kind, delivered=True)

    async def send_decision(
        self, tenant: Tenant, request: RightsRequest, contact: Identifier
    ) -> None:
        if contact.kind is not IdentifierKind.EMAIL:
            await self._fallback.send_decision(tenant, request, contact)
            return
        what = "extended" if request.state is not RequestState.REFUSED else "refused"
        subject, body = decision_text(
            self._language, tenant.name, what, reference=str(request.request_id)[:8],
            reason=request.extension_reason if what == "extended" else request.outcome,
            due=request.extended_due_at,
        )  # fmt: skip
        await self._send(contact.value, subject, body)
        decision_issued(tenant, request, delivered=True)

    async def send_confirmation(self, message: ConfirmationMessage) -> None:
        subject, body = confirmation_text(
            message.language,
            message.tenant.name,
            purposes=message.purposes,
            link=message.link,
            token=message.token,
            expires_at=message.expires_at,
        )
        await self._send(message.contact.value, subject, body)
        log.info(
            "confirmation_issued",
            tenant=message.tenant.slug,
            language=message.language,
            delivered=True,
        )

    async def send_link(
        self, tenant: Tenant, contact: Identifier, url: str, expires: datetime
    ) -> None:
        """A person's preference link, which they asked for by their address (never logged)."""
        if contact.kind is not IdentifierKind.EMAIL:
            await self._fallback.send_link(tenant, contact, url, expires)
            return
        subject, body = link_text(self._language, tenant.name, url, expires)
        await self._send(contact.value, subject, body)
        log.info("preference_link_sent", tenant=tenant.slug, delivered=True)

    async def send_to_desk(self, tenant: Tenant, address: str, subject: str, body: str) -> None:
        await self._send(address, subject, body)
        log.info("rights_digest_sent", tenant=tenant.slug, delivered=True)

    async def _send(self, address: str, subject: str, body: str) -> None:
        email = EmailMessage()
        email["From"] = self._relay.sender
        email["To"] = address
        email["Subject"] = subject
        email["Message-ID"] = make_msgid(domain=self._relay.sender.rpartition("@")[2] or None)
        email["Date"] = format_datetime(_now())
        email["Auto-Submitted"] = "auto-generated"
        email.set_content(body)
        relay = self._relay
        await aiosmtplib.send(
            email,
            recipients=[address],  # this one mailbox, whatever a parser makes of the header
            hostname=relay.host,
            port=relay.port,
            username=relay.username or None,
            password=relay.password or None,
            start_tls=relay.tls == "starttls",
            use_tls=relay.tls == "tls",
            timeout=SMTP_TIMEOUT,
        )


def _now() -> datetime:
    return datetime.now(UTC)


class ByChannel:
    """E-mail through `email` (SMTP or log), texts to phones through `sms` when an SMS gateway is
    configured (sms.py), else logged: a person known by phone only can verify a request and be
    told of its extension or refusal."""

    def __init__(self, email: SmtpNotifier | LogNotifier, sms: SmsNotifier) -> None:
        self._email = email
        self._sms = sms

    def delivers(self, kind: IdentifierKind) -> bool:
        return self._sms.delivers(kind) or self._email.delivers(kind)

    async def send_code(
        self, tenant: Tenant, request_id: UUID, contact: Identifier, code: str
    ) -> None:
        if contact.kind is not IdentifierKind.PHONE:
            await self._email.send_code(tenant, request_id, contact, code)
            return
        await self._sms.send_code(tenant, request_id, contact, code)
        code_issued(tenant, request_id, contact.kind, delivered=True)

    async def send_decision(
        self, tenant: Tenant, request: RightsRequest, contact: Identifier
    ) -> None:
        if contact.kind is not IdentifierKind.PHONE:
            await self._email.send_decision(tenant, request, contact)
            return
        await self._sms.send_decision(tenant, request, contact)
        decision_issued(tenant, request, delivered=True)

    async def send_confirmation(self, message: ConfirmationMessage) -> None:
        await self._email.send_confirmation(message)

    async def send_link(
        self, tenant: Tenant, contact: Identifier, url: str, expires: datetime
    ) -> None:
        await self._email.send_link(tenant, contact, url, expires)

    async def send_to_desk(self, tenant: Tenant, address: str, subject: str, body: str) -> None:
        await self._email.send_to_desk(tenant, address, subject, body)


def notifier_of(settings: Settings) -> Notifier:
    """Email through the configured SMTP relay, texts through the SMS gateway; without them,
    messages are only logged."""
    email: SmtpNotifier | LogNotifier = LogNotifier()
    if settings.smtp_host is not None:
        relay = SmtpRelay(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_tls,
        )
        email = SmtpNotifier(relay, settings.notify_language)
    if settings.sms_gateway is None:
        return email
    return ByChannel(email, SmsNotifier(settings.sms_gateway, settings.notify_language))
