"""Idempotent writes: a write carrying an idempotency key runs at most once per key.

Who does what, in order:
- the gate (api/gate.py) checks the key and fingerprints the request (request_fingerprint):
  an `IdempotencyKey`;
- the servicer hands the use case a `Once`: that key and how to render the use case's result as
  the response bytes a retry replays (api/context.py: `once()`);
- the use case opens its unit of work with it (`self._uow(tenant_id, once)`): the unit of work
  claims the key first, inside its own transaction (a retry running at the same moment waits on
  the key until this one commits or rolls back), and `commit(answer)` stores the rendered answer
  in that transaction, so the write and its answer commit together or not at all;
- a key already done raises `Replayed` from the unit of work's opening, with the stored answer;
  the gate answers it. A key used with another request raises InvalidInput.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# How long an answer stays replayable.
KEEP = timedelta(hours=24)
# What commit() is given when the use case gives no answer (a write without a key).
NO_ANSWER: object = object()
# What an erasure leaves of a stored answer that named the erased person (a replay would hand
# their data back, or a retry revive a grant): the key answers FAILED_PRECONDITION instead.
ERASED_ANSWER = b"\x00erased"


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A caller's key for one write, with what the call asked (its method and its request's
    fingerprint, request_fingerprint) and when. `earlier_sha256`: the plain SHA-256 the keys
    stored before fingerprints were keyed, taken too (a retry across the upgrade, within the
    24 h a key is kept)."""

    caller: str
    key: str
    method: str
    request_sha256: bytes
    at: datetime
    earlier_sha256: bytes = b""


def fingerprint_key(secret: bytes) -> bytes:
    """The key of request fingerprints, from the service secret."""
    return hmac.new(secret, b"consentd request fingerprint", hashlib.sha256).digest()


def request_fingerprint(key: bytes, method: str, request: bytes) -> bytes:
    """What a key remembers of its request: an HMAC under fingerprint_key. A plain SHA-256 of a
    request naming a phone number was found again from a dump by trying the numbering plan
    (0.4 s for one, minutes for every French mobile), the person erased or not (probe TC)."""
    return hmac.new(key, method.encode() + b"\0" + request, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Once:
    """A write under an idempotency key; `render` turns the use case's result into the
    response bytes a retry gets."""

    key: IdempotencyKey
    render: Callable[[Any], bytes]


class Replayed(Exception):
    """The key's write is done already: `response` is its stored answer."""

    def __init__(self, response: bytes) -> None:
        super().__init__("replayed")
        self.response = response
