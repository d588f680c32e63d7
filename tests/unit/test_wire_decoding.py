"""A request that does not decode is refused naming the field that is wrong, or the request
when the wire format says nothing about a field."""

from __future__ import annotations

import pytest
from consent.v1 import audit_pb2, cookies_pb2

from consentd.api.validation import decode
from consentd.domain.errors import InvalidInput


def test_a_field_number_zero_blames_the_request_not_a_field_further_on() -> None:
    """Probe FA: key 0 was read as a field and the walk went on, blaming `expires_at` (the next
    byte read as a key) for a body that was garbage from its first byte."""
    with pytest.raises(InvalidInput) as refused:
        decode(cookies_pb2.RecordCookieChoiceRequest, b"\x00\x00\x00\x00\x05garbg")
    assert (refused.value.field, refused.value.reason) == (
        "request",
        "is not valid protobuf (field number 0)",
    )


def test_a_truncated_string_names_its_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        decode(cookies_pb2.RecordCookieChoiceRequest, b"\x0a\x10abc")  # visitor_id, 16 of 3
    assert (refused.value.field, refused.value.reason) == ("visitor_id", "is truncated")


@pytest.mark.parametrize(
    "message_class", [audit_pb2.VerifyAuditChainRequest, cookies_pb2.RecordCookieChoiceRequest]
)
def test_a_field_number_zero_is_said_alike_by_every_method(message_class: type) -> None:
    """Probe KA: a request message without fields decoded `\\x02\\x00` (an unknown field 0) and
    said "has fields this API does not accept (numbers [0])"; every other method said this."""
    with pytest.raises(InvalidInput) as refused:
        decode(message_class, b"\x02\x00")
    assert (refused.value.field, refused.value.reason) == (
        "request",
        "is not valid protobuf (field number 0)",
    )
