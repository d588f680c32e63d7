"""Rights requests as pure rules: the month arithmetic of deadlines, the state machine and the
one extension (domain/rights.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from consentd.domain.confirmations import check_token
from consentd.domain.errors import FailedPrecondition, InvalidInput
from consentd.domain.months import LEGAL_ZONE, due_after
from consentd.domain.months import local_months as add_months
from consentd.domain.rights import RequestKind, RequestState, RightsRequest

T0 = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2027, 1, 15, 9, 30, tzinfo=UTC), 1, datetime(2027, 2, 15, 9, 30, tzinfo=UTC)),
        (datetime(2027, 1, 31, 9, 30, tzinfo=UTC), 1, datetime(2027, 2, 28, 9, 30, tzinfo=UTC)),
        (datetime(2028, 1, 31, 9, 30, tzinfo=UTC), 1, datetime(2028, 2, 29, 9, 30, tzinfo=UTC)),
        (datetime(2027, 3, 31, 0, 0, tzinfo=UTC), 1, datetime(2027, 4, 30, 0, 0, tzinfo=UTC)),
        (datetime(2027, 12, 20, 8, 0, tzinfo=UTC), 1, datetime(2028, 1, 20, 8, 0, tzinfo=UTC)),
        (datetime(2027, 11, 30, 8, 0, tzinfo=UTC), 3, datetime(2028, 2, 29, 8, 0, tzinfo=UTC)),
        (datetime(2027, 3, 31, 8, 0, tzinfo=UTC), -1, datetime(2027, 2, 28, 8, 0, tzinfo=UTC)),
        (datetime(2027, 1, 10, 8, 0, tzinfo=UTC), -12, datetime(2026, 1, 10, 8, 0, tzinfo=UTC)),
    ],
    ids=["mid-month", "jan31-feb28", "leap-feb29", "mar31-apr30", "year-end", "three-months",
         "backwards", "a-year-back"],
)  # fmt: skip
def test_add_months_keeps_day_and_time_or_the_months_last_day(
    start: datetime, months: int, expected: datetime
) -> None:
    """One calendar month later, same time; a missing day becomes the month's last day."""
    assert add_months(start, months) == expected


def _received(at: datetime = T0) -> RightsRequest:
    return RightsRequest.received(uuid4(), uuid4(), RequestKind.ERASE, at)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # 01:00 in Paris on 31 May: due 30 June there (in UTC it fell on 1 July in Paris).
        (datetime(2027, 5, 30, 23, 0, tzinfo=UTC), datetime(2027, 6, 29, 23, 0, tzinfo=UTC)),
        # 00:30 in Paris on 31 January: due 28 February 00:30 there.
        (datetime(2027, 1, 30, 23, 30, tzinfo=UTC), datetime(2027, 2, 27, 23, 30, tzinfo=UTC)),
        # Noon in Paris on 20 March (winter time) -> noon on 20 April (summer time): 10:00 UTC.
        (datetime(2027, 3, 20, 11, 0, tzinfo=UTC), datetime(2027, 4, 20, 10, 0, tzinfo=UTC)),
        # Noon on 20 October (summer) -> noon on 20 November (winter): 11:00 UTC.
        (datetime(2027, 10, 20, 10, 0, tzinfo=UTC), datetime(2027, 11, 20, 11, 0, tzinfo=UTC)),
    ],
    ids=["may31-paris", "jan31-paris", "into-summer-time", "into-winter-time"],
)
def test_the_month_is_counted_in_paris(received: datetime, due: datetime) -> None:
    """Counted in UTC, a receipt just after midnight in Paris was due a day late there, and one
    across a change of summer time an hour late (probe HG): the same day and time in Paris."""
    request = RightsRequest.received(uuid4(), uuid4(), RequestKind.ACCESS, received)
    assert request.due_at == due
    assert request.due_at.tzinfo == UTC
    extended = request.extended(received, 2, "complex")
    assert extended.extended_due_at is not None
    assert (
        extended.extended_due_at.astimezone(LEGAL_ZONE).time() == due.astimezone(LEGAL_ZONE).time()
    )


def test_due_date_is_one_month_after_receipt_and_verification_does_not_move_it() -> None:
    """The clock starts at the acknowledged receipt (Jan 31 -> Feb 28); the identity check ten
    days later leaves the due date where it was."""
    received = _received(T0)
    assert received.due_at == datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
    request = received.verified(T0 + timedelta(days=10), "one_time_code")
    assert request.state is RequestState.IDENTITY_VERIFIED
    assert request.due_at == datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
    assert request.effective_due_at == request.due_at


def test_an_unverified_request_falls_overdue() -> None:
    """Identity checks do not stop the clock: a request never verified is overdue after its
    month, like any open request."""
    received = _received(T0)
    assert not received.is_overdue(datetime(2027, 2, 28, 9, 30, tzinfo=UTC))
    assert received.is_overdue(datetime(2027, 2, 28, 9, 31, tzinfo=UTC))


