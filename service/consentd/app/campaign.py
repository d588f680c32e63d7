"""Use cases of marketing tools at campaign scale: batch and streamed checks, the change feed,
the suppression list and the keyed hashes of contact points."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from consentd.app.changes import ChangeHub
from consentd.app.checks import Checker, Decided, Tally, check_as_of, unknown_purpose
from consentd.app.commands import SubjectSelector
from consentd.app.paging import decode_token, encode_token
from consentd.app.ports import (
    Clock,
    FeedChange,
    LogSequencer,
    ReadUnitOfWorkFactory,
    SuppressedRow,
)
from consentd.domain.decision import SUPPRESSING, decide
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import Identifier, IdentifierHasher, IdentifierKind
from consentd.domain.model import Channel, Reason, Target
from consentd.domain.rights import BlockKind
from consentd.domain.tenancy import Principal

MAX_BATCH = 1000
# Chunks a stream decides ahead of the one being answered (each one query at most); with the
# chunk being read and the one being answered, a stream holds at most READ_AHEAD + 2 chunks.
READ_AHEAD = 2
SUPPRESSION_PAGE = 1000
_CHANGES = "changes"
_CONTACT_KIND = {
    Channel.EMAIL: IdentifierKind.EMAIL,
    Channel.SMS: IdentifierKind.PHONE,
    Channel.VOICE_CALL: IdentifierKind.PHONE,
}

Recipient = SubjectSelector | InvalidInput
Hashed = tuple[IdentifierKind, bytes]


@dataclass(frozen=True, slots=True)
class AnswerChunk:
    """The answers to one chunk of a stream; `first_index` numbers its first recipient."""

    first_index: int
    decided: Decided


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[FeedChange]
    cursor: str


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
    erasure leaves (no link to the person is kept)."""

    digest: bytes
    kind: IdentifierKind
    subject_id: UUID | None
    reason: Reason
    event_id: UUID | None
    since: datetime


@dataclass(frozen=True, slots=True)
class FeedTiming:
    """How often a watcher looks for changes committed by other processes, how long an idle
    feed waits before sending a heartbeat (an empty message) to keep proxies from closing it,
    and how many subjects an export reads at a time."""

    poll_seconds: float = 0.5
    heartbeat_seconds: float = 15.0
    # Subjects read per query of the suppression list.
    suppression_page: int = SUPPRESSION_PAGE


