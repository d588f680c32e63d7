"""The batch part's owners look-up (0016's consentd_batch_part) probes the identifiers' primary
key once for each digest given, with one plan per connection.

Why: PL/pgSQL plans a function's statement once per connection, then at each call compares the
generic plan's estimated cost with the custom plans it made. The look-up joined the tenant's
identifiers with `unnest` of the digests: its generic plan (statistics of many small tenants, 10
digests assumed) read every identifier of the tenant and hashed them, so the plan cache kept
planning it again at every call: 0.23 ms of PostgreSQL's CPU for 0.03 ms of execution
(pg_stat_statements with track_planning, writes spread over 50 tenants: 3.1 s of planning for
0.4 s of execution), for every tenant of every write batch. Forcing that generic plan would
have read a large tenant's million identifiers at every write. Each digest now looks its
identifier up in a LATERAL subquery with LIMIT 1 (the primary key gives one row at most; the
LIMIT keeps the planner from turning the probes into a join), a plan that stays index probes
whatever the statistics, so the function keeps its generic plan (plan_cache_mode) and plans
once per connection. tests/integration/test_batch_part_plan.py reads the plan.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEAD = """
CREATE OR REPLACE FUNCTION consentd_batch_part(
    p_tenant uuid, p_purposes text[], p_kinds text[], p_digests bytea[]
)
RETURNS TABLE (o_purpose purposes, o_kind text, o_digest bytea, o_subject uuid, o_key bytea)
LANGUAGE plpgsql VOLATILE {setting}AS $$
BEGIN
  PERFORM set_config('consentd.tenant_id', p_tenant::text, true);
  PERFORM consentd_tenant_writable(p_tenant);
  RETURN QUERY SELECT p, NULL::text, NULL::bytea, NULL::uuid, NULL::bytea
    FROM purposes p WHERE p.tenant_id = p_tenant AND p.purpose_id = ANY(p_purposes);
"""
PROBES = """  RETURN QUERY SELECT NULL::purposes, o.kind, o.digest, o.subject_id, o.wrapped_key
    FROM (SELECT DISTINCT * FROM unnest(p_kinds, p_digests)) AS g(kind, digest)
    CROSS JOIN LATERAL (
        SELECT i.kind, i.digest, i.subject_id, k.wrapped_key
        FROM subject_identifiers i
        LEFT JOIN subject_keys k ON k.tenant_id = i.tenant_id AND k.subject_id = i.subject_id
        WHERE i.tenant_id = p_tenant AND i.kind = g.kind AND i.digest = g.digest
        LIMIT 1
    ) AS o;
END
$$
"""
# 0016's look-up, for the downgrade.
JOINED = """  RETURN QUERY SELECT NULL::purposes, i.kind, i.digest, i.subject_id, k.wrapped_key
    FROM subject_identifiers i
    LEFT JOIN subject_keys k ON k.tenant_id = i.tenant_id AND k.subject_id = i.subject_id
    WHERE i.tenant_id = p_tenant
      AND (i.kind, i.digest) IN (SELECT * FROM unnest(p_kinds, p_digests));
END
$$
"""
SIGNATURE = "consentd_batch_part(uuid, text[], text[], bytea[])"


def upgrade() -> None:
    # CREATE OR REPLACE keeps the function's owner and grants (EXECUTE for consentd_app only).
    op.execute(HEAD.format(setting="SET plan_cache_mode = force_generic_plan ") + PROBES)


def downgrade() -> None:
    op.execute(HEAD.format(setting="") + JOINED)
    op.execute(f"ALTER FUNCTION {SIGNATURE} RESET plan_cache_mode")
