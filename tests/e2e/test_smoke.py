"""A first round trip through the real server and the generated stubs."""

from __future__ import annotations

from consent.v1 import catalog_pb2, consent_pb2, types_pb2

from tests.conftest import Stubs


async def test_grant_then_withdraw_round_trip(stubs: Stubs) -> None:
    """Grant -> ALLOW granted; withdraw -> DENY withdrawn with the withdrawal's event id."""
    purpose = catalog_pb2.Purpose(
        purpose_id="newsletter", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT
    )
    await stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
    )
    target = types_pb2.ConsentTarget(
        purpose="newsletter",
        channel=types_pb2.CHANNEL_EMAIL,
        scope=types_pb2.PARTY_SCOPE_FIRST_PARTY,
    )
    recorded = await stubs.consent.RecordConsent(
        consent_pb2.RecordConsentRequest(
            subject=types_pb2.SubjectIdentity(email="Jeanne.Martin@Example.FR"),
            choices=[
                consent_pb2.ConsentChoice(target=target, state=types_pb2.CONSENT_STATE_GRANTED)
            ],
            source=types_pb2.SOURCE_PORTAL,
        ),
        metadata=stubs.metadata,
    )
    check = consent_pb2.CheckConsentRequest(
        subject=types_pb2.SubjectRef(email="jeanne.martin@example.fr"), target=target
    )
    allowed = await stubs.consent.CheckConsent(check, metadata=stubs.metadata)
    assert allowed.decision == consent_pb2.DECISION_ALLOW
    assert allowed.reason == consent_pb2.REASON_GRANTED
    assert allowed.event_id == recorded.events[0].event_id

    withdrawn = await stubs.consent.WithdrawConsent(
        consent_pb2.WithdrawConsentRequest(
            subject=types_pb2.SubjectRef(subject_id=recorded.subject_id),
            targets=[target],
            source=types_pb2.SOURCE_PORTAL,
        ),
        metadata=stubs.metadata,
    )
    denied = await stubs.consent.CheckConsent(check, metadata=stubs.metadata)
    assert denied.decision == consent_pb2.DECISION_DENY
    assert denied.reason == consent_pb2.REASON_WITHDRAWN
    assert denied.event_id == withdrawn.events[0].event_id
