"""A part of a write batch enters its tenant and reads what it needs in one round trip; an
append of consent events locks their subjects and appends in one.

Why: group commit across tenants (app/grouped_writes.py) writes each tenant's part of a batch
in turn, in one transaction; with writes spread over 50 tenants a part is one or two calls, and
its round trips one after another (set the tenant, read the purposes, look the identifiers'
owners up, create, append) were the batch's time. `consentd_batch_part` sets the tenant, passes
the purge guard (0011's consentd_tenant_writable, as every unit of work does), then answers the
purposes asked for and the owners of the identifiers given, with their data keys. SECURITY
INVOKER: the reads run as the runtime role under row-level security, after the tenant is set.
`consentd_append_events` is what every consent write did in two statements (lock the events'
subjects, then append events, projection and queued log entries): one round trip less for each.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "consentd_batch_part(uuid, text[], text[], bytea[])"

BATCH_PART = """
CREATE FUNCTION consentd_batch_part(
    p_tenant uuid, p_purposes text[], p_kinds text[], p_digests bytea[]
)
RETURNS TABLE (o_purpose purposes, o_kind text, o_digest bytea, o_subject uuid, o_key bytea)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('consentd.tenant_id', p_tenant::text, true);
  PERFORM consentd_tenant_writable(p_tenant);
  RETURN QUERY SELECT p, NULL::text, NULL::bytea, NULL::uuid, NULL::bytea
    FROM purposes p WHERE p.tenant_id = p_tenant AND p.purpose_id = ANY(p_purposes);
  RETURN QUERY SELECT NULL::purposes, i.kind, i.digest, i.subject_id, k.wrapped_key
    FROM subject_identifiers i
    LEFT JOIN subject_keys k ON k.tenant_id = i.tenant_id AND k.subject_id = i.subject_id
    WHERE i.tenant_id = p_tenant
      AND (i.kind, i.digest) IN (SELECT * FROM unnest(p_kinds, p_digests));
END
$$
"""

# The lock (store/consents.py's order: one subject's writers wait for each other, sorted keys so
# two writers never wait crosswise) and the append, as the two statements were: the append's
# snapshot is taken after the lock (a VOLATILE function's statements each take their own).
APPEND_EVENTS = """
CREATE FUNCTION consentd_append_events(
    uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], text[], integer[], text[],
    text[], text[], timestamptz[], timestamptz[], text[], bytea[], bytea[], bytea[], timestamptz
) RETURNS SETOF consent_events
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(k)
  FROM (SELECT DISTINCT consentd_subject_lock($1, s) AS k FROM unnest($2) AS s) AS keys
  ORDER BY k;
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
APPEND_SIGNATURE = (
    "consentd_append_events(uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], "
    "text[], integer[], text[], text[], text[], timestamptz[], timestamptz[], text[], bytea[], "
    "bytea[], bytea[], timestamptz)"
)


def upgrade() -> None:
    for text, signature in ((BATCH_PART, SIGNATURE), (APPEND_EVENTS, APPEND_SIGNATURE)):
        op.execute(text)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO consentd_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {APPEND_SIGNATURE}")
    op.execute(f"DROP FUNCTION {SIGNATURE}")
