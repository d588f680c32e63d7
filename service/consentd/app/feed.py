"""The change feed as a watcher reads it: the changes after a cursor in position order, then new
ones as they commit, with a heartbeat when idle."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from uuid import UUID

from consentd.app.changes import ChangeHub
from consentd.app.keys import SubjectKeys
from consentd.app.paging import ANOTHER_LIST, decode_token, encode_token, tagged
from consentd.app.ports import FeedChange, LogSequencer, ReadUnitOfWorkFactory, feed_mark
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.sealing import SealError
from consentd.domain.tenancy import Principal

_CHANGES = "changes"


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[FeedChange]
    cursor: str


class ChangeFeed:
    """A tenant's feed: looked at again every `poll_seconds` (changes committed by other
    processes) or when the hub wakes it; an empty page after `heartbeat_seconds` idle."""

    def __init__(
        self,
        reads: ReadUnitOfWorkFactory,
        hub: ChangeHub,
        poll_seconds: float,
        heartbeat_seconds: float,
        sequencer: LogSequencer | None = None,
        *,
        keys: SubjectKeys | None = None,
    ) -> None:
        """`keys`: to open the subjects' external ids (none without)."""
        self._keys = keys
        self._reads = reads
        self._hub = hub
        self._poll_seconds = poll_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._sequencer = sequencer

    async def watch(
        self, principal: Principal, cursor: str, from_now: bool, limit: int
    ) -> AsyncIterator[ChangePage]:
        """Changes after the cursor in position order, then new ones as they commit; an empty
        page as a heartbeat when idle. Never ends by itself. Raises InvalidInput for a cursor
        that is not one of ours or is ahead of the feed."""
        tenant = principal.tenant_id
        position, mark = await self._start(tenant, cursor, from_now)
        # Idle from the start: an empty page at once, carrying the cursor to resume from (a
        # `from_now` watch had none until its first change or 15 s; probe DT).
        sent = float("-inf")
        while True:
            ticket = self._hub.ticket(tenant)
            beat = time.monotonic() - sent >= self._heartbeat_seconds
            async with self._reads(tenant) as uow:
                changes = self._opened(tenant, await uow.campaign.changes_after(position, limit))
                # Restored under an open watch (probe FJ): the change it stands on is another,
                # or none while the feed is behind it (probe FM: silent until it passed).
                moved = (changes or beat) and mark is not None
                if moved and await uow.campaign.fact_at(position) != mark:
                    raise InvalidInput("cursor", f"{ANOTHER} {RESTORED}")
            if changes:
                self._hub.release(tenant, ticket)
                position, mark = changes[-1].position, mark_of(changes[-1])
                yield ChangePage(changes, _cursor(position, mark, tenant))
                sent = time.monotonic()
                continue
            if beat:
                yield ChangePage([], _cursor(position, mark, tenant))
                sent = time.monotonic()
            await self._hub.wait(tenant, ticket, self._poll_seconds)

    async def page(self, tenant: UUID, cursor: str, limit: int) -> ChangePage:
        """One read: the changes after the cursor (none yet: an empty page at it). Raises
        InvalidInput as watch() does (a webhook's delivery, docs/webhooks.md)."""
        position, mark = await self._start(tenant, cursor, False)
        async with self._reads(tenant) as uow:
            changes = self._opened(tenant, await uow.campaign.changes_after(position, limit))
        if changes:
            position, mark = changes[-1].position, mark_of(changes[-1])
        return ChangePage(changes, _cursor(position, mark, tenant))

    async def head(self, tenant: UUID) -> tuple[int, str]:
        """The feed's last position and its cursor: what a watch `from_now` starts after."""
        position, mark = await self._start(tenant, "", True)
        return position, _cursor(position, mark, tenant)

    def _opened(self, tenant: UUID, changes: list[FeedChange]) -> list[FeedChange]:
        """The changes with their subjects' external ids opened, their sealed form dropped (a
        CRM joins a STOP by phone to its own records by it; probe BF)."""
        opened: dict[UUID, str] = {}
        for change in changes:
            subject = _subject(change)
            sealed = change.sealed_external
            if sealed is not None and self._keys is not None and subject not in opened:
                with contextlib.suppress(SealError):
                    key = self._keys.unwrapped(tenant, subject, sealed[1])
                    opened[subject] = key.open(IdentifierKind.EXTERNAL_ID.value, sealed[0])
        return [
            replace(c, external_id=opened.get(_subject(c), ""), sealed_external=None)
            for c in changes
        ]

    async def _start(self, tenant: UUID, cursor: str, from_now: bool) -> tuple[int, str | None]:
        """The position a watch starts after (the cursor's, else the head (`from_now`) or 0)
        and the mark of the change there."""
        found = _cursor_position(cursor, tenant)
        if from_now and found is not None:
            raise InvalidInput("from_now", "must be false when a cursor is given")
        if self._sequencer is not None:
            # Writes acknowledged before the watch began are in the feed it starts from.
            await self._sequencer.drain(tenant)
        async with self._reads(tenant) as uow:
            head = await uow.campaign.last_position()
            position, mark = found or (head if from_now else 0, None)
            if position > head:
                raise InvalidInput("cursor", f"is ahead of this tenant's feed: {RESTORED}")
            here = await uow.campaign.fact_at(position) if position else None
        if mark is not None and here != mark:
            raise InvalidInput("cursor", f"{ANOTHER} {RESTORED}")
        return position, here


