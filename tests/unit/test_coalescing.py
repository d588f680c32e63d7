"""The coalescer: calls that arrive together share a run, a call never joins a run already
started, failures reach every caller of the run, and a caller that leaves harms no one."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from consentd.app.coalescing import Coalescer


class Recorder:
    """A run that records its batches and can be held open."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, key: str, items: list[int]) -> list[int]:
        self.batches.append((key, list(items)))
        await self.release.wait()
        if -1 in items:
            raise ValueError("boom")
        return [item * 10 for item in items]


async def test_calls_that_arrive_together_share_one_run_per_key() -> None:
    """Concurrent calls are answered each with its own result, in one run per key."""
    run = Recorder()
    coalescer: Coalescer[str, int, int] = Coalescer(run)

    results = await asyncio.gather(*(coalescer.submit("ab"[i % 2], i) for i in range(6)))

    assert results == [0, 10, 20, 30, 40, 50]
    assert sorted(run.batches) == [("a", [0, 2, 4]), ("b", [1, 3, 5])]


async def test_a_call_never_joins_a_run_that_has_started() -> None:
    """A call made while a run is in flight waits for a new run: its answer is never older
    than the call."""
    run = Recorder()
    run.release.clear()
    coalescer: Coalescer[str, int, int] = Coalescer(run, max_running=1)
    early = asyncio.ensure_future(coalescer.submit("a", 1))
    await asyncio.sleep(0.01)
    late = asyncio.ensure_future(coalescer.submit("a", 2))
    await asyncio.sleep(0.01)
    assert run.batches == [("a", [1])]

    run.release.set()

    assert (await early, await late) == (10, 20)
    assert run.batches == [("a", [1]), ("a", [2])]


