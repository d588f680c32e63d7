"""Records a consent, checks it (ALLOW), withdraws it and checks again (DENY) with consentd_client.

CONSENTD_ADDR (default 127.0.0.1:50051) and CONSENTD_API_KEY (an admin key: it creates its
purpose first) configure it; CONSENTD_EMAIL names the subject (a fresh address by default).
Run: CONSENTD_API_KEY=$(consentd local-key) python clients/python/example.py"""

from __future__ import annotations

import os
import sys
from uuid import uuid4

from consent.v1 import catalog_pb2, consent_pb2, types_pb2

from consentd_client import Client


def main() -> int:
    api_key = os.environ.get("CONSENTD_API_KEY")
    if not api_key:
        print("CONSENTD_API_KEY is not set", file=sys.stderr)
        return 2
    email = os.environ.get("CONSENTD_EMAIL") or f"python-example-{uuid4().hex[:12]}@example.org"
    target = types_pb2.ConsentTarget(
        purpose="newsletter",
        channel=types_pb2.CHANNEL_EMAIL,
        scope=types_pb2.PARTY_SCOPE_FIRST_PARTY,
    )
    with Client(os.environ.get("CONSENTD_ADDR", "127.0.0.1:50051"), api_key=api_key) as client:
        client.catalog.PutPurpose(
            catalog_pb2.PutPurposeRequest(
                purpose=catalog_pb2.Purpose(
                    purpose_id="newsletter",
                    display_name="Newsletter",
                    lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
                )
            )
        )
        recorded = client.consent.RecordConsent(
            consent_pb2.RecordConsentRequest(
                subject=types_pb2.SubjectIdentity(email=email),
                choices=[
                    consent_pb2.ConsentChoice(target=target, state=types_pb2.CONSENT_STATE_GRANTED)
                ],
                source=types_pb2.SOURCE_API,
                actor="python-example",
            )
        )
        print(f"recorded subject={recorded.subject_id} events={len(recorded.events)}")
        subject = types_pb2.SubjectRef(subject_id=recorded.subject_id)
        check = consent_pb2.CheckConsentRequest(subject=subject, target=target)

        def expect(step: str, want: consent_pb2.Decision.ValueType) -> bool:
            answer = client.consent.CheckConsent(check)
            print(f"check after {step}: {consent_pb2.Decision.Name(answer.decision)}")
            return answer.decision == want

        if not expect("record", consent_pb2.DECISION_ALLOW):
            return 1
        client.consent.WithdrawConsent(
            consent_pb2.WithdrawConsentRequest(
                subject=subject,
                targets=[target],
                source=types_pb2.SOURCE_API,
                actor="python-example",
            )
        )
        print("withdrawn")
        return 0 if expect("withdraw", consent_pb2.DECISION_DENY) else 1


if __name__ == "__main__":
    sys.exit(main())
