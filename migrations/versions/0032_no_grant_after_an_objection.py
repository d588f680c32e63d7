"""A system's grant is refused once the subject's lock is held if the person objected meanwhile.

Why: 40 subjects, each objecting while five CRM grants (SOURCE_API) raced it: 49 grants were
acknowledged, written after the objection committed but stamped before it, so the checks said
DENY (the objection is later) while a copy kept from the change feed said ALLOW (the grant comes
after it there), for 18 of 40 (probe Y). The write read the objection before it waited for the
subject's lock. consentd_append_events now reads, after the lock, whether a subject of a granted
event from source `api` or `import` has an objection on record (none is ever lifted) and refuses
the whole append (SQLSTATE CDP04; the grouped path then runs each call alone, and the one-call
path takes the lock before it reads). The rest of the function is 0021's.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
            g.notice_version, g.source, g.actor, g.processing_role, %(recorded)s, g.valid_until,
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

# The newest fact on record for the event's target, or one for every target ('*'): read in the
# statement after the lock (its own snapshot), so a write that committed meanwhile is seen.
_AFTER_THE_LAST = """greatest(g.recorded_at, (
            SELECT max(c.updated_at) FROM current_consents c
            WHERE c.tenant_id = $1 AND c.subject_id = g.subject_id
              AND (c.purpose_id = '*' OR g.purpose_id = '*'
                OR (c.purpose_id, c.channel, c.scope) = (g.purpose_id, g.channel, g.scope))))"""


# After 0021's check of an erasure: an objection on record for a subject of a system's grant.
_OBJECTED = """
  IF EXISTS (
    SELECT 1 FROM unnest($4::uuid[], $8::text[], $11::text[]) AS x(subject_id, state, source)
    JOIN subject_blocks b ON b.tenant_id = $1 AND b.subject_id = x.subject_id
      AND b.kind = 'objected' AND b.lifted_at IS NULL
    WHERE x.state = 'granted' AND x.source IN ('api', 'import')
  ) THEN
    RAISE EXCEPTION 'a subject of these grants objected' USING ERRCODE = 'CDP04';
  END IF;"""


def upgrade() -> None:
    op.execute(_BODY % {"check": _CHECK + _OBJECTED, "recorded": _AFTER_THE_LAST})


def downgrade() -> None:
    op.execute(_BODY % {"check": _CHECK, "recorded": _AFTER_THE_LAST})
