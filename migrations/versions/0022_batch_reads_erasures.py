"""A write batch's reads return the erasure of each contact point it names that was erased.

Why: a person objected, then asked for erasure; a CRM sync's grant (SOURCE_API) for their address,
refused while the objection stood, was then accepted: it made a new subject and the check said
ALLOW. A grant a system sends no longer brings an erased contact point back to a new subject
(app/recording.refuse_systems_return): only the person does, through the portal, a banner or
support. The grouped path reads the erasures here, in the round trip it makes already: a row per
erased contact point, with `o_kind` and `o_digest` set, `o_subject` NULL (an owner row always has
one) and the suppression's time in `o_objected`. The result's columns are 0020's; the function is
dropped and created again all the same (a database migrated by a development build of 0020 had
other columns, and CREATE OR REPLACE refused it).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "consentd_batch_reads(uuid[], int[], text[], int[], text[], bytea[])"

READS = """
CREATE OR REPLACE FUNCTION consentd_batch_reads(
    p_tenants uuid[], p_purpose_counts int[], p_purposes text[],
    p_digest_counts int[], p_kinds text[], p_digests bytea[]
)
RETURNS TABLE (
    o_tenant uuid, o_purpose purposes, o_kind text, o_digest bytea, o_subject uuid, o_key bytea,
    o_notice text, o_versions int[], o_floor int, o_objected timestamptz
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t int;
  p int := 0;
  d int := 0;
BEGIN
  FOR t IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
    RETURN QUERY SELECT p_tenants[t], b.*, NULL::text, NULL::int[], NULL::int, NULL::timestamptz
      FROM consentd_batch_part(
        p_tenants[t], p_purposes[p + 1 : p + p_purpose_counts[t]],
        p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
      ) AS b;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, NULL::uuid,
        NULL::bytea, n.notice_id, array_agg(n.version ORDER BY n.version), max(h.reconsent_floor),
        NULL::timestamptz
      FROM notices n
      JOIN notice_heads h ON h.tenant_id = n.tenant_id AND h.notice_id = n.notice_id
      WHERE n.tenant_id = p_tenants[t] AND n.notice_id IN (
        SELECT u.notice_id FROM purposes u
        WHERE u.tenant_id = p_tenants[t] AND u.purpose_id = ANY(p_purposes[p + 1 : p + p_purpose_counts[t]])
      )
      GROUP BY n.notice_id;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, o.subject_id,
        NULL::bytea, NULL::text, NULL::int[], NULL::int, max(o.since)
      FROM subject_blocks o
      WHERE o.tenant_id = p_tenants[t] AND o.kind = 'objected' AND o.lifted_at IS NULL
        AND o.subject_id IN (
          SELECT i.subject_id FROM subject_identifiers i
          WHERE i.tenant_id = p_tenants[t] AND (i.kind, i.digest) IN (
            SELECT * FROM unnest(
              p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
            )
          )
        )
      GROUP BY o.subject_id;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, s.kind, s.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, s.created_at
      FROM suppressions s
      WHERE s.tenant_id = p_tenants[t] AND s.reason = 'erased' AND (s.kind, s.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      );
    p := p + p_purpose_counts[t];
    d := d + p_digest_counts[t];
  END LOOP;
END
$$
"""


# 0020's function, for the downgrade (migrations state every function they create).
PREVIOUS = """
CREATE OR REPLACE FUNCTION consentd_batch_reads(
    p_tenants uuid[], p_purpose_counts int[], p_purposes text[],
    p_digest_counts int[], p_kinds text[], p_digests bytea[]
)
RETURNS TABLE (
    o_tenant uuid, o_purpose purposes, o_kind text, o_digest bytea, o_subject uuid, o_key bytea,
    o_notice text, o_versions int[], o_floor int, o_objected timestamptz
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t int;
  p int := 0;
  d int := 0;
BEGIN
  FOR t IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
    RETURN QUERY SELECT p_tenants[t], b.*, NULL::text, NULL::int[], NULL::int, NULL::timestamptz
      FROM consentd_batch_part(
        p_tenants[t], p_purposes[p + 1 : p + p_purpose_counts[t]],
        p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
      ) AS b;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, NULL::uuid,
        NULL::bytea, n.notice_id, array_agg(n.version ORDER BY n.version), max(h.reconsent_floor),
        NULL::timestamptz
      FROM notices n
      JOIN notice_heads h ON h.tenant_id = n.tenant_id AND h.notice_id = n.notice_id
      WHERE n.tenant_id = p_tenants[t] AND n.notice_id IN (
        SELECT u.notice_id FROM purposes u
        WHERE u.tenant_id = p_tenants[t] AND u.purpose_id = ANY(p_purposes[p + 1 : p + p_purpose_counts[t]])
      )
      GROUP BY n.notice_id;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, o.subject_id,
        NULL::bytea, NULL::text, NULL::int[], NULL::int, max(o.since)
      FROM subject_blocks o
      WHERE o.tenant_id = p_tenants[t] AND o.kind = 'objected' AND o.lifted_at IS NULL
        AND o.subject_id IN (
          SELECT i.subject_id FROM subject_identifiers i
          WHERE i.tenant_id = p_tenants[t] AND (i.kind, i.digest) IN (
            SELECT * FROM unnest(
              p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
            )
          )
        )
      GROUP BY o.subject_id;
    p := p + p_purpose_counts[t];
    d := d + p_digest_counts[t];
  END LOOP;
END
$$
"""


def _create(text: str) -> None:
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO consentd_app")


def upgrade() -> None:
    # Dropped, not replaced: a database whose function differs in its columns (one migrated by a
    # development build of 0020) could not take CREATE OR REPLACE.
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    _create(READS)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    _create(PREVIOUS)
