"""The canonical encoding of what the audit log hashes and signs: entries, checkpoints, tree
heads. UTF-8 JSON with sorted keys and no spaces, times as `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

# No moment consentd records, or is asked about, is older than this (the API and the import
# refuse one): no fact of consentd is, and year 1 broke the stamps (INTERNAL). The far end stays
# open to 9999-12-31T23:59:59Z, how callers say "no end" (a validity, a window's end); its last
# second's fractions are refused: 23:59:59.999999 is Python's datetime.max, which the driver
# stores as PostgreSQL's `infinity` and reads back without a zone (every check of the person,
# and of the calls coalesced with it, answered INTERNAL).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """The canonical time: UTC with microseconds, e.g. 2026-03-01T12:00:00.000000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stamp_or_none(moment: datetime | None) -> str | None:
    """stamp() of a time that may be unset."""
    return stamp(moment) if moment is not None else None


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not \\u escapes): `json.dumps(value, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False).encode()`, which is the definition. orjson writes
    the same bytes for JSON values (tests/unit/test_canonical.py compares them) at a fifth of
    the cost, and the sequencer encodes every entry of the log. What orjson refuses (integers
    past 64 bits, datetimes, str subclasses such as enums) goes to json, which refuses a
    datetime too; callers pass JSON values only (AuditRecord checks every payload)."""
    try:
        return orjson.dumps(value, option=_ORJSON)
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def check_json(value: Any, where: str) -> None:
    """JSON without floats (so the encoding round-trips through jsonb), or TypeError naming
    where: what AuditRecord takes as a payload."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json(item, f"{where}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit payload key at {where} is not a string")
            check_json(item, f"{where}.{key}")
        return
    raise TypeError(f"audit payload value at {where} is a {type(value).__name__}")


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as the links' tokens spell their parts."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    """What b64url() spelled."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
