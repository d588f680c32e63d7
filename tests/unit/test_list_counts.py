"""Lists a request may carry are counted before any item is converted: 65,000 phone numbers in
one HashContactPoints were each parsed before the refusal (four such calls held the event loop
22 s), and RecordConsent converted every choice first (probe HB). The refusal names the list,
not an item of it."""

from __future__ import annotations

import pytest
from consent.v1 import campaign_pb2, consent_pb2, types_pb2

from consentd.api.campaign_converters import contact_points_in
from consentd.api.consent_converters import record_in, withdraw_in
from consentd.domain.errors import InvalidInput


def test_too_many_contact_points_are_refused_before_any_is_parsed() -> None:
    # An item that would fail to parse: before, it became an item's error, and the list was
    # refused only afterwards, by the use case.
    points = [types_pb2.SubjectRef(phone="not a number")] * 1001
    request = campaign_pb2.HashContactPointsRequest(contact_points=points)
    with pytest.raises(InvalidInput) as refused:
        contact_points_in(request, "FR")
    assert (refused.value.field, refused.value.reason) == (
        "contact_points",
        "must hold 1 to 1000 items",
    )


def test_too_many_choices_or_targets_are_refused_naming_the_list() -> None:
    wrong = types_pb2.ConsentTarget()  # no purpose: its conversion would fail first
    choices = [consent_pb2.ConsentChoice(target=wrong)] * 51
    with pytest.raises(InvalidInput) as refused:
        record_in(consent_pb2.RecordConsentRequest(choices=choices), "FR")
    assert refused.value.field == "choices"
    with pytest.raises(InvalidInput) as refused:
        withdraw_in(consent_pb2.WithdrawConsentRequest(targets=[wrong] * 51), "FR")
    assert refused.value.field == "targets"
    with pytest.raises(InvalidInput) as refused:
        withdraw_in(consent_pb2.WithdrawConsentRequest(targets=[wrong] * 51, all=True), "FR")
    assert (refused.value.field, refused.value.reason) == (
        "targets",
        "must be empty when all is set",
    )
