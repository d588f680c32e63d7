"""The sequencer's passes of several tenants in two statements instead of four per tenant.

Why: writes spread over 50 tenants woke passes of a few entries each; a pass of 8 tenants was
33 round trips (the tenant switched, the head locked, the queue taken, the entries appended, per
tenant) on an event loop the writes keep busy, and a write waited up to a second to be in the
log (issue 12's promise: within 1 s, p99). `consentd_take_queued` locks each tenant's audit head
and takes its queued rows (the head first: a pass that waits for another pass's head then takes
only what that one left, in queue order); `consentd_append_integrated` appends each tenant's
chained entries, gives its consent events their feed positions and moves its heads. Both are
SECURITY INVOKER: they set the tenant before each tenant's statements, so row-level security
holds exactly as for the statements they replace (the runtime role's own privileges).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

# The first `p_limit` queued rows are every row up to the last of them: one range of the primary
# key (a `queue_id IN (... LIMIT)` let the planner run the subquery once per row).
TAKE = """
CREATE FUNCTION consentd_take_queued(p_tenants uuid[], p_limit integer, p_genesis bytea)
RETURNS TABLE (
    o_tenant uuid, o_last_seq bigint, o_last_hash bytea, o_pruned_through bigint,
    o_tree_frontier bytea, o_queue_id bigint, o_action text, o_recorded_at timestamptz,
    o_subject_id uuid, o_fact_id uuid, o_payload text
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t uuid;
  h record;
BEGIN
  FOREACH t IN ARRAY p_tenants LOOP
    PERFORM set_config('consentd.tenant_id', t::text, true);
    INSERT INTO audit_heads AS ah (tenant_id, last_seq, last_hash, pruned_through)
    VALUES (t, 0, p_genesis, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET last_seq = ah.last_seq
    RETURNING ah.last_seq, ah.last_hash, ah.pruned_through, ah.tree_frontier INTO h;
    RETURN QUERY SELECT t, h.last_seq, h.last_hash, h.pruned_through, h.tree_frontier,
        NULL::bigint, NULL::text, NULL::timestamptz, NULL::uuid, NULL::uuid, NULL::text;
    RETURN QUERY WITH taken AS (
        DELETE FROM audit_queue q WHERE q.tenant_id = t AND q.queue_id <= (
            SELECT max(x.queue_id) FROM (
                SELECT a.queue_id FROM audit_queue a WHERE a.tenant_id = t
                ORDER BY a.queue_id LIMIT p_limit
            ) AS x
        )
        RETURNING q.queue_id, q.action, q.recorded_at, q.subject_id, q.fact_id, q.payload
    )
    SELECT t, NULL::bigint, NULL::bytea, NULL::bigint, NULL::bytea, k.queue_id, k.action,
        k.recorded_at, k.subject_id, k.fact_id, k.payload::text
    FROM taken k ORDER BY k.queue_id;
  END LOOP;
END
$$
"""

# Tenant i's entries are p_counts[i] consecutive elements of the entry arrays (its consent events
# p_fed_counts[i] of p_fed, in log order); its new head is element i of the head arrays.
APPEND = """
CREATE FUNCTION consentd_append_integrated(
    p_tenants uuid[], p_counts integer[], p_seq bigint[], p_prev bytea[], p_hash bytea[],
    p_at timestamptz[], p_action text[], p_subject uuid[], p_payload text[], p_fact uuid[],
    p_fed_counts integer[], p_fed uuid[], p_last_seq bigint[], p_last_hash bytea[],
    p_frontier bytea[], p_root bytea[]
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
      INSERT INTO consent_changes (tenant_id, position, event_id)
      SELECT t, feed_base + x.ord, x.event_id
      FROM unnest(p_fed[f + 1 : f + m]) WITH ORDINALITY AS x(event_id, ord);
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

FUNCTIONS = {
    "consentd_take_queued(uuid[], integer, bytea)": TAKE,
    "consentd_append_integrated(uuid[], integer[], bigint[], bytea[], bytea[], timestamptz[], "
    "text[], uuid[], text[], uuid[], integer[], uuid[], bigint[], bytea[], bytea[], bytea[])": APPEND,
}


def upgrade() -> None:
    for signature, text in FUNCTIONS.items():
        op.execute(text)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {RUNTIME_ROLE}")


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