# Why a consumer's cursor may name what the feed does not hold: a restore (probe FG: resumed
# on a database restored from an earlier backup, it skipped the withdrawals made since).
RESTORED = (
    "was the database restored from an earlier backup? The changes after it may be ones this "
    "consumer never saw: first keep the changes it holds past the backup (they may be the only "
    "copy of withdrawals and erasures to replay; docs/operations.md, Backups), then read the "
    "feed again from the start (no cursor), or re-sync and watch from_now"
)
ANOTHER = "names a change this feed no longer holds at its position:"
NOT_A_CURSOR = "is not a cursor issued by this feed"


def _cursor(position: int, mark: str | None, tenant: UUID) -> str:
    """A cursor at `position`, knowing the change there by its mark (none at 0)."""
    return encode_token(_CHANGES, [position, mark] if mark else position, tenant=tenant)


def mark_of(change: FeedChange) -> str:
    """What a cursor (and a webhook's page id) keeps of a change to know it again."""
    if change.event is not None:
        return feed_mark(change.event.event_id)
    assert change.block is not None  # the store sets exactly one
    return feed_mark(change.block.block_id, change.block.lifted)


def _cursor_position(cursor: str, tenant: UUID) -> tuple[int, str | None] | None:
    """None for no cursor; a cursor holds a position (a forged `null` read from the start,
    probe AH) of this tenant's feed (another tenant's was a position here; cursors from before
    they named their tenant are still taken: consumers keep them), with the mark of the change
    there (cursors from before marks hold the position alone)."""
    # Not a cursor: said in the feed's words (it read "not a page token" or "not a cursor"
    # depending on what was wrong; probe HC).
    held = decode_token(
        _CHANGES, cursor, "cursor", tenant=tenant, unscoped=True, refusal=NOT_A_CURSOR
    )
    if not cursor:
        return None
    position, mark = held if isinstance(held, list) and len(held) == 2 else (held, None)
    if mark is not None and not tagged(cursor):
        # Cursors named their tenant before they held a mark: one with a mark and no tag was
        # altered (its tag cut off), not kept from an older release; it read as a restore
        # (probe HC).
        raise InvalidInput("cursor", ANOTHER_LIST)
    if not (
        isinstance(position, int)
        and not isinstance(position, bool)
        and 0 <= position < 2**63
        and (mark is None or isinstance(mark, str))
    ):
        raise InvalidInput("cursor", NOT_A_CURSOR)
    return int(position), mark


def _subject(change: FeedChange) -> UUID:
    if change.event is not None:
        return change.event.subject_id
    assert change.block is not None  # the store sets exactly one
    return change.block.subject_id
