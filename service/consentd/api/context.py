"""The authenticated caller of the RPC being served, set by the interceptor."""

from __future__ import annotations

from contextvars import ContextVar

from consentd.domain.tenancy import Principal

_principal: ContextVar[Principal] = ContextVar("consentd_principal")


def set_principal(principal: Principal) -> None:
    _principal.set(principal)


def principal() -> Principal:
    """The caller; the interceptor guarantees one is set before any servicer runs."""
    return _principal.get()