def test_the_state_machine_refuses_skipped_or_backward_steps() -> None:
    """received -> verified -> in progress -> done; anything else is FailedPrecondition."""
    received = _received()
    with pytest.raises(FailedPrecondition):
        received.started(T0)
    with pytest.raises(FailedPrecondition):
        received.done(T0, "")
    verified = received.verified(T0, "operator:dpo")
    # Said plainly ("a request that is identity_verified cannot become identity_verified").
    with pytest.raises(FailedPrecondition, match="is identity_verified already: nothing to"):
        verified.verified(T0, "again")
    # The step that is missing is named (probe AJ: "cannot become done", and nothing more).
    with pytest.raises(FailedPrecondition, match="call StartRightsRequest first"):
        verified.done(T0, "erased")
    with pytest.raises(FailedPrecondition, match=r"identity first \(ConfirmIdentity\), then"):
        received.started(T0)
    done = verified.started(T0).done(T0 + timedelta(days=1), "erased")
    assert (done.state, done.closed_at) == (RequestState.DONE, T0 + timedelta(days=1))
    with pytest.raises(FailedPrecondition):
        done.refused(T0, "too late")


def test_refusal_needs_a_reason_and_closes_the_request() -> None:
    """A refusal is told to the person: the reason is required."""
    with pytest.raises(InvalidInput):
        _received().refused(T0, "  ")
    refused = _received().refused(T0, "identity could not be verified")
    assert (refused.state, refused.outcome, refused.closed_at) == (
        RequestState.REFUSED,
        "identity could not be verified",
        T0,
    )


@pytest.mark.parametrize("months", [1, 2])
def test_one_extension_of_one_or_two_months_before_the_first_due_date(months: int) -> None:
    """Extended from the first due date by the same month rule; the first due date stays."""
    verified = _received().verified(T0, "one_time_code")
    extended = verified.extended(T0 + timedelta(days=5), months, "complex request")
    assert extended.due_at == verified.due_at
    assert extended.extended_due_at == due_after(verified.due_at or T0, months)
    assert extended.extension_reason == "complex request"
    with pytest.raises(FailedPrecondition, match="one extension only"):
        extended.extended(T0 + timedelta(days=6), 1, "again")


@pytest.mark.parametrize(
    ("months", "reason", "error"),
    [(0, "why", InvalidInput), (3, "why", InvalidInput), (1, " ", InvalidInput)],
    ids=["zero-months", "three-months", "no-reason"],
)
def test_extension_bounds(months: int, reason: str, error: type[Exception]) -> None:
    """At most two months, at least one, and always with a reason."""
    with pytest.raises(error):
        _received().verified(T0, "code").extended(T0, months, reason)


def test_no_extension_after_the_first_due_date_or_once_closed() -> None:
    """An extension must be announced within the first month, while the request is open."""
    verified = _received().verified(T0, "code")
    late = (verified.due_at or T0) + timedelta(seconds=1)
    with pytest.raises(FailedPrecondition, match="before the first due date"):
        verified.extended(late, 1, "complex")
    with pytest.raises(FailedPrecondition, match="is done cannot be extended"):
        verified.started(T0).done(T0, "answered").extended(T0, 1, "complex")


def test_a_request_awaiting_verification_can_be_extended() -> None:
    """Its deadline runs from receipt, verified or not: a DPO whose verification is slow was
    refused the extension (FAILED_PRECONDITION) and could only let the request go overdue. The
    extension survives the verification."""
    received = _received()
    extended = received.extended(T0 + timedelta(days=5), 2, "identity documents awaited", told=True)
    assert extended.extended_due_at == due_after(received.due_at or T0, 2)
    verified = extended.verified(T0 + timedelta(days=6), "document")
    assert verified.effective_due_at == extended.extended_due_at


def test_overdue_only_while_open_and_past_the_effective_due_date() -> None:
    """Past the (extended) due date and not closed, verified or not: overdue; closed requests
    never are."""
    verified = _received().verified(T0, "code")
    due = verified.due_at or T0
    assert not verified.is_overdue(due)
    assert verified.is_overdue(due + timedelta(seconds=1))
    extended = verified.extended(T0, 2, "complex", told=True)
    assert not extended.is_overdue(due + timedelta(days=1))
    assert not replace(verified, state=RequestState.DONE).is_overdue(due + timedelta(days=90))
    assert _received().is_overdue(T0 + timedelta(days=400))


def test_an_extension_counts_once_the_person_is_told_within_the_first_month() -> None:
    """GDPR art. 12(3): the person is told of the extension, and why, within a month of
    receipt. Nobody told (no relay, nothing recorded), the first due date stands: the request
    said "not overdue" for two months past it (probe BF). Told after that month, too."""
    verified = _received().verified(T0, "code")
    due = verified.due_at or T0
    untold = verified.extended(T0, 2, "complex")
    assert (untold.effective_due_at, untold.is_overdue(due + timedelta(days=1))) == (due, True)
    told = replace(untold, person_told_at=due - timedelta(days=1))
    assert told.effective_due_at == untold.extended_due_at
    assert not told.is_overdue(due + timedelta(days=1))
    late = replace(untold, person_told_at=due + timedelta(days=1))
    assert late.effective_due_at == due


def test_a_confirmation_token_too_long_is_not_called_missing() -> None:
    """A 129-character token was "token: is required: ..." (probe BA)."""
    with pytest.raises(InvalidInput, match="is required"):
        check_token("")
    for bad in ("a" * 129, "a b"):
        with pytest.raises(InvalidInput, match="is not the token of a confirmation link") as caught:
            check_token(bad)
        assert "required" not in str(caught.value)
