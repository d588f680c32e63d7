"""The tenant list a credential's look-up reads (app/auth.py exists): one read at a time, its
outcome shared by every caller waiting on it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from consentd.app.auth import CredentialAuthenticator
from consentd.app.preference_links import PreferenceLinks
from consentd.store.deadlines import set_call_deadline

KNOWN = uuid4()


class _Directory:
    """A tenant list that takes `seconds` to read, then fails or answers."""

    def __init__(self, seconds: float, *, fails: bool) -> None:
        self.seconds, self.fails, self.reads = seconds, fails, 0

    async def tenant_ids(self) -> frozenset[UUID]:
        self.reads += 1
        await asyncio.sleep(self.seconds)
        if self.fails:
            raise TimeoutError("the database did not answer in time")
        return frozenset({KNOWN})


def _authenticator(directory: _Directory) -> CredentialAuthenticator:
    links = PreferenceLinks(b"s" * 32, lambda: datetime.now(UTC))
    return CredentialAuthenticator(directory, lambda: datetime.now(UTC), links)  # type: ignore[arg-type]


async def test_callers_waiting_on_a_read_that_fails_all_fail_with_it() -> None:
    """Probe PB: eight callers of a freshly started server, the database frozen, queued behind
    a lock; each waited the read's 5 s timeout again (answers at 7, 12, 17... 37 s). They share
    the one read and its failure."""
    directory = _Directory(0.3, fails=True)
    auth = _authenticator(directory)
    started = time.monotonic()
    answers = await asyncio.gather(
        *(auth.exists(uuid4()) for _ in range(8)), return_exceptions=True
    )
    assert all(isinstance(a, TimeoutError) for a in answers), answers
    assert time.monotonic() - started < 0.6
    assert directory.reads == 1


async def test_a_caller_gone_leaves_the_read_to_the_others() -> None:
    """The first caller's deadline is not the read's: a caller that gives up early leaves it
    running, for the others, who get its answer."""
    directory = _Directory(0.2, fails=False)
    auth = _authenticator(directory)

    async def impatient() -> bool:
        set_call_deadline(0.01)  # not the read's: it runs in no caller's context
        async with asyncio.timeout(0.05):
            return await auth.exists(KNOWN)

    first = asyncio.ensure_future(impatient())
    await asyncio.sleep(0)
    others = [asyncio.ensure_future(auth.exists(KNOWN)) for _ in range(3)]
    with pytest.raises(TimeoutError):
        await first
    assert await asyncio.gather(*others) == [True, True, True]
    assert directory.reads == 1
