"""consent.v1.CampaignService over grpc.aio: convert, call one use case, convert back."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, NamedTuple
from uuid import UUID

import grpc
from consent.v1 import campaign_pb2 as pb
from consent.v1 import campaign_pb2_grpc

from consentd.api import campaign_converters as conv
from consentd.api.authorization import reads_history
from consentd.api.campaign_links import add_preference_links, add_unsubscribe_links, may_link
from consentd.api.context import principal
from consentd.api.limits import (
    MAX_CHANGES,
    MAX_CHECK_STREAMS_PER_TENANT,
    MAX_FEEDS_PER_TENANT,
    STREAM_IDLE_SECONDS,
)
from consentd.app.campaign import CampaignUseCases, Recipient
from consentd.app.checks import Decided
from consentd.app.paging import page_size
from consentd.app.preference_links import PreferenceLinks
from consentd.app.unsubscribe import UnsubscribeLinks
from consentd.domain.catalog import check_key
from consentd.domain.errors import ResourceExhausted
from consentd.domain.model import Target
from consentd.domain.tenancy import Principal
from consentd.store.database import database_not_answering

Context = grpc.aio.ServicerContext[Any, Any]


class _Asked(NamedTuple):
    """The links a check request asked for its ALLOW answers, and the target checked."""

    unsubscribe: bool
    preferences: bool
    target: Target


class CampaignServicer(campaign_pb2_grpc.CampaignServiceServicer):
    def __init__(
        self,
        campaign: CampaignUseCases,
        phone_region: str,
        unread_seconds: float = 60.0,
        links: UnsubscribeLinks | None = None,
        preferences: PreferenceLinks | None = None,
    ) -> None:
        self._campaign = campaign
        self._links = links
        self._preferences = preferences
        self._region = phone_region
        self._unread_seconds = unread_seconds
        self._feeds: collections.Counter[UUID] = collections.Counter()  # open, per tenant
        self._checks: collections.Counter[UUID] = collections.Counter()  # StreamCheckConsent's

    async def BatchCheckConsent(
        self, request: pb.BatchCheckConsentRequest, context: Context
    ) -> pb.BatchCheckConsentResponse:
        target, as_of, recipients = conv.batch_in(request, self._region)
        caller = principal()
        may_link(request.preference_links, as_of, caller)
        decided = await self._campaign.check_batch(caller, target, as_of, recipients)
        response = conv.batch_out(decided)
        asked = _Asked(request.unsubscribe_links, request.preference_links, target)
        self._add_links(asked, response.answers, decided, recipients)
        return response

    def _add_links(
        self, asked: _Asked, answers: Any, decided: Decided, recipients: Sequence[Recipient]
    ) -> None:
        """The links the request asked for, in its ALLOW answers."""
        tenant = principal().tenant_id
        if asked.unsubscribe and self._links is not None:
            add_unsubscribe_links(
                answers, decided, recipients, links=self._links, tenant_id=tenant,
                target=asked.target,
            )  # fmt: skip
        if asked.preferences and self._preferences is not None:
            add_preference_links(
                answers, decided, recipients, links=self._preferences, tenant_id=tenant
            )

    async def StreamCheckConsent(  # type: ignore[override] # answers with context.write()
        self, request_iterator: AsyncIterator[pb.StreamCheckConsentRequest], context: Context
    ) -> None:
        tenant = principal().tenant_id
        # The recipients of the chunks read, oldest first: answered in the order they were read
        # (a link names a contact point nobody has recorded by the recipient itself).
        read: collections.deque[Sequence[Recipient]] = collections.deque()
        with self._open(self._checks, tenant, MAX_CHECK_STREAMS_PER_TENANT, _CHECKS):
            requests = _idle_bounded(request_iterator, lambda: bool(read))
            await self._stream_checks(requests, context, read)

    async def _stream_checks(
        self,
        request_iterator: AsyncIterator[pb.StreamCheckConsentRequest],
        context: Context,
        read: collections.deque[Sequence[Recipient]],
    ) -> None:
        first = await anext(request_iterator, None)
        if first is None:
            return
        target, as_of = conv.stream_start(first)
        may_link(first.preference_links, as_of, principal())
        asked = _Asked(first.unsubscribe_links, first.preference_links, target)
        chunks = _kept(conv.stream_chunks(first, request_iterator, self._region), read)
        # aclosing: when a write gives up, stop reading and deciding before the call ends.
        caller = principal()
        answers = self._campaign.stream_checks(caller, target, as_of, chunks)
        async with contextlib.aclosing(answers):
            async for chunk in answers:
                response = conv.stream_out(chunk)
                self._add_links(asked, response.answers, chunk.decided, read.popleft())
                await self._write(context, response)

    async def SummarizeConsents(
        self, request: pb.SummarizeConsentsRequest, context: Context
    ) -> pb.SummarizeConsentsResponse:
        purpose = check_key("purpose", request.purpose) if request.purpose else None
        tallies, at = await self._campaign.tallies(principal(), purpose)
        return conv.tallies_out(tallies, at)

    async def _write(self, context: Context, response: pb.StreamCheckConsentResponse) -> None:
        """Send, or give up on a client that leaves its answers unread (flow control holds the
        write while it does)."""
        # Not wait_for: a pending grpc write cannot be cancelled, so waiting for it to cancel
        # would wait as long as the client does not read. The abort that follows ends it. A
        # write left pending, given up on here or when the client leaves (this call is then
        # cancelled in the wait), fails once the call ends: _consume retrieves that failure.
        write = asyncio.ensure_future(context.write(response))
        write.add_done_callback(_consume)
        done, _ = await asyncio.wait({write}, timeout=self._unread_seconds)
        if not done:
            unread = f"answers left unread for {self._unread_seconds:g} s"
            raise ResourceExhausted(message=f"{unread}: read them as they come")
        write.result()

    async def WatchConsentChanges(
        self, request: pb.WatchConsentChangesRequest, context: Context
    ) -> AsyncIterator[pb.WatchConsentChangesResponse]:
        limit = page_size(request.max_changes, 500, MAX_CHANGES, "max_changes")
        caller = principal()
        # MAX_FEEDS_PER_TENANT at most: each reads the database twice a second (a consent:check
        # key's 1,500 feeds slowed another tenant's checks 30 to 50 times; probe GC).
        with self._open(self._feeds, caller.tenant_id, MAX_FEEDS_PER_TENANT, _FEEDS):
            async for response in self._watch(caller, request, limit):
                yield response

    @contextlib.contextmanager
    def _open(
        self, streams: collections.Counter[UUID], tenant: UUID, most: int, what: tuple[str, str]
    ) -> Iterator[None]:
        """One more stream of the tenant open in this process (`streams`: of one kind, `what`
        it is and how to do with fewer), `most` at most: past them, RESOURCE_EXHAUSTED."""
        if streams[tenant] >= most:
            raise ResourceExhausted(
                message=f"this tenant has {most} {what[0]} open on this server: close one "
                f"first ({what[1]})"
            )
        streams[tenant] += 1
        try:
            yield
        finally:
            streams[tenant] -= 1
            if not streams[tenant]:
                del streams[tenant]

    async def _watch(
        self, caller: Principal, request: pb.WatchConsentChangesRequest, limit: int
    ) -> AsyncIterator[pb.WatchConsentChangesResponse]:
        provenance = reads_history(caller)
        sent = False
        for last in (False, True):
            pages = self._campaign.watch_changes(caller, request.cursor, request.from_now, limit)
            try:
                async for page in pages:
                    sent = True
                    yield conv.changes_out(page, provenance)
            except Exception as error:
                # A connection lost or stale before the first page (PostgreSQL restarted under
                # the pools): started once more on fresh ones, as unary reads are retried
                # (api/calls.py retried_once); the ledger's feed read after a restart failed 1
                # run in 2 (tests/e2e/test_faults.py).
                if sent or last or not database_not_answering(error):
                    raise
            else:
                return

    async def ExportSuppressionList(
        self, request: pb.ExportSuppressionListRequest, context: Context
    ) -> AsyncIterator[pb.ExportSuppressionListResponse]:
        target = conv.suppression_in(request)
        pages = self._campaign.suppression_stream(principal(), target, request.resume_token)
        async for page, token in pages:
            yield conv.suppression_out(page, token)

    async def HashContactPoints(
        self, request: pb.HashContactPointsRequest, context: Context
    ) -> pb.HashContactPointsResponse:
        contact_points = conv.contact_points_in(request, self._region)
        return conv.hashes_out(self._campaign.hash_contact_points(principal(), contact_points))


_FEEDS = ("change feeds", "one consumer needs one feed, resumed from its cursor")
_CHECKS = ("check streams", "one stream checks a whole campaign, chunk by chunk")
IDLE = (
    "no message for {:g} s: the stream was closed (send the next chunk sooner, or open a "
    "stream when there are recipients to check)"
)


async def _idle_bounded(
    requests: AsyncIterator[Any], busy: Callable[[], bool]
) -> AsyncIterator[Any]:
    """`requests`, each awaited STREAM_IDLE_SECONDS at most while the stream has nothing left
    to answer (`busy`: chunks read and not answered yet, which a caller waits for before
    sending the next: the server's own delay is not the caller's silence). A quiet stream was
    held for good (probe QB). Raises ResourceExhausted past them."""
    iterator = aiter(requests)
    while True:
        waiting = asyncio.ensure_future(anext(iterator))
        try:
            while not (await asyncio.wait({waiting}, timeout=STREAM_IDLE_SECONDS))[0]:
                if not busy():
                    raise ResourceExhausted(message=IDLE.format(STREAM_IDLE_SECONDS))
        finally:
            waiting.cancel()  # done: nothing; else the call ends (or this reader is closed)
        try:
            message = waiting.result()
        except StopAsyncIteration:
            return
        yield message


def _consume(write: asyncio.Future[None]) -> None:
    """Retrieve a write's failure, so that one no one waits for any more (the call ended:
    aborted, or cancelled by a client that left) is not reported as never retrieved; the
    call's own outcome is logged already (its `rpc` line)."""
    if not write.cancelled():
        write.exception()


async def _kept(
    chunks: AsyncIterator[list[Recipient]], read: collections.deque[Sequence[Recipient]]
) -> AsyncIterator[list[Recipient]]:
    """`chunks`, each put in `read` as it is read."""
    async for chunk in chunks:
        read.append(chunk)
        yield chunk
