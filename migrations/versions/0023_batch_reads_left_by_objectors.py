"""A write batch's reads also return the contact points an objector left.

Why: a person objected, then moved to a new address (RectifyContact); the next CRM sync's grant
for the old address (SOURCE_API) made a new subject and the check said ALLOW, though the
objection stays on the address (docs/contact-points.md, rule 2). A grant a system sends no longer
takes such a contact point back (app/standing.refuse_systems_return), as for an erased one
(0022). The grouped path reads them here, in the round trip it makes already: a row per contact
point left by a holder whose objection was in force then, `o_kind` and `o_digest` set,
`o_subject` NULL, the time it was left in `o_objected`; the new column `o_reason` tells these
('objected') from the erased ones ('erased'). A new result column: the function is dropped and
created again.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
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
    o_notice text, o_versions int[], o_floor int, o_objected timestamptz, o_reason text
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t int;
  p int := 0;
  d int := 0;
BEGIN
  FOR t IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
    RETURN QUERY SELECT p_tenants[t], b.*, NULL::text, NULL::int[], NULL::int, NULL::timestamptz,
        NULL::text
      FROM consentd_batch_part(
        p_tenants[t], p_purposes[p + 1 : p + p_purpose_counts[t]],
        p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
      ) AS b;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, NULL::uuid,
        NULL::bytea, n.notice_id, array_agg(n.version ORDER BY n.version), max(h.reconsent_floor),
        NULL::timestamptz, NULL::text
      FROM notices n
      JOIN notice_heads h ON h.tenant_id = n.tenant_id AND h.notice_id = n.notice_id
      WHERE n.tenant_id = p_tenants[t] AND n.notice_id IN (
        SELECT u.notice_id FROM purposes u
        WHERE u.tenant_id = p_tenants[t] AND u.purpose_id = ANY(p_purposes[p + 1 : p + p_purpose_counts[t]])
      )
      GROUP BY n.notice_id;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, o.subject_id,
        NULL::bytea, NULL::text, NULL::int[], NULL::int, max(o.since), NULL::text
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
        NULL::text, NULL::int[], NULL::int, s.created_at, 'erased'::text
      FROM suppressions s
      WHERE s.tenant_id = p_tenants[t] AND s.reason = 'erased' AND (s.kind, s.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      );
    -- Contact points left (RectifyContact) by a holder whose objection was in force then; a
    -- subject's own ended holding of a contact point it holds again is not another's.
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, h.kind, h.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, max(h.held_until), 'objected'::text
      FROM contact_point_holdings h
      JOIN subject_blocks b
        ON b.tenant_id = h.tenant_id AND b.subject_id = h.subject_id AND b.kind = 'objected'
       AND b.since <= h.held_until AND (b.lifted_at IS NULL OR b.lifted_at > h.held_until)
      WHERE h.tenant_id = p_tenants[t] AND h.held_until IS NOT NULL AND (h.kind, h.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      ) AND NOT EXISTS (
        SELECT FROM contact_point_holdings x
        WHERE x.tenant_id = h.tenant_id AND x.kind = h.kind AND x.digest = h.digest
          AND x.held_until IS NULL AND x.subject_id = h.subject_id
      )
      GROUP BY h.kind, h.digest;
    p := p + p_purpose_counts[t];
    d := d + p_digest_counts[t];
  END LOOP;
END
$$
"""


# 0022's function, for the downgrade (migrations state every function they create).
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


def _create(text: str) -> None:
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO consentd_app")


def upgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    _create(READS)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    _create(PREVIOUS)