class CampaignUseCases:
    def __init__(
        self,
        reads: ReadUnitOfWorkFactory,
        hasher: IdentifierHasher,
        clock: Clock,
        hub: ChangeHub,
        timing: FeedTiming = FeedTiming(),
        *,
        tally: Tally | None = None,
        sequencer: LogSequencer | None = None,
    ) -> None:
        self._sequencer = sequencer
        self._reads = reads
        self._hasher = hasher
        self._clock = clock
        self._hub = hub
        self._timing = timing
        self._checker = Checker(reads, hasher, clock, tally)

    async def check_batch(
        self,
        principal: Principal,
        target: Target,
        as_of: datetime | None,
        recipients: Sequence[Recipient],
    ) -> Decided:
        """One answer per recipient, in order, from one query. Raises NotFound (purpose),
        InvalidInput (as_of in the future, more than MAX_BATCH recipients)."""
        check_as_of(as_of, self._clock())
        if not 1 <= len(recipients) <= MAX_BATCH:
            raise InvalidInput("recipients", f"must hold 1 to {MAX_BATCH} items")
        return await self._checker.decide_items(principal.tenant_id, target, as_of, recipients)

    async def stream_checks(
        self,
        principal: Principal,
        target: Target,
        as_of: datetime | None,
        chunks: AsyncIterator[Sequence[Recipient]],
    ) -> AsyncGenerator[AnswerChunk, None]:
        """The answers to each chunk, in order, each chunk read in its own snapshot taken after
        the chunk arrived. Raises NotFound (purpose) before reading any chunk, and whatever
        reading a chunk raises after answering the chunks before it."""
        check_as_of(as_of, self._clock())
        tenant = principal.tenant_id
        await self._checker.decide(tenant, target, as_of, [])
        window: asyncio.Queue[tuple[int, asyncio.Task[Decided]] | BaseException | None]
        window = asyncio.Queue(maxsize=READ_AHEAD)

        async def read() -> None:
            index = 0
            try:
                async for chunk in chunks:
                    work = self._checker.decide_items(tenant, target, as_of, chunk)
                    await window.put((index, asyncio.ensure_future(work)))
                    index += len(chunk)
                await window.put(None)
            except Exception as error:  # noqa: BLE001 - handed to the answering side
                await window.put(error)

        reader = asyncio.create_task(read())
        try:
            while (item := await window.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                first, work = item
                yield AnswerChunk(first, await work)
        finally:
            reader.cancel()
            while not window.empty():
                left = window.get_nowait()
                if isinstance(left, tuple):
                    left[1].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def watch_changes(
        self, principal: Principal, cursor: str, from_now: bool, limit: int
    ) -> AsyncIterator[ChangePage]:
        """Changes after the cursor in position order, then new ones as they commit; an empty
        page as a heartbeat when idle. Never ends by itself. Raises InvalidInput for a cursor
        that is not one of ours or is ahead of the feed."""
        tenant = principal.tenant_id
        position = _cursor_position(cursor)
        if from_now and position is not None:
            raise InvalidInput("from_now", "must be false when a cursor is given")
        if self._sequencer is not None:
            # Writes acknowledged before the watch began are in the feed it starts from.
            await self._sequencer.drain(tenant)
        async with self._reads(tenant) as uow:
            head = await uow.campaign.last_position()
        if position is None:
            position = head if from_now else 0
        elif position > head:
            raise InvalidInput("cursor", "is ahead of this tenant's feed")
        sent = time.monotonic()
        while True:
            ticket = self._hub.ticket(tenant)
            async with self._reads(tenant) as uow:
                changes = await uow.campaign.changes_after(position, limit)
            if changes:
                self._hub.release(tenant, ticket)
                position = changes[-1].position
                yield ChangePage(changes, encode_token(_CHANGES, position))
                sent = time.monotonic()
                continue
            if time.monotonic() - sent >= self._timing.heartbeat_seconds:
                yield ChangePage([], encode_token(_CHANGES, position))
                sent = time.monotonic()
            await self._hub.wait(tenant, ticket, self._timing.poll_seconds)

    async def suppression_list(
        self, principal: Principal, target: Target
    ) -> AsyncIterator[list[Suppressed]]:
        """Pages of contact points that must not be contacted for the target, in subject order.
        Raises InvalidInput for a channel without contact points, NotFound for the purpose."""
        async for page, _ in self.suppression_pages(principal, target):
            if page:
                yield page

    async def suppression_pages(
        self, principal: Principal, target: Target, start: ExportCursor | None = None
    ) -> AsyncIterator[tuple[list[Suppressed], ExportCursor]]:
        """suppression_list() with, after each page, the cursor that resumes after it (`start`:
        resume there). Subjects come first in id order, then the contact points suppressed on
        their own (an erased person's, which no subject names) in digest order."""
        kind = _CONTACT_KIND.get(target.channel)
        if kind is None:
            raise InvalidInput(
                "target.channel", "must be EMAIL, SMS or VOICE_CALL: no other has a contact point"
            )
        tenant = principal.tenant_id
        async with self._reads(tenant) as uow:
            known = await uow.campaign.check(target, [], None, self._clock())
        if known is None:
            raise unknown_purpose(target.purpose)
        purpose = known.purpose
        start = start or ExportCursor()
        after: UUID | None = start.after_subject
        page_size = self._timing.suppression_page
        while not start.subjects_done:
            now = self._clock()
            async with self._reads(tenant) as uow:
                rows = await uow.campaign.suppressed(target, kind, after, page_size, now)
            page = []
            for row in rows:
                # The rule of a check (blocks included), minus the notice floor: an outdated
                # notice is "ask again", not "never".
                facts = [row.fact] if row.fact else []
                verdict = decide(purpose, facts, now, None, row.blocks)
                if verdict.reason in SUPPRESSING and row.digest is not None:
                    page.append(
                        Suppressed(
                            row.digest,
                            kind,
                            row.subject_id,
                            verdict.reason,
                            verdict.event_id,
                            _since(row, verdict.event_id),
                        )
                    )
            done = len({row.subject_id for row in rows}) < page_size
            after = rows[-1].subject_id if rows else after
            cursor = ExportCursor(done, after)
            if page or done:
                yield page, cursor
            if done:
                break
        last: bytes | None = start.after_digest
        while True:
            async with self._reads(tenant) as uow:
                entries = await uow.campaign.suppression_entries(kind, last, page_size)
            last = entries[-1].digest if entries else last
            page = [
                Suppressed(e.digest, kind, None, _BLOCK_REASONS[e.reason], None, e.since)
                for e in entries
            ]
            if page:
                yield page, ExportCursor(True, after, last)
            if len(entries) < page_size:
                return

    def hash_contact_points(
        self, principal: Principal, contact_points: Sequence[Identifier | InvalidInput]
    ) -> list[Hashed | InvalidInput]:
        """The keyed digest of each contact point as the suppression list carries it. Raises
        InvalidInput for an empty or too long list."""
        if not 1 <= len(contact_points) <= MAX_BATCH:
            raise InvalidInput("contact_points", f"must hold 1 to {MAX_BATCH} items")
        tenant = principal.tenant_id
        return [
            c if isinstance(c, InvalidInput) else (c.kind, self._hasher.digest(tenant, c))
            for c in contact_points
        ]


_BLOCK_REASONS = {
    BlockKind.ERASED: Reason.ERASED,
    BlockKind.SUPPRESSED: Reason.SUPPRESSED,
    BlockKind.OBJECTED: Reason.OBJECTED,
    BlockKind.RESTRICTED: Reason.RESTRICTED,
}


def _since(row: SuppressedRow, event_id: UUID | None) -> datetime:
    """When the deciding fact was recorded, else when the newest block began."""
    if row.fact is not None and row.fact.event_id == event_id and row.since is not None:
        return row.since
    if row.blocks:
        return max(block.since for block in row.blocks)
    return row.since or datetime.min.replace(tzinfo=UTC)


def _cursor_position(cursor: str) -> int | None:
    position = decode_token(_CHANGES, cursor, "cursor")
    if position is not None and not (
        isinstance(position, int) and not isinstance(position, bool) and 0 <= position < 2**63
    ):
        raise InvalidInput("cursor", "is not a cursor issued by this feed")
    return position
