"""A write batch's reads return each notice's re-consent floor beside its versions, and the
objection in force of each subject it names.

Why: a grant recorded on a notice version below the floor (the version a re-consent asked for)
was acknowledged and never counted (every check said DENY notice_outdated): the caller believed
the person's consent recorded. Both write paths now refuse it (app/recording.require_notices);
the grouped path reads the floor here, in the same round trip as the versions. And a grant a
system sends (SOURCE_API, SOURCE_IMPORT) lifted an objection to marketing (GDPR art. 21(3)):
only the person may, so the grouped path reads each named subject's objection here too (a row of
its own per subject: `o_subject` and `o_objected`). consentd_batch_part's rows carry NULLs in the
new columns. The signature is 0018's; the result gains `o_floor` and `o_objected`, so the
function is dropped and created again.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "consentd_batch_reads(uuid[], int[], text[], int[], text[], bytea[])"

READS = """
CREATE FUNCTION consentd_batch_reads(
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


# 0018's function, for the downgrade (migrations state every function they create).
PREVIOUS = """
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


def _create(text: str) -> None:
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO consentd_app")


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    _create(READS)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    _create(PREVIOUS)
