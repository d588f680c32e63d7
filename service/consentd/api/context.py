"""What the interceptor knows of the RPC being served and its servicer reads: the
authenticated caller, and the write's idempotency key if it carries one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from google.protobuf.message import Message

from consentd.app.idempotency import IdempotencyKey, Once
from consentd.domain.tenancy import Principal

T = TypeVar("T")

_principal: ContextVar[Principal] = ContextVar("consentd_principal")
_key: ContextVar[IdempotencyKey | None] = ContextVar("consentd_idempotency_key", default=None)


def set_principal(principal: Principal) -> None:
    _principal.set(principal)


def principal() -> Principal:
    """The caller; the interceptor guarantees one is set before any servicer runs."""
    return _principal.get()


@contextmanager
def keyed(key: IdempotencyKey) -> Iterator[None]:
    """The servicer called inside this block serves a write under `key` (the gate's)."""
    token = _key.set(key)
    try:
        yield
    finally:
        _key.reset(token)


def once(render: Callable[[T], Message]) -> Once | None:
    """The write's idempotency key for its use case, None without one; `render` makes the
    use case's result the response a retry replays (the converter the servicer answers with)."""
    key = _key.get()
    if key is None:
        return None
    return Once(key, lambda result: render(result).SerializeToString())
