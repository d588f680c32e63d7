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
from consentd.app.unsubscribe import Followed, Unsubscribes
from consentd.domain.cookies import MAX_USER_AGENT

log = structlog.get_logger("consentd.unsubscribe")
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
_ASK = (
    "<p>Ne plus recevoir ces messages ? / Stop receiving these messages?</p>"
    '<form method="post"><button type="submit">Me désabonner / Unsubscribe</button></form>'
)
_DONE = (
    "<p>C'est fait : vous ne recevrez plus ces messages. / Done: you will not receive these "
    "messages any more.</p>"
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
        if method != "POST":
            known = self._unsubscribes.links.opened(token) is not None
            status, body = (200, _ASK) if known else (404, _INVALID)
            await respond(send, status, _page(body) if method == "GET" else b"", HEADERS)
            return
        await discard_body(receive)
        client = scope.get("client")
        agent = (header(scope, b"user-agent") or "")[:MAX_USER_AGENT]
        evidence = Evidence(client[0] if client else "", agent, "unsubscribe link")
        try:
            followed = await self._unsubscribes.follow(token, evidence)
        except Exception as error:  # noqa: BLE001 - the database down: say so, the link stays good
            log.warning("unsubscribe_failed", error=type(error).__name__)
            await respond(send, 503, _page(_LATER), [*HEADERS, (b"retry-after", b"5")])
            return
        # What an operator counts (never the token): links followed, and links not ours.
        log.info("unsubscribe_link_followed", outcome=followed.value)
        invalid = followed is Followed.INVALID
        await respond(send, 404 if invalid else 200, _page(_INVALID if invalid else _DONE), HEADERS)
