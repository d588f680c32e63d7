"""A withdrawal of everything (a STOP, of every channel or of one) is lifted by the person only.

Why: a person texted STOP (WithdrawConsent `all` + `channel`, 0036) or withdrew everything, and
the next CRM sync's grant (`SOURCE_API`, a key without `consent:attest`) made a check ALLOW at
once, while the same grant after an objection or an erasure is refused (probe BF). A STOP is an
objection to that channel (CPCE L34-5): a system's grant of a target under such a withdrawal
(the "everything" row of every channel or of the target's, with no grant of the target after
it) is refused as over an objection, SQLSTATE CDP05 (the service answers FAILED_PRECONDITION,
`STOP_IN_FORCE`), until the person grants that target themselves (a grant in person, attested).

`consentd_stop_stands(tenant, subject, purpose, channel, scope)` says whether such a
withdrawal stands for a target; `consentd_append_events` (0033's overload, with each event's
`attested`) restated with the check, and the import's statement asks it too; the grouped writes call it, so a batch naming such a grant is rolled back and its calls
run alone. 0032's overload is left as it is (the previous code during a rolling upgrade).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

APPEND_SIGNATURE = (
    "consentd_append_events(uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], "
    "text[], integer[], text[], text[], text[], timestamptz[], timestamptz[], text[], bytea[], "
    "bytea[], bytea[], timestamptz, boolean[])"
)

STOP_SIGNATURE = "consentd_stop_stands(uuid, uuid, text, text, text)"

# Whether a withdrawal of everything (of every channel or of the target's) stands for a target
# of a subject's: on record, with no grant of that target after it. The append below and the
# import's statement (store/import_apply.py) ask it.
STOP = """
CREATE OR REPLACE FUNCTION consentd_stop_stands(
    p_tenant uuid, p_subject uuid, p_purpose text, p_channel text, p_scope text
) RETURNS boolean
LANGUAGE sql STABLE AS $$
SELECT EXISTS (
    SELECT 1 FROM current_consents a
    WHERE a.tenant_id = p_tenant AND a.subject_id = p_subject AND a.purpose_id = '*'
      AND a.channel IN ('*', p_channel) AND NOT EXISTS (
        SELECT 1 FROM current_consents g
        WHERE g.tenant_id = p_tenant AND g.subject_id = p_subject AND g.state = 'granted'
          AND (g.purpose_id, g.channel, g.scope) = (p_purpose, p_channel, p_scope)
          AND g.sequence > a.sequence))
