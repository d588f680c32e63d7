"""Opaque page tokens: a cursor the caller hands back, checked on the way in."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from consentd.domain.errors import InvalidInput

T = TypeVar("T")
# Tokens this service issues are well under this; anything longer is not one of ours.
MAX_TOKEN = 512


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


def encode_token(kind: str, cursor: Any, scope: str = "", *, tenant: UUID) -> str:
    """A token of `kind` holding `cursor`; `scope` names the list it continues (its tenant,
    its subject, its filters: what the request that goes on with it must name again), kept as a
    digest."""
    body = {"k": kind, "c": cursor, "s": _tag(scope, tenant, cursor)}
    payload = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


UNKNOWN_PAGE = "is not a page token issued for this list"


def decode_token(
    kind: str,
    token: str,
    field: str = "page_token",
    scope: str | None = "",
    *,
    tenant: UUID,
    unscoped: bool = False,
    refusal: str = UNKNOWN_PAGE,
) -> Any:
    """The cursor inside a token of this kind issued for the tenant's list `scope` names
    (None: checked later with require_scope, once the list is known); None for an empty token.
    `unscoped`: a token from before tokens named their tenant, or their cursor, is taken too
    (the change feed's cursors, which consumers keep). Raises InvalidInput (`refusal` for
    what is no token of this kind)."""
    cursor = _cursor(kind, token, field, refusal)
    if scope is not None and not (unscoped and token and "s" not in _decoded(token)):
        require_scope(token, scope, field, tenant=tenant, older=unscoped)
    return cursor


def require_scope(
    token: str, scope: str, field: str = "page_token", *, tenant: UUID, older: bool = False
) -> None:
    """Raises InvalidInput unless `token` (empty, or decoded already) continues the tenant's
    list `scope` names from the cursor it was issued with: a token of another subject, of
    other filters or of another tenant, or one whose cursor was altered (a stale or mangled
    token, probe DA), read as a page of this list, would end it early or start it elsewhere,
    silently. `older`: a tag that did not cover the cursor yet is taken too."""
    if not token:
        return
    found = _decoded(token)
    tag = found.get("s", "")
    if tag != _tag(scope, tenant, found.get("c")) and not (older and tag == _tag(scope, tenant)):
        raise InvalidInput(field, ANOTHER_LIST)


ANOTHER_LIST = (
    "was issued for another list (another subject, other filters or another tenant), or was "
    "altered; send the same request again with the token as it was given, or start without one"
)

_NO_CURSOR = object()


def _tag(scope: str, tenant: UUID, cursor: Any = _NO_CURSOR) -> str:
    """The list a token continues (its tenant, its scope) and where (its cursor: the tags
    issued before this covered the list alone, which the change feed's older cursors have)."""
    text = f"{tenant}\x00{scope}"
    if cursor is not _NO_CURSOR:
        text += "\x00" + json.dumps(cursor, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _decoded(token: str) -> dict[str, Any]:
    """A token's object, from the one spelling encode_token gives it: unpadded URL-safe
    base64 of compact JSON (padding, `+` or `/`, spaces or escapes in the JSON, an extra key:
    each was read as the same token; probes HC, HH). Raises ValueError."""
    if not _URL_SAFE.fullmatch(token):
        raise ValueError("not unpadded URL-safe base64")
    raw = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode("ascii"))
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != token.encode("ascii"):
        raise ValueError("unused bits set")  # its last character spelled two ways (probe HJ)
    payload = json.loads(raw, object_pairs_hook=_once_each)
    if not isinstance(payload, dict) or set(payload) - _KEYS:
        raise ValueError("not a token's object")
    if json.dumps(payload, separators=(",", ":")).encode() != raw:
        raise ValueError("not the JSON this service writes")
    return payload


_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*")
_KEYS = frozenset({"k", "c", "s"})


def tagged(token: str) -> bool:
    """Whether a token (decoded once already) names the list and tenant it was issued for."""
    return "s" in _decoded(token)


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A token's object, each key once: `{"k": ..., "c": 1, "c": 2}` was read as its last
    (probe BQ); none this service issues has two. Raises ValueError."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a key given twice")
    return found


def _cursor(kind: str, token: str, field: str, refusal: str) -> Any:
    """The cursor inside a token of this kind; None for an empty token. Raises InvalidInput."""
    if not token:
        return None
    payload = None
    if len(token) <= MAX_TOKEN:
        try:
            payload = _decoded(token)
        except (binascii.Error, ValueError, RecursionError):
            payload = None
    # A null cursor is none this service issues (it restarted the list; probe BI).
    if not isinstance(payload, dict) or payload.get("k") != kind or payload.get("c") is None:
        raise InvalidInput(field, refusal)
    return payload["c"]


def is_cursor_value(value: Any) -> bool:
    """A value PostgreSQL can compare a key with: a bigint, or text without NUL that UTF-8
    can encode (a lone surrogate, "\ud800", was INTERNAL; probe V). A token is only base64
    JSON, so a caller can forge any cursor; anything else must be refused."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def id_cursor(value: Any, field: str = "page_token") -> UUID | None:
    """The cursor of a history list: the id of the previous page's last item, something the
    caller has already seen (a global sequence number would tell it how many events every tenant
    writes). None for no cursor; raises InvalidInput for anything but a UUID."""
    if value is None:
        return None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return UUID(value)
    raise InvalidInput(field, UNKNOWN_PAGE)


def page_size(requested: int, default: int, maximum: int, field: str = "page_size") -> int:
    """The size to use: `default` for 0 (unset). Raises InvalidInput above `maximum`."""
    if requested < 0 or requested > maximum:
        raise InvalidInput(field, f"must be between 1 and {maximum} (0 or unset: {default})")
    return requested or default
