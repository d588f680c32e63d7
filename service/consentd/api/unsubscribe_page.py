"""`/unsubscribe/<token>` on the browser port: the link of an unsubscribe token
(app/unsubscribe.py). GET shows a page with two buttons and changes nothing (mail scanners follow
links); POST withdraws — the page's first button, or a mail client's RFC 8058 one-click POST
(`List-Unsubscribe=One-Click`): the link's purpose; its second button (`stop=channel`): every
purpose on the link's channel. No key: the token is the credential."""

from __future__ import annotations

import html

import structlog

from consentd.api.asgi import Receive, Scope, Send
from consentd.api.link_pages import (
    BY,
    INVALID,
    LATER,
    NOT_VALID,
    UNAVAILABLE,
    admitted,
    answer,
    both,
    form_fields,
    page,
    said,
)
from consentd.api.link_pages import evidence as link_evidence
from consentd.app.unsubscribe import Followed, Opened, Unsubscribes
from consentd.store.database import ERASED, OBJECTED, PURGED, outage_of

log = structlog.get_logger("consentd.unsubscribe")
# The database's own refusals of a withdrawal for a person who is gone or said no already (a
# restricted person erased since: every POST was 503 "try again", for ever; probe AK).
_GONE = frozenset({ERASED, OBJECTED, PURGED})
PREFIX = "/unsubscribe/"
_TITLE = ("Désabonnement", "Unsubscribe")
_DOWN = page(_TITLE, LATER, state=UNAVAILABLE)


def _ask(opened: Opened) -> str:
    what = html.escape(opened.name)
    fr, en = BY.get(opened.link.target.channel, ("", ""))
    # The channel named: "Stop receiving X?" read as X stopped everywhere, an e-mail link's page
    # stopping it by e-mail only (probe EA).
    unsubscribe = both("Me désabonner", "Unsubscribe")
    nothing_more = both(f"Plus rien {fr}", f"Nothing more {en}")
    return (
        said(f"Ne plus recevoir « {what} » {fr} ?", f"Stop receiving “{what}” {en}?")
        + f'<form method="post"><button type="submit">{unsubscribe}</button></form>'
        + said(f"Ou ne plus rien recevoir {fr} ?", f"Or nothing more {en}?")
        + '<form method="post"><input type="hidden" name="stop" value="channel">'
        + f'<button type="submit">{nothing_more}</button></form>'
    )


def _done(opened: Opened, whole_channel: bool) -> str:
    what = html.escape(opened.name)
    fr, en = BY.get(opened.link.target.channel, ("", ""))
    if whole_channel:
        words = (f"C'est fait : vous ne recevrez plus rien {fr}.", f"Done: nothing more {en}.")
    else:
        words = (
            f"C'est fait : vous ne recevrez plus « {what} » {fr}.",
            f"Done: you will not receive “{what}” {en} any more.",
        )
    return said(*words)


class UnsubscribePage:
    prefix = PREFIX

    def __init__(self, unsubscribes: Unsubscribes) -> None:
        self._unsubscribes = unsubscribes

    async def serve(self, scope: Scope, receive: Receive, send: Send, rest: str) -> None:
        method = scope["method"]
        if (admitted_send := await admitted(method, send)) is None:
            return
        send = admitted_send
        whole_channel = False
        opened: Opened | None = None
        try:
            opened = await self._unsubscribes.opened(rest)
            if opened is not None and method == "POST":
                # A form too large for ours asks nothing more: the link's own purpose, the
                # minimal "no" (the token is in every mail; probe CE).
                fields = await form_fields(scope, receive)
                if fields is None:
                    # Cut off: the client was answered 408 or went away. Nothing is written
                    # (it was withdrawn under a 408; probe DD); the link stays good.
                    log.info("unsubscribe_link_followed", outcome="cut_off")
                    return
                whole_channel = _asks_whole_channel(fields)
                evidence = link_evidence(scope, "unsubscribe link")
                followed = await self._unsubscribes.follow(
                    opened, evidence, whole_channel=whole_channel
                )
                # What an operator counts (never the token): links followed, and their outcome.
                log.info("unsubscribe_link_followed", outcome=followed.value)
        except Exception as error:  # noqa: BLE001 - the database down: say so, the link stays good
            if opened is None or outage_of(error) not in _GONE:
                log.warning("unsubscribe_failed", error=type(error).__name__)
                await answer(send, method, 503, _DOWN, [(b"retry-after", b"5")])
                return
            # Refused by the database: erased, objected or purged since (after a restriction
            # the check by id said restricted, and every POST was 503 "try again"; probe AK).
            log.info("unsubscribe_link_followed", outcome=Followed.ALREADY.value)
        if opened is None:
            await answer(send, method, 404, page(_TITLE, INVALID, state=NOT_VALID))
            return
        body = _done(opened, whole_channel) if method == "POST" else _ask(opened)
        await answer(send, method, 200, page(_TITLE, body, opened.principal.tenant.name))


def _asks_whole_channel(fields: list[tuple[str, str]]) -> bool:
    """Whether a POST's form is the second button's (`stop=channel`; a mail client's one-click
    POST is `List-Unsubscribe=One-Click`: the link's own purpose). Any case, blanks around:
    `STOP=CHANNEL` or `stop=chan%6eel` stopped only the link's purpose (probe BG)."""
    return any(k.strip().lower() == "stop" and v.strip().lower() == "channel" for k, v in fields)
