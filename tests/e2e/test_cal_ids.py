"""Client Access License (CAL) ids as identifiers, through the generated stubs: the brief names
a subject by external id and/or contact points (email, E.164 phone, CAL id), a CAL id being one
user seat's licence and personal data."""

from __future__ import annotations

import json

import grpc
import pytest
from consent.v1 import consent_pb2, rights_pb2, rights_pb2_grpc, types_pb2

from tests.conftest import Stubs
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    EMAIL,
    LEGITIMATE_INTEREST,
    by_email,
    check,
    current,
    grant,
    put_purpose,
    record,
    refuse,
    target,
    withdraw,
)
from tests.e2e.security_helpers import fails


def by_cal(cal_id: str) -> types_pb2.SubjectRef:
    return types_pb2.SubjectRef(cal_id=cal_id)


@pytest.fixture
def rights(channel: grpc.aio.Channel) -> rights_pb2_grpc.RightsServiceStub:
    return rights_pb2_grpc.RightsServiceStub(channel)


async def test_a_seat_holder_is_one_subject_by_cal_id_and_email(stubs: Stubs) -> None:
    """Recorded with a CAL id and an email, the person is the same subject by either; the CAL
    id is compared without case or the spaces around it; a withdrawal by CAL id is DENY by
    email."""
    await put_purpose(stubs, "newsletter")
    identity = types_pb2.SubjectIdentity(cal_id="cal-2026-000123", email="seat@example.fr")
    recorded = await record(stubs, identity, grant(target("newsletter")))
    for ref in (
        by_cal("CAL-2026-000123"),
        by_cal("  Cal-2026-000123 "),
        by_email("seat@example.fr"),
    ):
        answer = await check(stubs, ref, target("newsletter"))
        assert (answer.decision, answer.subject_id) == (ALLOW, recorded.subject_id), ref
    assert [c.state for c in (await current(stubs, by_cal("cal-2026-000123"))).consents] == [
        types_pb2.CONSENT_STATE_GRANTED
    ]

    await withdraw(stubs, by_cal("CAL-2026-000123"), target("newsletter"))
    answer = await check(stubs, by_email("seat@example.fr"), target("newsletter"))
    assert (answer.decision, answer.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    # Another seat's licence is another person: no record, no consent.
    other = await check(stubs, by_cal("CAL-2026-000124"), target("newsletter"))
    assert (other.decision, other.reason) == (DENY, consent_pb2.REASON_NO_RECORD)


@pytest.mark.parametrize(
    ("cal_id", "says"),
    [
        ("CAL 2026", "ASCII letters and digits"),
        ("-CAL-1", "ASCII letters and digits"),
        ("CAL-1/", "ASCII letters and digits"),
        ("caß-1", "ASCII letters and digits"),  # not "CASS-1"
        ("CAL\u200b1", "ASCII letters and digits"),
        ("C" * 65, "1 to 64 characters"),
        ("   ", "1 to 64 characters"),
    ],
)
async def test_a_malformed_cal_id_is_refused_by_name_and_nothing_is_written(
    stubs: Stubs, cal_id: str, says: str
) -> None:
    await put_purpose(stubs, "newsletter")
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(cal_id=cal_id, email="kept-out@example.fr"),
        choices=[grant(target("newsletter"))],
        source=types_pb2.SOURCE_API,
    )
    error = await fails(stubs.consent.RecordConsent(request, metadata=stubs.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "subject.cal_id" in (error.details() or ""), error.details()
    assert says in (error.details() or ""), error.details()
    assert cal_id.strip() == "" or cal_id not in (error.details() or "")  # never echoed
    answer = await check(stubs, by_email("kept-out@example.fr"), target("newsletter"))
    assert answer.reason == consent_pb2.REASON_NO_RECORD


async def test_an_erased_seat_holders_cal_id_stays_suppressed(
    stubs: Stubs, rights: rights_pb2_grpc.RightsServiceStub
) -> None:
    """An erasure keeps a suppression entry for the CAL id as for a contact point: a check by it
    is DENY erased, even for a legitimate-interest purpose, and the export before the erasure
    gave the id in clear."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "b2b", LEGITIMATE_INTEREST)
    identity = types_pb2.SubjectIdentity(cal_id="SEAT-77", email="erased-seat@example.fr")
    await record(stubs, identity, grant(target("newsletter")))
    exported = await rights.ExportSubject(
        rights_pb2.ExportSubjectRequest(subject=by_cal("seat-77")), metadata=stubs.metadata
    )
    document = json.loads(exported.document_json)
    assert {(i["kind"], i["value"]) for i in document["identity"]} == {
        ("cal_id", "SEAT-77"),
        ("email", "erased-seat@example.fr"),
    }
    erased = await rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=by_cal("SEAT-77"), actor="dpo"),
        metadata=stubs.metadata,
    )
    assert erased.identifiers_suppressed == 2
    for purpose in ("newsletter", "b2b"):
        answer = await check(stubs, by_cal("seat-77"), target(purpose, EMAIL))
        assert (answer.decision, answer.reason) == (DENY, consent_pb2.REASON_ERASED), purpose


async def test_a_cal_id_is_rectified_like_a_contact_point(
    stubs: Stubs, rights: rights_pb2_grpc.RightsServiceStub
) -> None:
    """A seat given to the person later is added by RectifyContact (CONTACT_KIND_CAL_ID) and
    names them from then on; a one-time code cannot be sent to an id."""
    await put_purpose(stubs, "newsletter")
    recorded = await record(
        stubs, types_pb2.SubjectIdentity(email="new-seat@example.fr"), grant(target("newsletter"))
    )
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_email("new-seat@example.fr"),
            kind=rights_pb2.CONTACT_KIND_CAL_ID,
            value="cal-9",
            actor="support",
        ),
        metadata=stubs.metadata,
    )
    answer = await check(stubs, by_cal("CAL-9"), target("newsletter"))
    assert (answer.decision, answer.subject_id) == (ALLOW, recorded.subject_id)
    bad = rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_cal("CAL-9"), kind=rights_pb2.CONTACT_KIND_CAL_ID, value="CAL 9"
        ),
        metadata=stubs.metadata,
    )
    error = await fails(bad)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "value" in (error.details() or "")
    code_to_id = rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS,
            subject=by_cal("CAL-9"),
            send_code_to=rights_pb2.CONTACT_KIND_CAL_ID,
        ),
        metadata=stubs.metadata,
    )
    assert (await fails(code_to_id)).code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_seat_that_changes_hands_is_taken_from_its_holder_first(
    stubs: Stubs, rights: rights_pb2_grpc.RightsServiceStub
) -> None:
    """A seat's licence goes to a colleague: RectifyContact `remove` takes the CAL id from its
    holder (nothing in its place), then the new holder records with it and is another subject;
    the earlier holder's "no" stays on the seat until the new holder says yes (probe AP: a
    record naming the seat with the colleague's e-mail made them one person)."""
    await put_purpose(stubs, "newsletter")
    alice = await record(
        stubs,
        types_pb2.SubjectIdentity(cal_id="SEAT-42", email="alice-seat@example.fr"),
        refuse(target("newsletter")),
    )
    remove = rights_pb2.RectifyContactRequest(
        subject=by_email("alice-seat@example.fr"),
        kind=rights_pb2.CONTACT_KIND_CAL_ID,
        remove=True,
        actor="it-desk",
    )
    await rights.RectifyContact(remove, metadata=stubs.metadata)
    again = await fails(rights.RectifyContact(remove, metadata=stubs.metadata))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "holds no cal_id" in (again.details() or "")
    with_value = rights_pb2.RectifyContactRequest(
        subject=by_email("alice-seat@example.fr"),
        kind=rights_pb2.CONTACT_KIND_CAL_ID,
        value="SEAT-43",
        remove=True,
    )
    assert (await fails(rights.RectifyContact(with_value, metadata=stubs.metadata))).code() == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    before = await check(stubs, by_cal("SEAT-42"), target("newsletter"))
    assert (before.decision, before.reason) == (DENY, consent_pb2.REASON_REFUSED)
    bob = await record(
        stubs,
        types_pb2.SubjectIdentity(cal_id="SEAT-42", email="bob-seat@example.fr"),
        grant(target("newsletter")),
    )
    assert bob.subject_id != alice.subject_id
    now = await check(stubs, by_cal("SEAT-42"), target("newsletter"))
    assert (now.decision, now.subject_id) == (ALLOW, bob.subject_id)
    still = await check(stubs, by_email("alice-seat@example.fr"), target("newsletter"))
    assert (still.decision, still.reason) == (DENY, consent_pb2.REASON_REFUSED)
