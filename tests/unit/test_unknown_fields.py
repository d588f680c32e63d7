"""Fields the contract does not define are refused and named from the wire bytes, at a bounded
cost: two million of them (a 4 MB body) took seconds and hundreds of megabytes as an
UnknownFieldSet (probe AD)."""

from __future__ import annotations

import tracemalloc

import pytest
from consent.v1 import audit_pb2, campaign_pb2, consent_pb2, cookies_pb2

from consentd.api.unknown_fields import MOST_NAMED, reject_unknown_fields
from consentd.api.validation import decode
from consentd.domain.errors import InvalidInput


def _refusal(message_class: type, data: bytes) -> str:
    with pytest.raises(InvalidInput) as raised:
        decode(message_class, data)
    return f"{raised.value.field}: {raised.value.reason}"


def test_unknown_numbers_are_named_in_order_once_each() -> None:
    known = cookies_pb2.GetCookieChoiceRequest(visitor_id="v" * 20).SerializeToString()
    # field 15 (varint), field 900 (length-delimited), field 15 again, field 7 (fixed32)
    extra = b"\x78\x01" + b"\xa2\x38\x02ab" + b"\x78\x02" + b"\x3d\x00\x00\x00\x00"
    said = _refusal(cookies_pb2.GetCookieChoiceRequest, known + extra)
    assert said == "request: has fields this API does not accept (numbers [7, 15, 900])"


def test_a_known_number_with_another_wire_type_is_named() -> None:
    """The parser keeps visitor_id (1, a string) sent as a varint as an unknown field."""
    said = _refusal(cookies_pb2.GetCookieChoiceRequest, b"\x08\x05")
    assert said == "request: has fields this API does not accept (numbers [1])"


def test_an_unknown_field_in_a_submessage_is_named_with_its_path() -> None:
    request = campaign_pb2.BatchCheckConsentRequest()
    request.recipients.add(email="a@example.fr")
    request.recipients.add(email="b@example.fr")
    recipient = request.recipients[1].SerializeToString() + b"\x98\x06\x01"  # field 99
    data = request.SerializeToString() + b"\x12" + bytes([len(recipient)]) + recipient
    said = _refusal(campaign_pb2.BatchCheckConsentRequest, data)
    assert said == "recipients[2]: has fields this API does not accept (numbers [99])"


def test_groups_nested_deep_are_skipped_and_named() -> None:
    """A start group (field 20) holding 50 nested groups, then field 21."""
    nested = b"\xa3\x01" * 50 + b"\xa4\x01" * 50
    said = _refusal(cookies_pb2.GetCookieChoiceRequest, nested + b"\xa8\x01\x01")
    assert said == "request: has fields this API does not accept (numbers [20, 21])"


def test_only_the_first_numbers_are_named() -> None:
    data = b"".join(bytes([(n << 3) & 0x7F | 0x80, n >> 4, 0]) for n in range(100, 140))
    said = _refusal(cookies_pb2.GetCookieChoiceRequest, data)
    assert said.endswith(f"(numbers {list(range(100, 100 + MOST_NAMED))})")


def test_two_million_unknown_fields_cost_little_memory() -> None:
    """Just under 4 MiB of field 15: refused, naming it, without building a Python object per
    field (the UnknownFieldSet of the same body took about 170 MB)."""
    data = b"\x78\x01" * 1_950_000
    tracemalloc.start()
    try:
        said = _refusal(cookies_pb2.GetCookieChoiceRequest, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert said == "request: has fields this API does not accept (numbers [15])"
    assert peak < 32 * 2**20, peak


def test_a_message_without_unknown_fields_passes() -> None:
    request = campaign_pb2.BatchCheckConsentRequest()
    request.recipients.add(email="a@example.fr")
    reject_unknown_fields(request)


def test_a_page_size_past_its_column_is_told_its_own_methods_limit() -> None:
    """Probe DV: ListBreachSubjects' page size past the column was told the others' 500, where
    it takes 5,000; the others keep theirs."""
    breach = audit_pb2.ListBreachSubjectsRequest(page_size=2**32 - 1).SerializeToString()
    said = _refusal(audit_pb2.ListBreachSubjectsRequest, breach)
    assert said == "page_size: must be between 1 and 5000 (0 or unset: 1000)"
    history = consent_pb2.ListConsentHistoryRequest(page_size=2**32 - 1).SerializeToString()
    said = _refusal(consent_pb2.ListConsentHistoryRequest, history)
    assert said.startswith("page_size: must be between 1 and 500 ")
