"""A coalesced run's context (store/uow.py: batch_context): the first caller's trace stays, its
deadline does not (one impatient caller would cut every call's query short)."""

from __future__ import annotations

import contextvars

from consentd.store.deadlines import remaining_milliseconds, set_call_deadline
from consentd.store.uow import batch_context

TRACE: contextvars.ContextVar[str] = contextvars.ContextVar("trace", default="")


async def test_the_run_keeps_the_trace_and_drops_the_deadline() -> None:
    TRACE.set("first caller's trace")
    set_call_deadline(0.005)
    assert remaining_milliseconds() is not None
    context = batch_context()
    assert context.run(remaining_milliseconds) is None
    assert context.run(TRACE.get) == "first caller's trace"
    assert remaining_milliseconds() is not None  # the caller's own context is untouched
