"""What the events of one request share: who, how and when, and the evidence of the decision
(its reference, and the IP address and user agent sealed under the subject's key so erasing the
subject destroys them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from consentd.app.commands import Evidence, RecordConsent, WithdrawConsent
from consentd.domain.model import ConsentEvent, ConsentState, ProcessingRole, Source, Target
from consentd.domain.sealing import SubjectKey

EVIDENCE_LABEL = "evidence"


def seal_evidence(key: SubjectKey, evidence: Evidence) -> bytes | None:
    if not (evidence.ip_address or evidence.user_agent):
        return None
    document = {"ip_address": evidence.ip_address, "user_agent": evidence.user_agent}
    return key.seal(EVIDENCE_LABEL, json.dumps(document, sort_keys=True))


def open_evidence(key: SubjectKey | None, sealed: bytes | None) -> dict[str, str] | None:
    """The sealed IP address and user agent; None when there are none or the key is gone."""
    if key is None or sealed is None:
        return None
    opened: dict[str, str] = json.loads(key.open(EVIDENCE_LABEL, sealed))
    return opened


def event_stamp(
    subject_id: UUID,
    command: RecordConsent | WithdrawConsent,
    role: ProcessingRole,
    now: datetime,
    key: SubjectKey,
) -> EventStamp:
    """What the events of one request share; IP and user agent only sealed under the subject's
    key, so erasing the subject destroys them."""
    return EventStamp(
        subject_id=subject_id,
        source=command.source,
        actor=command.actor,
        now=now,
        role=role,
        evidence_reference=command.evidence.reference,
        evidence_sealed=seal_evidence(key, command.evidence),
        # A withdrawal's is not kept: only a grant in person turns on who recorded it.
        attested=command.vouched if isinstance(command, RecordConsent) else None,
        decided_at=command.recorded_at,
    )


@dataclass(frozen=True, slots=True)
class EventStamp:
    """What every event of one request shares."""

    subject_id: UUID
    source: Source
    actor: str
    now: datetime
    role: ProcessingRole
    evidence_reference: str
    evidence_sealed: bytes | None
    attested: bool | None
    decided_at: datetime | None

    def event(
        self,
        target: Target,
        state: ConsentState,
        notice_id: str | None,
        notice_version: int | None,
        until: datetime | None,
    ) -> ConsentEvent:
        return ConsentEvent(
            event_id=uuid4(),
            sequence=0,
            subject_id=self.subject_id,
            target=target,
            state=state,
            notice_id=notice_id,
            notice_version=notice_version,
            source=self.source,
            actor=self.actor,
            processing_role=self.role,
            recorded_at=self.now,
            valid_until=until,
            evidence_reference=self.evidence_reference,
            evidence_sealed=self.evidence_sealed,
            attested=self.attested,
            decided_at=self.decided_at,
        )
