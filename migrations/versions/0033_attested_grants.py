"""Each consent event says whether the caller that recorded it speaks for the person.

Why: a grant in person (SOURCE_PORTAL, BANNER, SUPPORT) from a key without `consent:attest` is a
system's for objections and closed contact points (0029), but it was stored with its source only.
Whether the holder of a closed address "came back in person" read the stored source, so a plain
write key's PORTAL grant for the holder's other identifier (a phone, an external id), then a CRM
grant for the address, reopened an address closed by an erasure (probe Y).

`consent_events.attested`: true when the caller held `consent:attest` (or admin, or was the
person's own portal token, or the person followed a confirmation link), false when it did not,
NULL for events written before this revision, by the import, or by a server still running the
previous code during a rolling upgrade (their source is trusted, as before). The event's log
entry covers it (`consentd_event_payload` adds `attested` when it is set, so entries written
before keep their hash). `consentd_append_events` and `consentd_batch_writes` get overloads
taking it; 0032's and 0018's stay for the previous code. The new `consentd_append_events`
refuses an unattested grant over an objection like a system's (SQLSTATE CDP04).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

_PAYLOAD_FIELDS = """jsonb_build_object(
    'event_id', e.event_id::text,
    'sequence', e.sequence,
    'subject_id', e.subject_id::text,
    'purpose', e.purpose_id,
    'channel', e.channel,
    'scope', e.scope,
    'state', e.state,
    'notice_id', e.notice_id,
    'notice_version', e.notice_version,
    'source', e.source,
    'actor_sha256', encode(sha256(convert_to(e.actor, 'UTF8')), 'hex'),
    'processing_role', e.processing_role,
    'recorded_at', to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'valid_until', to_char(e.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'evidence_reference_sha256', encode(sha256(convert_to(e.evidence_reference, 'UTF8')), 'hex'),
    'evidence_ip_digest', encode(e.evidence_ip_digest, 'hex'),
    'evidence_ua_digest', encode(e.evidence_ua_digest, 'hex'),
    'evidence_sealed_sha256', encode(sha256(e.evidence_sealed), 'hex')
)"""

# 0009's payload; `attested` only when set, so an entry of an older event keeps its hash.
PAYLOAD = f"""
CREATE OR REPLACE FUNCTION consentd_event_payload(e consent_events) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT {_PAYLOAD_FIELDS}
    || CASE WHEN e.attested IS NULL THEN '{{}}'::jsonb
       ELSE jsonb_build_object('attested', e.attested) END
$$
"""

PAYLOAD_BEFORE = f"""
CREATE OR REPLACE FUNCTION consentd_event_payload(e consent_events) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT {_PAYLOAD_FIELDS}
$$
"""

APPEND_SIGNATURE = (
    "consentd_append_events(uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], "
    "text[], integer[], text[], text[], text[], timestamptz[], timestamptz[], text[], bytea[], "
    "bytea[], bytea[], timestamptz, boolean[])"
)

# 0032's function with $21, each event's `attested`; an unattested grant over an objection is
# refused as a system's is.
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

WRITES_SIGNATURE = (
    "consentd_batch_writes(uuid[], timestamptz, int[], uuid[], bytea[], int[], text[], bytea[], "
    "uuid[], bytea[], int[], uuid[], uuid[], text[], text[], text[], text[], text[], int[], "
    "text[], text[], text[], timestamptz[], timestamptz[], text[], bytea[], bytea[], bytea[], "
    "boolean[])"
)

# 0018's function with `p_attested`, handed to the append above.
WRITES = """
CREATE OR REPLACE FUNCTION consentd_batch_writes(
    p_tenants uuid[], p_now timestamptz,
    p_subject_counts int[], p_subjects uuid[], p_wrapped bytea[],
    p_link_counts int[], p_link_kinds text[], p_link_digests bytea[], p_link_subjects uuid[],
    p_link_sealed bytea[],
    p_event_counts int[], p_event_ids uuid[], p_event_subjects uuid[], p_purpose_ids text[],
    p_channels text[], p_scopes text[], p_states text[], p_notice_ids text[],
    p_notice_versions int[], p_sources text[], p_actors text[], p_roles text[],
    p_recorded_at timestamptz[], p_valid_until timestamptz[], p_references text[],
    p_ip_digests bytea[], p_ua_digests bytea[], p_sealed bytea[], p_attested boolean[]
) RETURNS SETOF consent_events
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t int;
  s int := 0;
  l int := 0;
  e int := 0;
  linked int;
  tenant uuid;
BEGIN
  FOR t IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
    tenant := p_tenants[t];
    PERFORM set_config('consentd.tenant_id', tenant::text, true);
    IF p_subject_counts[t] > 0 THEN
      WITH made AS (
          INSERT INTO subjects (tenant_id, subject_id, created_at)
          SELECT tenant, m, p_now FROM unnest(p_subjects[s + 1 : s + p_subject_counts[t]]) AS m
      ), keyed AS (
          INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at)
          SELECT tenant, k.m, k.w, p_now
          FROM unnest(
            p_subjects[s + 1 : s + p_subject_counts[t]], p_wrapped[s + 1 : s + p_subject_counts[t]]
          ) AS k(m, w)
      ), joined AS (
          INSERT INTO subject_identifiers (
            tenant_id, kind, digest, subject_id, created_at, sealed_value
          )
          SELECT tenant, i.kind, i.digest, i.m, p_now, i.sealed
          FROM unnest(
            p_link_kinds[l + 1 : l + p_link_counts[t]], p_link_digests[l + 1 : l + p_link_counts[t]],
            p_link_subjects[l + 1 : l + p_link_counts[t]], p_link_sealed[l + 1 : l + p_link_counts[t]]
          ) AS i(kind, digest, m, sealed)
          ON CONFLICT DO NOTHING
          RETURNING tenant_id, kind, digest, subject_id, created_at
      ), held AS (
          INSERT INTO contact_point_holdings (
            tenant_id, holding_id, kind, digest, subject_id, held_from
          )
          SELECT j.tenant_id, gen_random_uuid(), j.kind, j.digest, j.subject_id, j.created_at
          FROM joined j
      )
      SELECT count(*) INTO linked FROM joined;
      IF linked <> p_link_counts[t] THEN
        RAISE EXCEPTION 'another writer linked an identifier of this batch first'
          USING ERRCODE = 'CDP02';
      END IF;
    END IF;
    IF p_event_counts[t] > 0 THEN
      RETURN QUERY SELECT * FROM consentd_append_events(
        tenant, ARRAY(SELECT DISTINCT unnest(p_event_subjects[e + 1 : e + p_event_counts[t]])),
        p_event_ids[e + 1 : e + p_event_counts[t]], p_event_subjects[e + 1 : e + p_event_counts[t]],
        p_purpose_ids[e + 1 : e + p_event_counts[t]], p_channels[e + 1 : e + p_event_counts[t]],
        p_scopes[e + 1 : e + p_event_counts[t]], p_states[e + 1 : e + p_event_counts[t]],
        p_notice_ids[e + 1 : e + p_event_counts[t]],
        p_notice_versions[e + 1 : e + p_event_counts[t]],
        p_sources[e + 1 : e + p_event_counts[t]], p_actors[e + 1 : e + p_event_counts[t]],
        p_roles[e + 1 : e + p_event_counts[t]], p_recorded_at[e + 1 : e + p_event_counts[t]],
        p_valid_until[e + 1 : e + p_event_counts[t]], p_references[e + 1 : e + p_event_counts[t]],
        p_ip_digests[e + 1 : e + p_event_counts[t]], p_ua_digests[e + 1 : e + p_event_counts[t]],
        p_sealed[e + 1 : e + p_event_counts[t]], p_now,
        p_attested[e + 1 : e + p_event_counts[t]]
      );
    END IF;
    s := s + p_subject_counts[t];
    l := l + p_link_counts[t];
    e := e + p_event_counts[t];
  END LOOP;
END
$$
"""


def upgrade() -> None:
    # IF NOT EXISTS, OR REPLACE: a database stamped back to an older revision migrates again.
    op.execute("ALTER TABLE consent_events ADD COLUMN IF NOT EXISTS attested boolean")
    op.execute(PAYLOAD)
    for text, signature in ((APPEND, APPEND_SIGNATURE), (WRITES, WRITES_SIGNATURE)):
        op.execute(text)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {RUNTIME_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {WRITES_SIGNATURE}")
    op.execute(f"DROP FUNCTION {APPEND_SIGNATURE}")
    op.execute(PAYLOAD_BEFORE)
    # Entries queued or logged with `attested` keep it in their payload; the column goes (an
    # audit verify after a downgrade names those events as differing from their entries).
    op.execute("ALTER TABLE consent_events DROP COLUMN attested")
