"""An append of consent events refuses a subject that was erased (SQLSTATE CDP03).

Why: a write that resolved its subject before an erasure committed, then waited on the subject's
lock behind it, appended its event to the erased subject afterwards (a probe raced 16 writers
with EraseSubject: the erased subject id answered ALLOW again, the feed delivered a grant after
its erasure). The erasure now takes the subject's lock first (app/rights.py) and this function
looks at `subjects.erased_at` once it holds the lock: the waiting write is refused, and runs
again as a new call, naming a new subject (app/grouped_writes.py runs a refused batch's calls
alone; a call naming the erased subject's id is FAILED_PRECONDITION). The rest of the function is
0016's, unchanged.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_SIGNATURE = (
    "consentd_append_events(uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], "
    "text[], integer[], text[], text[], text[], timestamptz[], timestamptz[], text[], bytea[], "
    "bytea[], bytea[], timestamptz)"
)

_BODY = """
CREATE OR REPLACE FUNCTION consentd_append_events(
    uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], text[], integer[], text[],
    text[], text[], timestamptz[], timestamptz[], text[], bytea[], bytea[], bytea[], timestamptz
) RETURNS SETOF consent_events
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(k)
  FROM (SELECT DISTINCT consentd_subject_lock($1, s) AS k FROM unnest($2) AS s) AS keys
  ORDER BY k;
  %(check)s
  RETURN QUERY
    WITH given AS (
        SELECT * FROM unnest(
            $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::int[], $11::text[], $12::text[], $13::text[], $14::timestamptz[],
            $15::timestamptz[], $16::text[], $17::bytea[], $18::bytea[], $19::bytea[]
        ) WITH ORDINALITY AS g(
            event_id, subject_id, purpose_id, channel, scope, state, notice_id, notice_version,
            source, actor, processing_role, recorded_at, valid_until, evidence_reference,
            evidence_ip_digest, evidence_ua_digest, evidence_sealed, ord
        )
    ), inserted AS (
        INSERT INTO consent_events (
            tenant_id, event_id, subject_id, purpose_id, channel, scope, state, notice_id,
            notice_version, source, actor, processing_role, recorded_at, valid_until,
            evidence_reference, evidence_ip_digest, evidence_ua_digest, evidence_sealed
        )
        SELECT $1, g.event_id, g.subject_id, g.purpose_id, g.channel, g.scope, g.state, g.notice_id,
            g.notice_version, g.source, g.actor, g.processing_role, g.recorded_at, g.valid_until,
            g.evidence_reference, g.evidence_ip_digest, g.evidence_ua_digest, g.evidence_sealed
        FROM given g ORDER BY g.ord
        RETURNING *
    ), queued AS (
        INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
        SELECT i.tenant_id, consentd_event_action(i.state), $20, i.subject_id, i.event_id,
            consentd_event_payload(i::consent_events)
        FROM inserted i ORDER BY i.sequence
    ), projected AS (
        -- The projection only moves forward: a later event committed first is never overwritten.
        INSERT INTO current_consents AS c (
            tenant_id, subject_id, purpose_id, channel, scope, state, event_id, sequence,
            notice_version, valid_until, updated_at
        )
        SELECT tenant_id, subject_id, purpose_id, channel, scope, state, event_id, sequence,
            notice_version, valid_until, recorded_at
        FROM inserted
        ON CONFLICT (tenant_id, subject_id, purpose_id, channel, scope) DO UPDATE SET
            state = excluded.state, event_id = excluded.event_id, sequence = excluded.sequence,
            notice_version = excluded.notice_version, valid_until = excluded.valid_until,
            updated_at = excluded.updated_at
        WHERE c.sequence < excluded.sequence
    )
    SELECT * FROM inserted ORDER BY sequence;
END
$$
"""

# Read after the lock: a VOLATILE function's statements each take their own snapshot, so an
# erasure that held the lock is seen once it committed.
_CHECK = """IF EXISTS (
    SELECT 1 FROM subjects s
    WHERE s.tenant_id = $1 AND s.subject_id = ANY($2) AND s.erased_at IS NOT NULL
  ) THEN
    RAISE EXCEPTION 'a subject of these events was erased' USING ERRCODE = 'CDP03';
  END IF;"""


def upgrade() -> None:
    op.execute(_BODY % {"check": _CHECK})
    op.execute(f"REVOKE ALL ON FUNCTION {APPEND_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {APPEND_SIGNATURE} TO consentd_app")


def downgrade() -> None:
    op.execute(_BODY % {"check": ""})
