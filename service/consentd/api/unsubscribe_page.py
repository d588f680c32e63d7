"""`/unsubscribe/<token>` on the browser port: the link of an unsubscribe token
(app/unsubscribe.py). GET shows a page with one button and changes nothing (mail scanners follow
links); POST withdraws — the page's button, or a mail client's RFC 8058 one-click POST
(`List-Unsubscribe=One-Click`). No key: the token is the credential."""

from __future__ import annotations

import html

import structlog

from consentd.api.asgi import Receive, Scope, Send, header, respond
from consentd.api.refusals import discard_body
from consentd.app.commands import Evidence
from consentd.app.unsubscribe import Followed, Opened, Unsubscribes
from consentd.domain.cookies import MAX_USER_AGENT
from consentd.store.database import ERASED, OBJECTED, PURGED, outage_of

log = structlog.get_logger("consentd.unsubscribe")
# The database's own refusals of a withdrawal for a person who is gone or said no already (a
# restricted person erased since: every POST was 503 "try again", for ever; probe AK).
_GONE = frozenset({ERASED, OBJECTED, PURGED})
PREFIX = "/unsubscribe/"
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


def _ask(name: str) -> str:
    what = html.escape(name)
    return (
        f"<p>Ne plus recevoir « {what} » ? / Stop receiving “{what}”?</p>"
        '<form method="post"><button type="submit">Me désabonner / Unsubscribe</button></form>'
    )


def _done(name: str) -> str:
    what = html.escape(name)
    return (
        f"<p>C'est fait : vous ne recevrez plus « {what} ». / Done: you will not receive "
        f"“{what}” any more.</p>"
    )


_INVALID = "<p>Ce lien n'est pas valable. / This link is not valid.</p>"
_LATER = (
    "<p>Le service est momentanément indisponible : réessayez dans un instant. / The service is "
    "unavailable for a moment: try again shortly.</p>"
)


def _page(body: str) -> bytes:
    title = "Désabonnement / Unsubscribe"
    return (
        f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f'<body style="font-family:sans-serif;max-width:40em;margin:2em auto">'
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    ).encode()


class UnsubscribePage:
    def __init__(self, unsubscribes: Unsubscribes) -> None:
        self._unsubscribes = unsubscribes

    async def serve(self, scope: Scope, receive: Receive, send: Send, token: str) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD", "POST"):
            await respond(send, 405, b"", [(b"allow", b"GET, HEAD, POST")])
            return
        if method == "POST":
            await discard_body(receive)
        opened: Opened | None = None
        try:
            opened = await self._unsubscribes.opened(token)
            if opened is not None and method == "POST":
                followed = await self._unsubscribes.follow(opened, _evidence(scope))
                # What an operator counts (never the token): links followed, and their outcome.
                log.info("unsubscribe_link_followed", outcome=followed.value)
        except Exception as error:  # noqa: BLE001 - the database down: say so, the link stays good
            if opened is None or outage_of(error) not in _GONE:
                log.warning("unsubscribe_failed", error=type(error).__name__)
                await _answer(send, method, 503, _LATER, [*HEADERS, (b"retry-after", b"5")])
                return
            # Refused by the database: erased, objected or purged since (after a restriction
            # the check by id said restricted, and every POST was 503 "try again"; probe AK).
            log.info("unsubscribe_link_followed", outcome=Followed.ALREADY.value)
        if opened is None:
            await _answer(send, method, 404, _INVALID, HEADERS)
            return
        page = _done(opened.name) if method == "POST" else _ask(opened.name)
        await _answer(send, method, 200, page, HEADERS)


def _evidence(scope: Scope) -> Evidence:
    """The request's own address and user agent, kept (sealed) with the withdrawal."""
    client = scope.get("client")
    agent = (header(scope, b"user-agent") or "")[:MAX_USER_AGENT]
    return Evidence(client[0] if client else "", agent, "unsubscribe link")


async def _answer(
    send: Send, method: str, status: int, body: str, headers: list[tuple[bytes, bytes]]
) -> None:
    await respond(send, status, _page(body) if method != "HEAD" else b"", headers)
