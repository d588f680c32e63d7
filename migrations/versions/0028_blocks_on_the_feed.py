"""Objections and restrictions of processing on the change feed, beside the consent events.

Why: the feed carried consent events only, so a marketing tool that kept a copy of the tenant's
consents from it went on answering ALLOW for a person who had objected or whose processing was
restricted (the checks say DENY): the docs told it to refresh the suppression list as well, which
is neither "at once" nor what a tenant expects of a feed. A block put in force or lifted now
takes the next feed position, integrated by the sequencer with its audit entry (whose `fact_id`
is now the block's id), in the one order of the log.

`consent_changes` rows hold an event or a block (`block_id`, and `block_lifted`: its start or
its lift). `consentd_append_integrated` gets an overload with each fed row's kind; the old one
stays, so a replica still running the previous code keeps integrating events during a rolling
upgrade. The downgrade drops the block rows (their positions become gaps the old code skips).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

SIGNATURE = (
    "consentd_append_integrated(uuid[], integer[], bigint[], bytea[], bytea[], timestamptz[], "
    "text[], uuid[], text[], uuid[], integer[], uuid[], text[], bigint[], bytea[], bytea[], "
    "bytea[])"
)

# 0015's function with `p_fed_kinds`: 'event', 'begun' (a block put in force) or 'lifted'.
APPEND = """
CREATE OR REPLACE FUNCTION consentd_append_integrated(
    p_tenants uuid[], p_counts integer[], p_seq bigint[], p_prev bytea[], p_hash bytea[],
    p_at timestamptz[], p_action text[], p_subject uuid[], p_payload text[], p_fact uuid[],
    p_fed_counts integer[], p_fed uuid[], p_fed_kinds text[], p_last_seq bigint[],
    p_last_hash bytea[], p_frontier bytea[], p_root bytea[]
) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  i integer;
  t uuid;
  n integer;
  m integer;
  o integer := 0;
  f integer := 0;
  feed_base bigint;
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
    t := p_tenants[i];
    n := p_counts[i];
    m := p_fed_counts[i];
    PERFORM set_config('consentd.tenant_id', t::text, true);
    INSERT INTO audit_entries (
        tenant_id, seq, prev_hash, entry_hash, recorded_at, action, subject_id, payload,
        format, fact_id
    )
    SELECT t, e.seq, e.prev_hash, e.entry_hash, e.recorded_at, e.action, e.subject_id,
        e.payload::jsonb, 2, e.fact_id
    FROM unnest(p_seq[o + 1 : o + n], p_prev[o + 1 : o + n], p_hash[o + 1 : o + n],
        p_at[o + 1 : o + n], p_action[o + 1 : o + n], p_subject[o + 1 : o + n],
        p_payload[o + 1 : o + n], p_fact[o + 1 : o + n])
        AS e(seq, prev_hash, entry_hash, recorded_at, action, subject_id, payload, fact_id);
    IF m > 0 THEN
      INSERT INTO consent_change_heads AS ch (tenant_id, last_position) VALUES (t, m)
      ON CONFLICT (tenant_id) DO UPDATE SET last_position = ch.last_position + m
      RETURNING ch.last_position - m INTO feed_base;
      INSERT INTO consent_changes (tenant_id, position, event_id, block_id, block_lifted)
      SELECT t, feed_base + x.ord,
          CASE WHEN x.kind = 'event' THEN x.fact_id END,
          CASE WHEN x.kind <> 'event' THEN x.fact_id END,
          CASE WHEN x.kind <> 'event' THEN x.kind = 'lifted' END
      FROM unnest(p_fed[f + 1 : f + m], p_fed_kinds[f + 1 : f + m])
          WITH ORDINALITY AS x(fact_id, kind, ord);
    END IF;
    UPDATE audit_heads SET last_seq = p_last_seq[i], last_hash = p_last_hash[i],
        tree_frontier = p_frontier[i], root_hash = p_root[i]
    WHERE tenant_id = t;
    o := o + n;
    f := f + m;
  END LOOP;
END
$$
"""


def upgrade() -> None:
    # IF NOT EXISTS, OR REPLACE: a database stamped back to an older revision migrates again.
    op.execute("ALTER TABLE consent_changes ALTER COLUMN event_id DROP NOT NULL")
    op.execute("ALTER TABLE consent_changes ADD COLUMN IF NOT EXISTS block_id uuid")
    op.execute("ALTER TABLE consent_changes ADD COLUMN IF NOT EXISTS block_lifted boolean")
    op.execute(
        """
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_constraint
                         WHERE conname = 'ck_consent_changes_event_or_block') THEN
            ALTER TABLE consent_changes
              ADD CONSTRAINT ck_consent_changes_event_or_block
                CHECK ((event_id IS NULL) <> (block_id IS NULL)),
              ADD CONSTRAINT ck_consent_changes_block_lifted
                CHECK ((block_id IS NULL) = (block_lifted IS NULL)),
              ADD CONSTRAINT fk_consent_changes_tenant_id_subject_blocks
                FOREIGN KEY (tenant_id, block_id)
                REFERENCES subject_blocks (tenant_id, block_id),
              ADD CONSTRAINT uq_consent_changes_block UNIQUE (tenant_id, block_id, block_lifted);
          END IF;
        END
        $$
        """
    )
    op.execute(APPEND)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {RUNTIME_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    # Under forced row-level security the owner sees a tenant's rows with its tenant set only.
    op.execute(
        """
        DO $$
        DECLARE t uuid;
        BEGIN
          FOR t IN SELECT tenant_id FROM tenants LOOP
            PERFORM set_config('consentd.tenant_id', t::text, true);
            DELETE FROM consent_changes WHERE tenant_id = t AND block_id IS NOT NULL;
          END LOOP;
          PERFORM set_config('consentd.tenant_id', '', true);
        END
        $$
        """
    )
    op.execute("ALTER TABLE consent_changes DROP CONSTRAINT uq_consent_changes_block")
    op.execute(
        "ALTER TABLE consent_changes DROP CONSTRAINT fk_consent_changes_tenant_id_subject_blocks"
    )
    op.execute("ALTER TABLE consent_changes DROP CONSTRAINT ck_consent_changes_block_lifted")
    op.execute("ALTER TABLE consent_changes DROP CONSTRAINT ck_consent_changes_event_or_block")
    op.drop_column("consent_changes", "block_lifted")
    op.drop_column("consent_changes", "block_id")
    op.execute("ALTER TABLE consent_changes ALTER COLUMN event_id SET NOT NULL")
