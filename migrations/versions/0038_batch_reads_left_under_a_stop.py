"""A write batch's reads also return the contact points a holder left under a STOP, and those
the named subjects hold besides the named ones that only a person takes back.

Why: a person texted STOP (WithdrawConsent `all` + `channel`, 0036), then moved to a new number
(RectifyContact); the next CRM sync's grant for the old number (SOURCE_API) made a new subject
and the check said ALLOW, while the same steps with an objection are refused (probe BI). A STOP
is an objection to the channel (0037): a contact point left by a holder who had withdrawn
everything, on every channel or on one the contact point reaches (an email address: e-mail; a
phone: SMS and calls), by the time they left it, is returned as one left by an objector
(`o_reason` 'objected'): a system's grant no longer takes it back (app/standing.py
refuse_systems_return), only the person who holds it now. store/closed_points.py reads the same
for the one-call path and imports.

Second (probe BI): an operator gave a customer an address erased at its earlier holder's request
(RectifyContact), and a CRM grant naming the customer by external id only made a check of the
address ALLOW; naming the address, it is refused. The contact points the named subjects hold
besides the named ones that only a person takes back come back as rows with the holder in
`o_subject` and `o_reason` set (the earlier code reads them as owners, which they are): such a
call runs alone, where the subject's own contact points are read (app/standing.py). The result
columns are unchanged.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
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
    -- Contact points left by a holder who had withdrawn everything, on every channel or on the
    -- contact point's (a STOP), by then (0038): a STOP is an objection to the channel.
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, h.kind, h.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, max(h.held_until), 'objected'::text
      FROM contact_point_holdings h
      WHERE h.tenant_id = p_tenants[t] AND h.held_until IS NOT NULL AND (h.kind, h.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      ) AND NOT EXISTS (
        SELECT FROM contact_point_holdings x
        WHERE x.tenant_id = h.tenant_id AND x.kind = h.kind AND x.digest = h.digest
          AND x.held_until IS NULL AND x.subject_id = h.subject_id
      ) AND EXISTS (
        SELECT FROM consent_events e
        WHERE e.tenant_id = h.tenant_id AND e.subject_id = h.subject_id AND e.purpose_id = '*'
          AND e.state = 'withdrawn' AND e.recorded_at <= h.held_until
          AND (e.channel = '*' OR (h.kind, e.channel) IN (
            ('email', 'email'), ('phone', 'sms'), ('phone', 'voice_call')))
      )
      GROUP BY h.kind, h.digest;
    -- The contact points the named subjects hold besides the named ones that only a person
    -- takes back (erased, or left by an objector or under a STOP): a system's grant naming the
    -- subject by another identifier took an erased address back (probe BI). A row per such
    -- contact point with its holder in `o_subject` and `o_reason` set: the call runs alone.
    -- Only in a tenant where a contact point was ever erased or left (most writes' batches
    -- pay nothing for it).
    IF EXISTS (
      SELECT FROM contact_point_holdings e
      WHERE e.tenant_id = p_tenants[t] AND e.held_until IS NOT NULL
    ) THEN
    RETURN QUERY WITH held AS (
        SELECT i.subject_id, i.kind, i.digest FROM subject_identifiers i
        WHERE i.tenant_id = p_tenants[t] AND i.subject_id IN (
          SELECT n.subject_id FROM subject_identifiers n
          WHERE n.tenant_id = p_tenants[t] AND (n.kind, n.digest) IN (
            SELECT * FROM unnest(
              p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
            )
          )
        ) AND (i.kind, i.digest) NOT IN (
          SELECT * FROM unnest(
            p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
          )
        )
      )
      SELECT p_tenants[t], NULL::purposes, c.kind, c.digest, c.subject_id, NULL::bytea,
          NULL::text, NULL::int[], NULL::int, max(c.at), min(c.reason)
        FROM (
          SELECT h.subject_id, h.kind, h.digest, s.created_at AS at, 'erased'::text AS reason
          FROM held h JOIN suppressions s
            ON s.tenant_id = p_tenants[t] AND s.reason = 'erased' AND s.kind = h.kind
           AND s.digest = h.digest
          UNION ALL
          SELECT h.subject_id, h.kind, h.digest, o.held_until, 'objected'
          FROM held h JOIN contact_point_holdings o
            ON o.tenant_id = p_tenants[t] AND o.kind = h.kind AND o.digest = h.digest
           AND o.held_until IS NOT NULL AND o.subject_id <> h.subject_id
          WHERE EXISTS (
              SELECT FROM subject_blocks b
              WHERE b.tenant_id = o.tenant_id AND b.subject_id = o.subject_id
                AND b.kind = 'objected' AND b.since <= o.held_until
                AND (b.lifted_at IS NULL OR b.lifted_at > o.held_until)
            ) OR EXISTS (
              SELECT FROM consent_events e
              WHERE e.tenant_id = o.tenant_id AND e.subject_id = o.subject_id
                AND e.purpose_id = '*' AND e.state = 'withdrawn' AND e.recorded_at <= o.held_until
                AND (e.channel = '*' OR (o.kind, e.channel) IN (
                  ('email', 'email'), ('phone', 'sms'), ('phone', 'voice_call')))
            )
        ) AS c
        GROUP BY c.subject_id, c.kind, c.digest;
    END IF;
    p := p + p_purpose_counts[t];
    d := d + p_digest_counts[t];
  END LOOP;
END
$$
"""

# 0023's function, for the downgrade (migrations state every function they create).
PREVIOUS = """
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


def _create(text: str) -> None:
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO consentd_app")


def upgrade() -> None:
    _create(READS)


def downgrade() -> None:
    _create(PREVIOUS)
