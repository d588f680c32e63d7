"""The browser port's last word on connectrpc's own errors (api/connect_wire.py): one that
quotes an exception it caught is replaced by ours; every other error is left as it is."""

from __future__ import annotations

from typing import Any, cast

import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext

from consentd.api.connect_wire import WireErrors

NO_CONTEXT = cast("RequestContext[Any, Any]", None)


def _raised_from(error: ConnectError, cause: Exception) -> ConnectError:
    error.__cause__ = cause
    return error


async def test_an_error_quoting_a_caught_exception_is_replaced_by_ours() -> None:
    """connectrpc's "unmarshal message: <exception text>" (what a codec raised, quoted) becomes
    INVALID_ARGUMENT in our words, with a BadRequest naming the request."""
    cause = RecursionError("maximum recursion depth exceeded while decoding a JSON array")
    quoted = _raised_from(ConnectError(Code.INVALID_ARGUMENT, f"unmarshal message: {cause}"), cause)
    with pytest.raises(ConnectError) as replaced:
        await WireErrors().on_end(None, NO_CONTEXT, quoted)
    assert replaced.value.code is Code.INVALID_ARGUMENT
    assert replaced.value.message == (
        "request: cannot be read: it is not in the encoding and compression the call names"
    )
    assert replaced.value.details[0].type_name == "google.rpc.BadRequest"


@pytest.mark.parametrize(
    "error",
    [
        None,
        ConnectError(Code.INVALID_ARGUMENT, "visitor_id: must be 16 to 64 characters"),
        _raised_from(
            ConnectError(Code.INVALID_ARGUMENT, "Invalid base64 encoding"), ValueError("bad")
        ),
        _raised_from(ConnectError(Code.DEADLINE_EXCEEDED, "Request timed out"), TimeoutError()),
    ],
    ids=["success", "ours", "its-own-words", "deadline"],
)
async def test_other_outcomes_are_left_as_they_are(error: Exception | None) -> None:
    """Success, our own errors, connectrpc's own words and a deadline pass through."""
    await WireErrors().on_end(None, NO_CONTEXT, error)
