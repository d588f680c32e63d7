"""A call's metadata over the gRPC port's bound (api/calls.py oversized_head), counted as HTTP/2
counts a header list, and the full collection its refusal asks for, once however many come."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from consentd.api.calls import collect_soon, oversized_head
from consentd.api.grpc_options import MAX_METADATA_BYTES


def test_a_head_is_counted_as_http2_counts_a_header_list() -> None:
    room = MAX_METADATA_BYTES - 32 - len("x-pad")
    assert not oversized_head([("x-pad", "a" * room)])
    assert oversized_head([("x-pad", "a" * (room + 1))])
    assert oversized_head([(f"x-{n}", "") for n in range(MAX_METADATA_BYTES // 32)])
    assert not oversized_head(None)


async def test_refusals_ask_for_one_full_collection_a_second_later() -> None:
    """Probe TC: grpc holds an aborted call in a cycle only a full collection frees, and 20
    heads of 8 MiB a round kept 80-100 MB more each round until one came."""
    full: list[float] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(asyncio.get_running_loop().time())

    gc.callbacks.append(seen)
    try:
        asked = asyncio.get_running_loop().time()
        for _ in range(50):
            collect_soon()
        await asyncio.sleep(1.5)
    finally:
        gc.callbacks.remove(seen)
    assert 1 <= len(full) <= 2, full  # one asked for (and one of the interpreter's own, maybe)
    assert any(at - asked >= 0.9 for at in full), full