async def test_batches_are_capped_and_failures_reach_their_callers() -> None:
    """Runs take at most max_batch items; a failed run fails its own callers only; a cancelled
    caller is dropped without harm to the others."""
    run = Recorder()
    coalescer: Coalescer[str, int, int] = Coalescer(run, max_batch=2)
    gone = asyncio.ensure_future(coalescer.submit("a", 7))
    gone.cancel()
    calls = [asyncio.ensure_future(coalescer.submit("a", i)) for i in (1, 2, -1, 3)]
    done = await asyncio.gather(*calls, return_exceptions=True)

    assert done[:2] == [10, 20]
    assert all(isinstance(d, ValueError) for d in done[2:])
    assert [items for _, items in run.batches] == [[1, 2], [-1, 3]]
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_one_run_per_key_at_a_time_while_other_keys_run_beside_it() -> None:
    """With max_per_key=1, a key's next calls wait for its run to end (and then share one run),
    while a call for another key starts at once."""
    gates = {"a": asyncio.Event(), "b": asyncio.Event()}
    runs: list[tuple[str, list[int]]] = []

    async def run(key: str, items: list[int]) -> list[int]:
        runs.append((key, items))
        await gates[key].wait()
        return items

    coalescer: Coalescer[str, int, int] = Coalescer(run, max_running=8, max_per_key=1)
    first = asyncio.create_task(coalescer.submit("a", 1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.create_task(coalescer.submit("a", n)) for n in (2, 3)]
    other = asyncio.create_task(coalescer.submit("b", 9))
    await asyncio.sleep(0.01)
    assert runs == [("a", [1]), ("b", [9])]  # b did not wait for a
    gates["b"].set()
    assert await other == 9
    gates["a"].set()
    assert await first == 1
    assert await asyncio.gather(*later) == [2, 3]
    assert runs[2:] == [("a", [2, 3])]  # a's waiting calls shared its next run


async def test_under_load_a_keys_next_run_waits_as_long_as_the_last_took() -> None:
    """With pace_limit, once calls of a key arrived while its run ran, its next run waits
    (about as long as that run took) so that calls made meanwhile share it; the wait never
    passes pace_limit."""
    runs: list[list[int]] = []

    async def run(key: str, items: list[int]) -> list[int]:
        runs.append(items)
        if items in ([1], [2]):
            await asyncio.sleep(0.3)  # the runs the next ones are paced after
        return items

    coalescer: Coalescer[str, int, int] = Coalescer(run, max_per_key=1, pace_limit=10.0)
    first = asyncio.create_task(coalescer.submit("a", 1))
    await asyncio.sleep(0.1)
    during = asyncio.create_task(coalescer.submit("a", 2))  # arrives while [1] runs
    assert await first == 1
    for _ in range(5):
        await asyncio.sleep(0)
    assert runs == [[1]]  # paced: [2] did not start once [1] ended
    await asyncio.sleep(0.02)
    late = asyncio.create_task(coalescer.submit("a", 3))

    assert await asyncio.gather(during, late) == [2, 3]
    assert runs == [[1], [2, 3]]


async def test_a_lone_caller_calling_again_at_once_is_not_paced() -> None:
    """A caller alone on its key that calls again as soon as it is answered starts its next
    run at once: no call waited meanwhile, so a pause would only delay it (it did, by as long
    as its last run took: 3.4 -> 6.4 ms p50 one check after another; probe PD)."""
    runs: list[list[int]] = []

    async def run(key: str, items: list[int]) -> list[int]:
        runs.append(items)
        await asyncio.sleep(0.3)
        return items

    coalescer: Coalescer[str, int, int] = Coalescer(run, max_per_key=1, pace_limit=10.0)
    assert await coalescer.submit("a", 1) == 1
    again = asyncio.create_task(coalescer.submit("a", 2))
    for _ in range(5):
        await asyncio.sleep(0)
    assert runs == [[1], [2]]  # started at once
    assert await again == 2


async def test_paced_calls_of_one_key_do_not_delay_a_lone_call_or_another_key() -> None:
    """A call made once the pause is over starts at once, as does a call for another key while
    a key is paced; a full batch does not wait either."""
    runs: list[tuple[str, list[int]]] = []

    async def run(key: str, items: list[int]) -> list[int]:
        runs.append((key, items))
        if items == [1]:
            await asyncio.sleep(0.05)
        return items

    coalescer: Coalescer[str, int, int] = Coalescer(
        run, max_batch=3, max_per_key=1, pace_limit=10.0
    )
    await coalescer.submit("a", 1)
    await asyncio.sleep(0.2)  # more than the 0.05 s the last run took
    lone = asyncio.create_task(coalescer.submit("a", 2))
    for _ in range(5):
        await asyncio.sleep(0)
    assert runs[-1] == ("a", [2])
    await lone

    first = asyncio.create_task(coalescer.submit("a", 1))
    for _ in range(5):
        await asyncio.sleep(0)
    paced = asyncio.create_task(coalescer.submit("a", 5))  # waits: [1] runs, then the pause
    await first
    other = asyncio.create_task(coalescer.submit("b", 9))
    for _ in range(5):
        await asyncio.sleep(0)
    assert runs[-1] == ("b", [9])  # b did not wait for a's pause
    full = [asyncio.create_task(coalescer.submit("a", n)) for n in (6, 7)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert runs[-1] == ("a", [5, 6, 7])  # three waiting: a full batch starts at once
    assert await asyncio.gather(paced, other, *full) == [5, 9, 6, 7]


CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")


async def test_a_run_runs_in_the_context_it_is_given() -> None:
    """A run serves several calls: it runs in the context `context` gives (the wiring's drops
    the first caller's deadline), not in the first caller's."""
    seen: list[str] = []

    async def run(key: str, items: list[int]) -> list[int]:
        seen.append(CALLER.get())
        return items

    coalescer: Coalescer[str, int, int] = Coalescer(run, context=contextvars.Context)

    async def call(name: str, item: int) -> int:
        CALLER.set(name)
        return await coalescer.submit("k", item)

    assert await asyncio.gather(call("impatient", 1), call("patient", 2)) == [1, 2]
    assert seen == ["none"]


async def test_calls_queued_behind_a_run_that_timed_out_fail_with_it() -> None:
    """Probe BJ: checks in flight when PostgreSQL froze took twice the ceiling: the first run
    waited it out, then the calls queued behind it ran and waited it again. A run that ends in
    a timeout fails the calls waiting for its key too; another key's calls are not touched,
    and the key's next calls run as ever."""
    gate = asyncio.Event()
    runs: list[tuple[str, list[int]]] = []

    async def run(key: str, items: list[int]) -> list[int]:
        runs.append((key, items))
        if key == "a" and 1 in items:
            await gate.wait()
            raise TimeoutError
        return items

    coalescer: Coalescer[str, int, int] = Coalescer(
        run, max_running=8, max_per_key=1, hopeless=lambda e: isinstance(e, TimeoutError)
    )
    first = asyncio.create_task(coalescer.submit("a", 1))
    await asyncio.sleep(0.01)
    queued = [asyncio.create_task(coalescer.submit("a", n)) for n in (2, 3)]
    other = asyncio.create_task(coalescer.submit("b", 9))
    await asyncio.sleep(0.01)
    gate.set()
    done = await asyncio.gather(first, *queued, return_exceptions=True)
    assert all(isinstance(d, TimeoutError) for d in done)
    assert await other == 9
    assert runs == [("a", [1]), ("b", [9])]  # the queued calls never ran a second wait
    assert await coalescer.submit("a", 4) == 4
