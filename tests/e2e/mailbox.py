"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, a free port), keeping what it
receives, and fixtures of an App whose notifier sends through it (its own gRPC server)."""

from __future__ import annotations

import asyncio
import email
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from typing import Any
from uuid import uuid4

import grpc
from aiosmtpd.controller import Controller
from consent.v1 import catalog_pb2_grpc, consent_pb2_grpc, cookies_pb2_grpc

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs, bearer

TOKEN_IN_LINK = re.compile(r"confirm=([A-Za-z0-9_-]{20,})")
# Where the confirmation link points: the preference centre, as a portal would send it on.
LINK = "https://portal.example/preferences/#confirm={token}"


class Mailbox:
    """Collects every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    async def wait_for(self, to: str, count: int = 1, seconds: float = 10.0) -> list[Message]:
        """The messages to `to` once there are `count` of them (the send follows the commit)."""
        for _ in range(int(seconds / 0.05)):
            found = [m for m in self.messages if m["To"] == to]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"{count} message(s) expected, {len(self.messages)} received")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """aiosmtpd in its own thread on 127.0.0.1; stopped on exit."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def token_of(message: Message) -> str:
    found = TOKEN_IN_LINK.search(body_of(message))
    assert found, "the confirmation message carries no link with a token"
    return found.group(1)


async def new_tenant(app: App, channel: grpc.aio.Channel) -> tuple[Stubs, Tenant]:
    """A fresh tenant of `app`, and stubs with an admin key of it."""
    admin = app.admin
    assert isinstance(admin, AdminUseCases)
    tenant = await admin.create_tenant(f"doi-{uuid4().hex[:12]}")
    key, _ = await admin.issue_key(tenant.slug, [Scope.ADMIN.value], name="tests")
    stubs = Stubs(
        consent_pb2_grpc.ConsentServiceStub(channel),
        catalog_pb2_grpc.CatalogServiceStub(channel),
        bearer(key.token),
        cookies_pb2_grpc.CookieServiceStub(channel),
    )
    return stubs, tenant
