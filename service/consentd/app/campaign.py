"""Use cases of marketing tools at campaign scale: batch and streamed checks (here), the change
feed (app/feed.py), the suppression list (app/suppressions.py) and the keyed hashes of contact
points."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from consentd.app.changes import ChangeHub
from consentd.app.checks import Checker, Decided, Tally, check_as_of
from consentd.app.commands import SubjectSelector
from consentd.app.feed import ChangeFeed, ChangePage
from consentd.app.keys import SubjectKeys
from consentd.app.ports import Clock, ConsentTally, LogSequencer, ReadUnitOfWorkFactory
from consentd.app.suppressions import SUPPRESSION_PAGE, ExportCursor, Suppressed, SuppressionList
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import Identifier, IdentifierHasher, IdentifierKind
from consentd.domain.model import Target
from consentd.domain.tenancy import Principal

MAX_BATCH = 1000
# Chunks a stream decides ahead of the one being answered (each one query at most, running while
# the next chunk is read); with the chunk being read and the one being answered, a stream holds
# at most READ_AHEAD + 2 chunks.
READ_AHEAD = 2
# Stream chunks read and decided at once in the whole process (CONSENTD_BULK_CONCURRENCY).
BULK_CHUNKS = 4

Recipient = SubjectSelector | InvalidInput
Hashed = tuple[IdentifierKind, bytes]
# A stream's decided chunks, ahead of the answering side: (first index, answers), then None at
# the end, or what reading raised.
_Window = asyncio.Queue[tuple[int, asyncio.Future[Decided]] | BaseException | None]


@dataclass(frozen=True, slots=True)
class AnswerChunk:
    """The answers to one chunk of a stream; `first_index` numbers its first recipient."""

    first_index: int
    decided: Decided


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
        bulk: asyncio.Semaphore | None = None,
        sequencer: LogSequencer | None = None,
        keys: SubjectKeys | None = None,
    ) -> None:
        """`keys`: to open the subjects' external ids on the feed; `bulk`: how many stream
        chunks the whole process reads and decides at once (fair turns for every stream, the
        rest of the process left to single checks); `sequencer`: the audit log's, pushed along
        before a feed read (see jobs/sequencer.py)."""
        self._bulk = bulk or asyncio.Semaphore(BULK_CHUNKS)
        self._hasher = hasher
        self._clock = clock
        self._checker = Checker(reads, hasher, clock, tally)
        self._feed = ChangeFeed(
            reads, hub, timing.poll_seconds, timing.heartbeat_seconds, sequencer, keys=keys
        )
        self._suppressions = SuppressionList(reads, hasher, clock, timing.suppression_page)
        self._reads = reads

    async def tallies(
        self, principal: Principal, purpose: str | None
    ) -> tuple[list[ConsentTally], datetime]:
        """How many people hold each state of each target (of `purpose` alone), and when."""
        now = self._clock()
        async with self._reads(principal.tenant_id) as uow:
            return await uow.campaign.tallies(purpose, now), now

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
        window: _Window = asyncio.Queue(maxsize=READ_AHEAD)
        reader = asyncio.create_task(self._read_ahead(tenant, target, as_of, chunks, window))
        work: asyncio.Future[Decided] | None = None
        try:
            while (item := await window.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                first, work = item
                yield AnswerChunk(first, await work)
        finally:
            if work is not None and not work.done():
                work.cancel()
            await _stop_reading(reader, window)

    async def _read_ahead(
        self,
        tenant: UUID,
        target: Target,
        as_of: datetime | None,
        chunks: AsyncIterator[Sequence[Recipient]],
        window: _Window,
    ) -> None:
        """Read the stream's chunks and start deciding each (at most READ_AHEAD waiting to be
        answered), then None; or put what reading raised, for the answering side to raise.
        Chunks are decided while the next ones are read: one query at a time per
        stream left the database idle half the time (bulk line: server and PostgreSQL ~50 %
        each, in turn)."""
        index = 0
        try:
            while (chunk := await anext(chunks, None)) is not None:
                # Deciding a chunk (hashing, the query) holds a turn of the process-wide bulk
                # allowance until it is decided: 500 streams take turns, checks go first. Not
                # the wait for the chunk: streams whose callers sent nothing more held every
                # turn, and every other stream waited.
                await self._bulk.acquire()
                work = asyncio.ensure_future(
                    self._checker.decide_items(tenant, target, as_of, chunk)
                )
                work.add_done_callback(lambda _: self._bulk.release())
                try:
                    await window.put((index, work))
                except BaseException:
                    work.cancel()
                    raise
                index += len(chunk)
            await window.put(None)
        except Exception as error:  # noqa: BLE001 - handed to the answering side
            await window.put(error)

    def watch_changes(
        self, principal: Principal, cursor: str, from_now: bool, limit: int
    ) -> AsyncIterator[ChangePage]:
        """Changes after the cursor in position order, then new ones as they commit; an empty
        page as a heartbeat when idle. Never ends by itself. Raises InvalidInput for a cursor
        that is not one of ours or is ahead of the feed (app/feed.py)."""
        return self._feed.watch(principal, cursor, from_now, limit)

    def feed(self) -> ChangeFeed:
        """The tenant feeds, read by consentd itself (webhooks: no caller, no scope)."""
        return self._feed

    def suppression_list(
        self, principal: Principal, target: Target
    ) -> AsyncIterator[list[Suppressed]]:
        """Pages of contact points that must not be contacted for the target, in subject order.
        Raises InvalidInput for a channel without contact points, NotFound for the purpose
        (app/suppressions.py)."""
        return self._suppressions.entries(principal, target)

    def suppression_stream(
        self, principal: Principal, target: Target, token: str
    ) -> AsyncIterator[tuple[list[Suppressed], str]]:
        """suppression_list() with each page's resume token (`token`: go on after its page).
        Raises InvalidInput for a token of another list, or not one of ours."""
        return self._suppressions.resumable(principal, target, token)

    def suppression_pages(
        self, principal: Principal, target: Target, start: ExportCursor | None = None
    ) -> AsyncIterator[tuple[list[Suppressed], ExportCursor]]:
        """suppression_list() with, after each page, the cursor that resumes after it (`start`:
        resume there). Subjects come first in id order, then the contact points suppressed on
        their own (an erased person's, which no subject names) in digest order."""
        return self._suppressions.pages(principal, target, start)

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


async def _stop_reading(reader: asyncio.Task[None], window: _Window) -> None:
    """Stop a stream's reader: the chunks it decided ahead, or is deciding, are dropped (a
    decision that failed meanwhile is dropped too: the stream already ended)."""
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    while not window.empty():
        left = window.get_nowait()
        if isinstance(left, tuple):
            _drop(left[1])


def _drop(work: asyncio.Future[Decided]) -> None:
    if work.done():
        if not work.cancelled():
            work.exception()  # retrieved: never "exception was never retrieved"
    else:
        work.cancel()
