"""The suppression list of a target: every contact point a check of the target answers with a
suppressing DENY now, read a page at a time with a cursor that resumes after each page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from consentd.app.checks import Checker
from consentd.app.paging import decode_token, encode_token
from consentd.app.ports import Clock, ReadUnitOfWorkFactory
from consentd.domain.decision import DO_NOT_CONTACT
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import IdentifierHasher, IdentifierKind
from consentd.domain.model import Channel, Reason, Target
from consentd.domain.tenancy import Principal

# Subjects read per query of the suppression list.
SUPPRESSION_PAGE = 1000
_CONTACT_KIND = {
    Channel.EMAIL: IdentifierKind.EMAIL,
    Channel.SMS: IdentifierKind.PHONE,
    Channel.VOICE_CALL: IdentifierKind.PHONE,
}
_RESUME = "suppressions"
_NOT_OURS = "is not a resume_token of this target's suppression list"


@dataclass(frozen=True, slots=True)
class ExportCursor:
    """Where a suppression-list export stands: the subjects up to `after_subject` (all of them
    once `subjects_done`), then the lone entries up to `after_digest`."""

    subjects_done: bool = False
    after_subject: UUID | None = None
    after_digest: bytes | None = None


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A contact point not to contact; `subject_id` and `event_id` are None for the entry an
    erasure leaves (no link to the person is kept), and `since` is None when the DENY is not
    the named holder's own (an erasure's, an earlier holder's: its instant was a link too)."""

    digest: bytes
    kind: IdentifierKind
    subject_id: UUID | None
    reason: Reason
    event_id: UUID | None
    since: datetime | None


class SuppressionList:
    """Reads the suppression list of a target; `page_size` subjects (or lone contact points)
    per query."""

    def __init__(
        self,
        reads: ReadUnitOfWorkFactory,
        hasher: IdentifierHasher,
        clock: Clock,
        page_size: int = SUPPRESSION_PAGE,
    ) -> None:
        self._reads = reads
        self._clock = clock
        self._page_size = page_size
        # The suppression list asks the checks' rule too, but is not counted as checks.
        self._rule = Checker(reads, hasher, clock)

    async def entries(
        self, principal: Principal, target: Target
    ) -> AsyncIterator[list[Suppressed]]:
        """Pages of contact points that must not be contacted for the target, in subject order.
        Raises InvalidInput for a channel without contact points, NotFound for the purpose."""
        async for page, _ in self.pages(principal, target):
            if page:
                yield page

    async def resumable(
        self, principal: Principal, target: Target, token: str
    ) -> AsyncIterator[tuple[list[Suppressed], str]]:
        """entries() with each page's resume token; `token` (one of those): go on after its
        page. A stream cut off had to start over, a CLI export could resume (probe DT).
        Raises InvalidInput for a token of another list, or not one of ours."""
        tenant, scope = (
            principal.tenant_id,
            f"{target.purpose}|{target.channel.value}|{target.scope.value}",
        )
        cursor = decode_token(_RESUME, token, "resume_token", scope, tenant=tenant)
        async for page, at in self.pages(principal, target, _export_cursor(cursor)):
            if page:
                subject, digest = str(at.after_subject or ""), (at.after_digest or b"").hex()
                yield (
                    page,
                    encode_token(
                        _RESUME, [at.subjects_done, subject, digest], scope, tenant=tenant
                    ),
                )

    async def pages(
        self, principal: Principal, target: Target, start: ExportCursor | None = None
    ) -> AsyncIterator[tuple[list[Suppressed], ExportCursor]]:
        """entries() with, after each page, the cursor that resumes after it (`start`: resume
        there). Subjects come first in id order, then the contact points suppressed on their own
        (an erased person's, which no subject names) in digest order."""
        kind = _CONTACT_KIND.get(target.channel)
        if kind is None:
            raise InvalidInput(
                "target.channel", "must be EMAIL, SMS or VOICE_CALL: no other has a contact point"
            )
        tenant = principal.tenant_id
        await self._rule.decide(tenant, target, None, [])  # NotFound for the purpose
        start = start or ExportCursor()
        after: UUID | None = start.after_subject
        if not start.subjects_done:
            async for page, cursor in self._subject_pages(tenant, target, kind, after):
                after = cursor.after_subject
                yield page, cursor
        async for page, last in self._lone_pages(tenant, target, kind, start.after_digest):
            yield page, ExportCursor(True, after, last)

    async def _subject_pages(
        self, tenant: UUID, target: Target, kind: IdentifierKind, after: UUID | None
    ) -> AsyncIterator[tuple[list[Suppressed], ExportCursor]]:
        """The suppressed contact points of the subjects after `after`, in subject order; the
        last page (maybe empty) has a cursor with `subjects_done`."""
        while True:
            async with self._reads(tenant) as uow:
                rows = await uow.campaign.suppression_candidates(
                    target, kind, after, self._page_size, self._clock()
                )
            held = [(subject, digest) for subject, digest in rows if digest is not None]
            page = await self._suppressed(tenant, target, kind, [d for _, d in held])
            done = len({subject for subject, _ in rows}) < self._page_size
            after = rows[-1][0] if rows else after
            if page or done:
                yield page, ExportCursor(done, after)
            if done:
                return

    async def _lone_pages(
        self, tenant: UUID, target: Target, kind: IdentifierKind, last: bytes | None
    ) -> AsyncIterator[tuple[list[Suppressed], bytes | None]]:
        """The suppressed contact points nobody holds, after the digest `last`, each page with
        the digest it ends on."""
        while True:
            async with self._reads(tenant) as uow:
                digests = await uow.campaign.unheld_contact_points(kind, last, self._page_size)
            last = digests[-1] if digests else last
            page = await self._suppressed(tenant, target, kind, digests)
            if page:
                yield page, last
            if len(digests) < self._page_size:
                return

    async def _suppressed(
        self, tenant: UUID, target: Target, kind: IdentifierKind, digests: Sequence[bytes]
    ) -> list[Suppressed]:
        """The contact points a check of the target answers with a suppressing DENY now: the
        checks' own rule, from the checks' own query."""
        if not digests:
            return []
        _, results = await self._rule.decide(
            tenant, target, None, [(kind, digest) for digest in digests]
        )
        return [
            Suppressed(
                digest,
                kind,
                result.subject_id,
                result.verdict.reason,
                result.verdict.event_id,
                result.since,
            )
            for digest, result in zip(digests, results, strict=True)
            if result.verdict.reason in DO_NOT_CONTACT
        ]


def _export_cursor(value: Any) -> ExportCursor | None:
    """A resume token's cursor: [subjects done, last subject id or "", last digest in hex or
    ""]. Raises InvalidInput for anything else (a token is base64 JSON: anyone can forge one)."""
    if value is None:
        return None
    try:
        done, subject, digest = value
        if not (isinstance(done, bool) and isinstance(subject, str) and isinstance(digest, str)):
            raise TypeError
        return ExportCursor(
            done, UUID(subject) if subject else None, bytes.fromhex(digest) if digest else None
        )
    except (TypeError, ValueError):
        raise InvalidInput("resume_token", _NOT_OURS) from None