$$
"""

# 0033's function with the check of a withdrawal of everything.
APPEND = """
CREATE OR REPLACE FUNCTION consentd_append_events(
    uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], text[], integer[], text[],
    text[], text[], timestamptz[], timestamptz[], text[], bytea[], bytea[], bytea[], timestamptz,
    boolean[]
) RETURNS SETOF consent_events
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(k)
  FROM (SELECT DISTINCT consentd_subject_lock($1, s) AS k FROM unnest($2) AS s) AS keys
  ORDER BY k;
  IF EXISTS (
    SELECT 1 FROM subjects s
    WHERE s.tenant_id = $1 AND s.subject_id = ANY($2) AND s.erased_at IS NOT NULL
  ) THEN
    RAISE EXCEPTION 'a subject of these events was erased' USING ERRCODE = 'CDP03';
  END IF;
  IF EXISTS (
    SELECT 1
    FROM unnest($4::uuid[], $8::text[], $11::text[], $21::boolean[])
      AS x(subject_id, state, source, attested)
    JOIN subject_blocks b ON b.tenant_id = $1 AND b.subject_id = x.subject_id
      AND b.kind = 'objected' AND b.lifted_at IS NULL
    WHERE x.state = 'granted' AND (x.source IN ('api', 'import') OR x.attested IS FALSE)
  ) THEN
    RAISE EXCEPTION 'a subject of these grants objected' USING ERRCODE = 'CDP04';
  END IF;
  -- A system's grant of a target under a withdrawal of everything, of every channel or of its
  -- own (a STOP), with no grant of that target since: only the person lifts it.
  IF EXISTS (
    SELECT 1
    FROM unnest(
      $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $11::text[], $21::boolean[]
    ) AS x(subject_id, purpose_id, channel, scope, state, source, attested)
    WHERE x.state = 'granted' AND (x.source IN ('api', 'import') OR x.attested IS FALSE)
      AND consentd_stop_stands($1, x.subject_id, x.purpose_id, x.channel, x.scope)
  ) THEN
    RAISE EXCEPTION 'a subject of these grants withdrew everything' USING ERRCODE = 'CDP05';
  END IF;
  RETURN QUERY
    WITH given AS (
        SELECT * FROM unnest(
            $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::int[], $11::text[], $12::text[], $13::text[], $14::timestamptz[],
            $15::timestamptz[], $16::text[], $17::bytea[], $18::bytea[], $19::bytea[],
            $21::boolean[]
        ) WITH ORDINALITY AS g(
            event_id, subject_id, purpose_id, channel, scope, state, notice_id, notice_version,
            source, actor, processing_role, recorded_at, valid_until, evidence_reference,
            evidence_ip_digest, evidence_ua_digest, evidence_sealed, attested, ord
        )
    ), inserted AS (
        INSERT INTO consent_events (
            tenant_id, event_id, subject_id, purpose_id, channel, scope, state, notice_id,
            notice_version, source, actor, processing_role, recorded_at, valid_until,
            evidence_reference, evidence_ip_digest, evidence_ua_digest, evidence_sealed, attested
        )
        SELECT $1, g.event_id, g.subject_id, g.purpose_id, g.channel, g.scope, g.state, g.notice_id,
            g.notice_version, g.source, g.actor, g.processing_role, greatest(g.recorded_at, (
            SELECT max(c.updated_at) FROM current_consents c
            WHERE c.tenant_id = $1 AND c.subject_id = g.subject_id
              AND (c.purpose_id = '*' OR g.purpose_id = '*'
                OR (c.purpose_id, c.channel, c.scope) = (g.purpose_id, g.channel, g.scope)))),
            g.valid_until, g.evidence_reference, g.evidence_ip_digest, g.evidence_ua_digest,
            g.evidence_sealed, g.attested
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

# 0033's function, for the downgrade (migrations state every function they create).
PREVIOUS = """
CREATE OR REPLACE FUNCTION consentd_append_events(
    uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], text[], integer[], text[],
    text[], text[], timestamptz[], timestamptz[], text[], bytea[], bytea[], bytea[], timestamptz,
    boolean[]
) RETURNS SETOF consent_events
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(k)
  FROM (SELECT DISTINCT consentd_subject_lock($1, s) AS k FROM unnest($2) AS s) AS keys
  ORDER BY k;
  IF EXISTS (
    SELECT 1 FROM subjects s
    WHERE s.tenant_id = $1 AND s.subject_id = ANY($2) AND s.erased_at IS NOT NULL
  ) THEN
    RAISE EXCEPTION 'a subject of these events was erased' USING ERRCODE = 'CDP03';
  END IF;
  IF EXISTS (
    SELECT 1
    FROM unnest($4::uuid[], $8::text[], $11::text[], $21::boolean[])
      AS x(subject_id, state, source, attested)
    JOIN subject_blocks b ON b.tenant_id = $1 AND b.subject_id = x.subject_id
      AND b.kind = 'objected' AND b.lifted_at IS NULL
    WHERE x.state = 'granted' AND (x.source IN ('api', 'import') OR x.attested IS FALSE)
  ) THEN
    RAISE EXCEPTION 'a subject of these grants objected' USING ERRCODE = 'CDP04';
  END IF;
  RETURN QUERY
    WITH given AS (
        SELECT * FROM unnest(
            $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::int[], $11::text[], $12::text[], $13::text[], $14::timestamptz[],
            $15::timestamptz[], $16::text[], $17::bytea[], $18::bytea[], $19::bytea[],
            $21::boolean[]
        ) WITH ORDINALITY AS g(
            event_id, subject_id, purpose_id, channel, scope, state, notice_id, notice_version,
            source, actor, processing_role, recorded_at, valid_until, evidence_reference,
            evidence_ip_digest, evidence_ua_digest, evidence_sealed, attested, ord
        )
    ), inserted AS (
        INSERT INTO consent_events (
            tenant_id, event_id, subject_id, purpose_id, channel, scope, state, notice_id,
            notice_version, source, actor, processing_role, recorded_at, valid_until,
            evidence_reference, evidence_ip_digest, evidence_ua_digest, evidence_sealed, attested
        )
        SELECT $1, g.event_id, g.subject_id, g.purpose_id, g.channel, g.scope, g.state, g.notice_id,
            g.notice_version, g.source, g.actor, g.processing_role, greatest(g.recorded_at, (
            SELECT max(c.updated_at) FROM current_consents c
            WHERE c.tenant_id = $1 AND c.subject_id = g.subject_id
              AND (c.purpose_id = '*' OR g.purpose_id = '*'
                OR (c.purpose_id, c.channel, c.scope) = (g.purpose_id, g.channel, g.scope)))),
            g.valid_until, g.evidence_reference, g.evidence_ip_digest, g.evidence_ua_digest,
            g.evidence_sealed, g.attested
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


def _create(text: str, signature: str = APPEND_SIGNATURE) -> None:
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {RUNTIME_ROLE}")


def upgrade() -> None:
    _create(STOP, STOP_SIGNATURE)
    _create(APPEND)


def downgrade() -> None:
    _create(PREVIOUS)
    op.execute(f"DROP FUNCTION {STOP_SIGNATURE}")
