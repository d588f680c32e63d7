"""Opaque page tokens: a cursor the caller hands back, checked on the way in."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from consentd.domain.errors import InvalidInput

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


def encode_token(kind: str, cursor: Any) -> str:
    payload = json.dumps({"k": kind, "c": cursor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(kind: str, token: str, field: str = "page_token") -> Any:
    """The cursor inside a token of this kind; None for an empty token. Raises InvalidInput."""
    if not token:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        payload = None
    if not isinstance(payload, dict) or payload.get("k") != kind or "c" not in payload:
        raise InvalidInput(field, "is not a page token issued for this list")
    return payload["c"]


def page_size(requested: int, default: int, maximum: int, field: str = "page_size") -> int:
    if requested < 0 or requested > maximum:
        raise InvalidInput(field, f"must be between 1 and {maximum}")
    return requested or default
