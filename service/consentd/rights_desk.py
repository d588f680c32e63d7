"""The rights desk: a tenant's address (its DPO's, `consentd tenants rights-desk`) mailed once a
day the rights requests to answer: those late, those due within seven days, those received
since the digest before. A request near or past its month was said only in the service's log
and metrics, which the operator reads, not the tenant who answers it.

Sent by the deadline watch (deadline_watch.py, every quarter hour, with the owner's URL) on its
first pass after 08:00 Paris time, one replica per tenant (store/rights_desk.py takes the
digest in a transaction); nothing when there is nothing to answer; a relay that refused puts it
back for the next pass. The digest names requests by id, kind, state and dates: never a
person's contact point."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.app.ports import Notifier
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.months import LEGAL_ZONE
from consentd.notify_templates import local_time
from consentd.store.rights_desk import (
    DIGEST_LINES,
    DeskLine,
    Digest,
    due_desks,
    give_back,
    take_digest,
)

log = structlog.get_logger("consentd.rights_desk")
DIGEST_HOUR = 8  # Paris time
DUE_SOON = timedelta(days=7)  # how near a deadline is said ahead of it (the log's too)

_KINDS = {
    "fr": {"access": "accès", "rectify": "rectification", "erase": "effacement",
           "restrict": "limitation", "object": "opposition", "port": "portabilité"},
    "en": {"access": "access", "rectify": "rectification", "erase": "erasure",
           "restrict": "restriction", "object": "objection", "port": "portability"},
}  # fmt: skip
_STATES = {
    "fr": {"received": "identité à vérifier", "identity_verified": "identité vérifiée",
           "in_progress": "en cours", "done": "traitée", "refused": "refusée"},
    "en": {"received": "identity to verify", "identity_verified": "identity verified",
           "in_progress": "in progress", "done": "done", "refused": "refused"},
}  # fmt: skip
_TEXT = {
    "fr": (
        "Demandes d'exercice des droits à traiter — {tenant}",
        "Bonjour,\n\nLes demandes d'exercice des droits à traiter pour {tenant}, au {today} :\n\n"
        "- en retard : {overdue}\n- à rendre dans les 7 jours : {due_soon}\n"
        "- reçues depuis le récapitulatif précédent : {received}\n\n{lines}\n\n"
        "Une demande reçoit une réponse dans le mois de sa réception (RGPD, art. 12(3)), délai "
        "prolongeable de deux mois en informant la personne. Elles se traitent avec "
        "RightsService (ListRightsRequests : overdue_only, due_within_days).\n\n"
        "Ce message ne donne aucune coordonnée des personnes : chaque demande se retrouve par "
        "sa référence.\n",
        "{id}  {kind} — {state} — reçue le {received}, échéance {due}{late}",
        " — EN RETARD",
        "(liste limitée aux {shown} premières)",
    ),
    "en": (
        "Rights requests to answer — {tenant}",
        "Hello,\n\nThe rights requests of {tenant} to answer, as of {today}:\n\n"
        "- late: {overdue}\n- due within 7 days: {due_soon}\n"
        "- received since the previous digest: {received}\n\n{lines}\n\n"
        "A request is answered within a month of its receipt (GDPR art. 12(3)), which may be "
        "extended by two months, telling the person. Answer them with RightsService "
        "(ListRightsRequests: overdue_only, due_within_days).\n\n"
        "This message gives no contact point of anyone: find each request by its reference.\n",
        "{id}  {kind} — {state} — received {received}, due {due}{late}",
        " — LATE",
        "(the first {shown} only)",
    ),
}


def digest_since(now: datetime) -> datetime:
    """The day's digest hour last passed (08:00 Paris time): a desk whose digest was taken
    before it is due one."""
    local = now.astimezone(LEGAL_ZONE)
    start = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if local < start:
        start -= timedelta(days=1)
    return start.astimezone(UTC)


def digest_text(language: str, digest: Digest, now: datetime) -> tuple[str, str]:
    language = language if language in _TEXT else "fr"
    subject, body, line, late, cut = _TEXT[language]
    lines = [_line(language, line, late, entry, now) for entry in digest.lines[:DIGEST_LINES]]
    if len(digest.lines) > DIGEST_LINES:  # one more was read: there are more
        lines.append(cut.format(shown=DIGEST_LINES))
    name = digest.tenant.name
    return subject.format(tenant=name), body.format(
        tenant=name, today=local_time(now, language), overdue=digest.overdue,
        due_soon=digest.due_soon, received=digest.received, lines="\n".join(lines),
    )  # fmt: skip


def _line(language: str, line: str, late: str, entry: DeskLine, now: datetime) -> str:
    day = "%d/%m/%Y" if language == "fr" else "%Y-%m-%d"
    due = entry.due_at.astimezone(LEGAL_ZONE).strftime(day) if entry.due_at else "—"
    closed = entry.state in ("done", "refused")
    return line.format(
        id=entry.request_id,
        kind=_KINDS[language].get(entry.kind, entry.kind),
        state=_STATES[language].get(entry.state, entry.state),
        received=entry.received_at.astimezone(LEGAL_ZONE).strftime(day),
        due=due,
        late=late if entry.due_at and entry.due_at < now and not closed else "",
    )


class RightsDesk:
    """Sends the tenants' digests that are due (see the module's docstring)."""

    def __init__(
        self,
        owner: AsyncEngine,
        notifier: Notifier,
        language: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._owner, self._notifier, self._language = owner, notifier, language
        self._clock = clock

    async def send_due(self) -> int:
        """The digests due, sent; how many went. Nothing without a relay (only logged)."""
        if not self._notifier.delivers(IdentifierKind.EMAIL):
            return 0
        now = self._clock()
        since = digest_since(now)
        sent = 0
        for tenant_id in await due_desks(self._owner, since):
            digest = await take_digest(self._owner, tenant_id, since, now, DUE_SOON)
            if digest is None:  # another replica's, or the desk gone meanwhile
                continue
            slug = digest.tenant.slug
            if not digest.lines:
                log.info("rights_digest_skipped", tenant=slug, reason="nothing_to_answer")
                continue
            subject, body = digest_text(self._language, digest, now)
            try:
                await self._notifier.send_to_desk(digest.tenant, digest.address, subject, body)
            except Exception as error:  # noqa: BLE001 - the relay: said, tried at the next pass
                # The relay's reply code, never its text (it may quote the address); a
                # permanent refusal (5xx) is tried again tomorrow, not every quarter hour (RA).
                code = getattr(error, "code", None)
                permanent = isinstance(code, int) and 500 <= code < 600
                log.warning(
                    "rights_digest_failed", tenant=slug, error=type(error).__name__,
                    smtp_code=code, retried="tomorrow" if permanent else "next pass",
                )  # fmt: skip
                if not permanent:
                    await give_back(self._owner, digest)
                continue
            sent += 1
        return sent
