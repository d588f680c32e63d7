"""The `confirmations` section of a subject's export (an ExportSection of
app/subject_export.py): every double opt-in message sent to the person, oldest first — when,
where (the channel, never the address: it is in `identity`), in which language, for which
events, until when it could be used, whether and when it was. The link's token is never kept in
clear (only its SHA-256), so it is not exported. ExportSubject had no such section: a link sent
and never followed showed only as a pending event (probe AA)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consentd.app.ports import UnitOfWork
from consentd.domain.canonical import stamp


class ConfirmationExport:
    async def export(self, uow: UnitOfWork, subject_id: UUID) -> list[dict[str, Any]]:
        found = sorted(await uow.confirmations.of_subject(subject_id), key=lambda c: c.created_at)
        return [
            {
                "confirmation_id": str(c.confirmation_id),
                "channel": c.channel.value,
                "language": c.language,
                "event_ids": [str(e) for e in c.event_ids],
                "sent_at": stamp(c.created_at),
                "expires_at": stamp(c.expires_at),
                "confirmed_at": stamp(c.confirmed_at) if c.confirmed_at else None,
            }
            for c in found
        ]
