"""What the pages a link in a message opens share (api/unsubscribe_page.py,
api/confirm_page.py): their headers (no cache, no script, no framing, no referrer), bilingual
sentences, how a channel is named, the page around a body, and the evidence a click leaves."""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol
from uuid import UUID

from consentd.api.asgi import Receive, Scope, Send, header, respond
from consentd.api.refusals import DISCARDED_BODY_LIMIT, closing, small_body
from consentd.app.commands import Evidence
from consentd.domain.cookies import MAX_USER_AGENT
from consentd.domain.model import Channel
from consentd.domain.tenancy import tenant_id_of

HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]

# How each channel is named on the page (French / English).
BY = {
    Channel.EMAIL: ("par e-mail", "by e-mail"),
    Channel.SMS: ("par SMS", "by text message"),
    Channel.VOICE_CALL: ("par téléphone", "by phone"),
    Channel.CHAT: ("par messagerie", "by chat"),
    Channel.SOCIAL: ("sur les réseaux sociaux", "on social networks"),
    Channel.POSTAL: ("par courrier", "by post"),
    Channel.PUSH: ("par notification", "by push notification"),
}


def both(fr: str, en: str) -> str:
    """A sentence in French, then in English marked as such (a screen reader read the English
    with a French voice: probe EA)."""
    return f'{fr} / <span lang="en">{en}</span>'


def said(fr: str, en: str) -> str:
    """both() as a paragraph."""
    return f"<p>{both(fr, en)}</p>"


INVALID = said("Ce lien n'est pas valable.", "This link is not valid.")
LATER = said(
    "Le service est momentanément indisponible : réessayez dans un instant.",
    "The service is unavailable for a moment: try again shortly.",
)


def page(
    title: tuple[str, str], body: str, sender: str = "", state: tuple[str, str] | None = None
) -> bytes:
    """The whole page: `title` in French and English, whose messages these are (`sender`, the
    tenant's name: a page naming no company looked like phishing), then `body`. `state`: what
    the window's title says before it (a link not valid, the service down: every state had
    the same title; probe ZD)."""
    fr, en = title
    named = html.escape(sender)
    whose = said(f"Messages de {named}", f"Messages from {named}") if sender else ""
    shown = f"{state[0]} – {fr} / {state[1]} – {en}" if state else f"{fr} / {en}"
    return (
        f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{shown}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f'<body style="font-family:sans-serif;max-width:40em;margin:2em auto">'
        f"<h1>{both(fr, en)}</h1>{whose}{body}</body></html>"
    ).encode()


async def admitted(method: str, send: Send) -> Send | None:
    """`send` for a GET, HEAD or POST (the only methods of these pages), a POST's closing the
    connection after its answer: the link is read before the body, which is not waited for (a
    POST of a made-up link with a Content-Length and no body waited 30 s for a 408; probe BQ).
    None once any other method was answered 405."""
    if method not in ("GET", "HEAD", "POST"):
        await respond(send, 405, b"", [(b"allow", b"GET, HEAD, POST")])
        return None
    return closing(send) if method == "POST" else send


async def answer(
    send: Send,
    method: str,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """The page (none for HEAD) with HEADERS and `headers`."""
    await respond(send, status, body if method != "HEAD" else b"", [*HEADERS, *(headers or ())])


def evidence(scope: Scope, label: str) -> Evidence:
    """The request's own address and user agent, kept (sealed) with what the click wrote."""
    client = scope.get("client")
    agent = (header(scope, b"user-agent") or "")[:MAX_USER_AGENT]
    return Evidence(client[0] if client else "", agent, label)


class LinkPage(Protocol):
    """A page under `prefix` (`/unsubscribe/`, `/confirm/`), handed the path's rest."""

    prefix: str

    async def serve(self, scope: Scope, receive: Receive, send: Send, rest: str) -> None: ...


def page_for(pages: Sequence[LinkPage], path: str) -> LinkPage | None:
    return next((p for p in pages if path.startswith(p.prefix)), None)


async def form_fields(scope: Scope, receive: Receive) -> list[tuple[str, str]] | None:
    """A POST's form fields, decoded (percent-escapes, `+`), from its first 64 KiB; [] for a
    body declared larger than any form of ours (not waited for: a 1 GB Content-Length held a
    link 30 s for a 408, probe CE); None when the body was cut off (the client was answered
    408 or went away: a form cut off is no form, probe DD)."""
    declared = header(scope, b"content-length") or "0"
    if declared.isdigit() and int(declared) > DISCARDED_BODY_LIMIT:
        return []
    body = await small_body(receive)
    return None if body is None else urllib.parse.parse_qsl(body.decode("latin-1"))


async def tenant_named(text: str, exists: Callable[[UUID], Awaitable[bool]]) -> UUID | None:
    """The tenant a link's path names, in its one spelling (upper case, braces or no dashes
    were the same link), when it exists (`exists`: the gate's cached look-up, a made-up id
    costs no transaction; probe IE)."""
    tenant_id = tenant_id_of(text)
    return tenant_id if tenant_id is not None and await exists(tenant_id) else None


# What a window's title says of a link page's state (page()'s `state`).
UNAVAILABLE = ("Service indisponible", "Service unavailable")
NOT_VALID = ("Lien non valable", "Link not valid")
