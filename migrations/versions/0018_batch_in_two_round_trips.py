"""A write batch reads every tenant's part in one round trip and writes every tenant's part in
one more.

Why: group commit across tenants (app/grouped_writes.py) wrote each tenant's part in turn, one
round trip after another (0016's consentd_batch_part, the notices' versions, the new subjects,
the append): with writes spread over 50 tenants a batch held ~14 tenants and ~45 round trips,
40 ms median, and the line waited on them. `consentd_batch_reads` runs consentd_batch_part (the
tenant set, the purge guard passed, purposes and owners read) for each tenant in turn, with the
versions of the purposes' notices; `consentd_batch_writes` sets each tenant in turn, creates its
new subjects (0016's statement: subjects, keys, identifiers, holdings) and appends its events
(consentd_append_events, which locks their subjects). Each tenant's part is given as a slice of
flat arrays (`*_counts[t]` elements for the t-th tenant). When another writer linked one of the
new identifiers first, the batch is refused (SQLSTATE CDP02) and its transaction rolled back;
every call then runs alone, as before. SECURITY INVOKER: every statement runs as the runtime
role under row-level security, after its tenant is set.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READS = """
CREATE FUNCTION consentd_batch_reads(
    p_tenants uuid[], p_purpose_counts int[], p_purposes text[],
    p_digest_counts int[], p_kinds text[], p_digests bytea[]
)
RETURNS TABLE (
    o_tenant uuid, o_purpose purposes, o_kind text, o_digest bytea, o_subject uuid, o_key bytea,
    o_notice text, o_versions int[]
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t int;
  p int := 0;
  d int := 0;
BEGIN
  FOR t IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
    RETURN QUERY SELECT p_tenants[t], b.*, NULL::text, NULL::int[]
      FROM consentd_batch_part(
        p_tenants[t], p_purposes[p + 1 : p + p_purpose_counts[t]],
        p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
      ) AS b;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, NULL::uuid,
        NULL::bytea, n.notice_id, array_agg(n.version ORDER BY n.version)
      FROM notices n
      WHERE n.tenant_id = p_tenants[t] AND n.notice_id IN (
        SELECT u.notice_id FROM purposes u
        WHERE u.tenant_id = p_tenants[t] AND u.purpose_id = ANY(p_purposes[p + 1 : p + p_purpose_counts[t]])
      )
      GROUP BY n.notice_id;
    p := p + p_purpose_counts[t];
    d := d + p_digest_counts[t];
  END LOOP;
END
$$
"""
READS_SIGNATURE = "consentd_batch_reads(uuid[], int[], text[], int[], text[], bytea[])"

# The new subjects of one tenant are store/subjects.py's CREATE_LINKED; the count of identifiers
# linked tells whether another writer linked one first (ON CONFLICT DO NOTHING left it).
WRITES = """
CREATE FUNCTION consentd_batch_writes(
    p_tenants uuid[], p_now timestamptz,
    p_subject_counts int[], p_subjects uuid[], p_wrapped bytea[],
    p_link_counts int[], p_link_kinds text[], p_link_digests bytea[], p_link_subjects uuid[],
    p_link_sealed bytea[],
    p_event_counts int[], p_event_ids uuid[], p_event_subjects uuid[], p_purpose_ids text[],
    p_channels text[], p_scopes text[], p_states text[], p_notice_ids text[],
    p_notice_versions int[], p_sources text[], p_actors text[], p_roles text[],
    p_recorded_at timestamptz[], p_valid_until timestamptz[], p_references text[],
    p_ip_digests bytea[], p_ua_digests bytea[], p_sealed bytea[]
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
        p_sealed[e + 1 : e + p_event_counts[t]], p_now
      );
    END IF;
    s := s + p_subject_counts[t];
    l := l + p_link_counts[t];
    e := e + p_event_counts[t];
  END LOOP;
END
$$
"""
WRITES_SIGNATURE = (
    "consentd_batch_writes(uuid[], timestamptz, int[], uuid[], bytea[], int[], text[], bytea[], "
    "uuid[], bytea[], int[], uuid[], uuid[], text[], text[], text[], text[], text[], int[], "
    "text[], text[], text[], timestamptz[], timestamptz[], text[], bytea[], bytea[], bytea[])"
)


def upgrade() -> None:
    for text, signature in ((READS, READS_SIGNATURE), (WRITES, WRITES_SIGNATURE)):
        op.execute(text)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO consentd_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {WRITES_SIGNATURE}")
    op.execute(f"DROP FUNCTION {READS_SIGNATURE}")
