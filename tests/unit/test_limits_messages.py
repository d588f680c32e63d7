"""A number past its column's range is told the limit a smaller excess is told, with the
list's own default (probe IB: ListConsentHistory's 501 was told "0 or unset: 50", and 2**32 - 1
"0 or unset: the method's default")."""

from __future__ import annotations

import pytest
from consent.v1 import catalog_pb2, consent_pb2, rights_pb2
from google.protobuf.message import Message

from consentd.api.validation import check_ranges
from consentd.app.paging import page_size
from consentd.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("request_type", "default"),
    [
        (catalog_pb2.ListPurposesRequest, 100),
        (catalog_pb2.ListNoticesRequest, 100),
        (consent_pb2.ListConsentHistoryRequest, 50),
        (rights_pb2.ListRightsRequestsRequest, 100),
    ],
)
def test_a_page_size_past_the_column_is_told_the_lists_default(
    request_type: type[Message], default: int
) -> None:
    with pytest.raises(InvalidInput) as past:
        check_ranges(request_type(page_size=2**32 - 1))
    with pytest.raises(InvalidInput) as above:
        page_size(501, default, 500)
    assert past.value.reason == above.value.reason
