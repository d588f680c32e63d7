"""Opaque page tokens and page sizes of the list use cases."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from uuid import uuid4

import pytest

from consentd.app.feed import _cursor_position
from consentd.app.paging import decode_token, encode_token, id_cursor, page_size, require_scope
from consentd.domain.errors import InvalidInput

T = uuid4()


def _token(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor", [0, 42, 2**53, "newsletter", "préférences", ["privacy", 3]], ids=repr
)
def test_token_round_trip(cursor: object) -> None:
    """A token hands back the cursor it was made from, for the same kind of list."""
    token = encode_token("history", cursor, tenant=T)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token), "URL-safe, without padding"
    assert decode_token("history", token, tenant=T) == cursor


def test_empty_token_is_the_first_page() -> None:
    """An empty page_token means "from the start": no cursor."""
    assert decode_token("history", "", tenant=T) is None


def test_token_of_another_list_is_refused() -> None:
    """A token issued for another list raises InvalidInput on page_token."""
    token = encode_token("purposes", "newsletter", tenant=T)
    with pytest.raises(InvalidInput) as caught:
        decode_token("history", token, tenant=T)
    assert caught.value.field == "page_token"


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "a",
        "é",
        _token(b"not json"),
        _token(b"\xff\xfe\xfd"),
        _token(b"[1, 2]"),
        _token(b'"history"'),
        _token(b'{"k": "history"}'),
        _token(b'{"c": 42}'),
        _token(b'{"k": "history", "c": null}'),
        _token(b'{"k": "history", "c": 1, "c": 2}'),
    ],
    ids=[
        "not-base64",
        "truncated",
        "non-ascii",
        "not-json",
        "not-utf8",
        "json-list",
        "json-string",
        "no-cursor",
        "no-kind",
        "null-cursor",
        "a-key-twice",
    ],
)
def test_garbage_token_is_refused(token: str) -> None:
    """Anything not made by encode_token raises InvalidInput on page_token, never another error."""
    with pytest.raises(InvalidInput) as caught:
        decode_token("history", token, tenant=T)
    assert caught.value.field == "page_token"


def test_bad_token_names_the_given_field() -> None:
    """decode_token reports the field name it is given."""
    with pytest.raises(InvalidInput) as caught:
        decode_token("history", "garbage!", field="query.page_token", tenant=T)
    assert caught.value.field == "query.page_token"


def test_history_cursor_is_an_id_the_caller_saw() -> None:
    """A history token's cursor is a UUID (the previous page's last item); a number (what tokens
    held before: the global sequence), a boolean or any other text is refused on the field."""
    item = uuid4()
    assert (
        id_cursor(decode_token("history", encode_token("history", str(item), tenant=T), tenant=T))
        == item
    )
    assert id_cursor(None) is None
    for forged in (42, True, "not-a-uuid", ["x"]):
        with pytest.raises(InvalidInput) as caught:
            id_cursor(forged, "query.page_token")
        assert caught.value.field == "query.page_token"


@pytest.mark.parametrize(("requested", "size"), [(0, 50), (1, 1), (499, 499), (500, 500)])
def test_page_size_within_bounds(requested: int, size: int) -> None:
    """0 means the default; 1 to the maximum are kept as asked."""
    assert page_size(requested, 50, 500) == size


@pytest.mark.parametrize("requested", [-1, 501, 10_000])
def test_page_size_out_of_bounds_is_refused(requested: int) -> None:
    """A negative page size or one above the maximum raises InvalidInput on page_size."""
    with pytest.raises(InvalidInput) as caught:
        page_size(requested, 50, 500)
    assert caught.value.field == "page_size"


def test_oversized_or_deeply_nested_tokens_are_invalid_input() -> None:
    """A token longer than any we issue, or deeply nested JSON, is INVALID_ARGUMENT."""
    nested = base64.urlsafe_b64encode(b"[" * 300).decode().rstrip("=")
    for token in ("A" * 600, nested):
        with pytest.raises(InvalidInput) as raised:
            decode_token("history", token, tenant=T)
        assert raised.value.field == "page_token"


def test_a_token_continues_only_the_list_it_was_issued_for() -> None:
    """A token names its list (subject, filters) as a digest: the same list takes it, another
    list, no list, or a token of no list where one is named, is InvalidInput."""
    token = encode_token("history", "cursor", "subject-a|newsletter", tenant=T)
    assert decode_token("history", token, scope="subject-a|newsletter", tenant=T) == "cursor"
    assert decode_token("history", token, scope=None, tenant=T) == "cursor"  # checked later
    require_scope(token, "subject-a|newsletter", tenant=T)
    require_scope("", "subject-b|", tenant=T)  # no token: the first page of any list
    for scope in ("subject-b|newsletter", "subject-a|", ""):
        with pytest.raises(InvalidInput, match="was issued for another list"):
            decode_token("history", token, scope=scope, tenant=T)
    with pytest.raises(InvalidInput, match="was issued for another list"):
        require_scope(encode_token("history", "cursor", tenant=T), "subject-a|newsletter", tenant=T)
    assert "subject-a" not in base64.urlsafe_b64decode(token + "==").decode()


def test_a_token_of_another_tenant_is_refused() -> None:
    """The same list of another tenant does not take a token (a rights requests' page token
    sent by another tenant was read as a position in its own list; probe BA); a token without
    a tenant (issued before tokens named one) is taken only where `unscoped` says so (the
    change feed's cursors, which consumers keep)."""
    token = encode_token("purposes", "newsletter", tenant=T)
    with pytest.raises(InvalidInput, match="another tenant"):
        decode_token("purposes", token, tenant=uuid4())
    legacy = _token(b'{"k":"changes","c":42}')
    assert decode_token("changes", legacy, "cursor", tenant=T, unscoped=True) == 42
    with pytest.raises(InvalidInput, match="another list"):
        decode_token("changes", legacy, "cursor", tenant=T)
    other = encode_token("changes", 42, tenant=uuid4())
    with pytest.raises(InvalidInput, match="another tenant"):
        decode_token("changes", other, "cursor", tenant=T, unscoped=True)


def test_a_token_whose_cursor_was_altered_is_refused() -> None:
    """The digest covers the cursor too: a token with its cursor changed (a mangled or stale
    token) read as an empty last page, silently (probe DA). The change feed's cursors issued
    before (a digest of the list alone) are still taken there: consumers keep them."""
    token = encode_token("history", "cursor-a", "subject-a|", tenant=T)
    body = base64.urlsafe_b64decode(token + "==").replace(b"cursor-a", b"cursor-b")
    with pytest.raises(InvalidInput, match="or was altered"):
        decode_token("history", _token(body), scope="subject-a|", tenant=T)
    tag = hashlib.sha256(f"{T}\x00".encode()).hexdigest()[:16]
    older = _token(json.dumps({"k": "changes", "c": 42, "s": tag}, separators=(",", ":")).encode())
    assert decode_token("changes", older, "cursor", tenant=T, unscoped=True) == 42
    with pytest.raises(InvalidInput, match="or was altered"):
        decode_token("changes", older, "cursor", tenant=T)  # a list's page token: refused


@pytest.mark.parametrize("spoil", ["{}==", "{}=", "{}!", "{}\n", "!{}", "{}.{}"])
def test_a_token_has_one_spelling(spoil: str) -> None:
    """Padding added, or a character outside the URL-safe alphabet, were read past: a token
    has the one spelling it was issued in (probe HC)."""
    token = encode_token("history", 42, tenant=T)
    with pytest.raises(InvalidInput):
        decode_token("history", spoil.replace("{}", token), tenant=T)


def test_a_feed_cursor_is_refused_in_the_feeds_words() -> None:
    """Not a cursor: said as the feed says it (it read "not a page token issued for this
    list" or "not a cursor issued by this feed" depending on what was wrong; probe HC)."""
    history = encode_token("history", 42, tenant=T)
    for cursor in (history, "garbage!"):
        with pytest.raises(InvalidInput) as caught:
            _cursor_position(cursor, T)
        assert caught.value.reason == "is not a cursor issued by this feed"


def test_a_token_spelled_another_way_is_refused() -> None:
    """The standard base64 alphabet, spaces or escapes in the JSON, an extra key: each read as
    the same token (probe HH)."""
    token = encode_token("history", "préférences?>>", tenant=T)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert decode_token("history", token, tenant=T) == "préférences?>>"
    standard = base64.b64encode(raw).decode().rstrip("=")
    assert standard != token  # the cursor's bytes give `+` or `/` in the standard alphabet
    payload = json.loads(raw)
    for spelling in (
        _twin(),
        standard,
        _token(json.dumps(payload).encode()),
        _token(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()),
        _token(json.dumps({**payload, "x": 1}, separators=(",", ":")).encode()),
    ):
        with pytest.raises(InvalidInput):
            decode_token("history", spelling, tenant=T)


def _twin() -> str:
    """A token whose last character has unused low bits, with one of them set: the same bytes
    spelled another way (probe HJ)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for size in range(1, 8):
        token = encode_token("history", "x" * size, tenant=T)
        if len(token) % 4 in (2, 3):
            twin = token[:-1] + alphabet[alphabet.index(token[-1]) + 1]
            padded = "=" * (-len(token) % 4)
            assert base64.urlsafe_b64decode(twin + padded) == base64.urlsafe_b64decode(
                token + padded
            )
            return twin
    raise AssertionError("no token length left unused bits")
