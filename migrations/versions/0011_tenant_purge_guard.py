"""Every unit of work of a tenant checks, in its own transaction, that the tenant is not purged.

Why: the retention job purged a tenant, yet for a few seconds (the credential cache) its admin
key still wrote a purpose and a consent, which survived. Now the job first marks the tenant
(`tenant_retention.purged_at`) under an exclusive transaction lock of the tenant, and every unit
of work takes the same lock shared, then reads the mark with a snapshot taken after the lock:
a transaction that began before the mark finishes before it is set, one that begins after sees
it and is refused (SQLSTATE CDP01). No cache stands between them.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD = """
CREATE FUNCTION consentd_tenant_writable(t uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  purged timestamptz;
BEGIN
  -- Row-level security is forced (for the owner too): the transaction's tenant must be set,
  -- and be this one (the unit of work sets it in the same statement, before this call).
  IF t IS DISTINCT FROM nullif(current_setting('consentd.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'consentd_tenant_writable: not the transaction''s tenant'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- Shared: units of work never wait for each other, only for the purge's mark.
  PERFORM pg_advisory_xact_lock_shared(hashtextextended('consentd.tenant.' || t::text, 0));
  -- A VOLATILE function's statement takes its snapshot now, after the lock.
  SELECT r.purged_at INTO purged FROM tenant_retention r WHERE r.tenant_id = t;
  IF purged IS NOT NULL THEN
    RAISE EXCEPTION 'tenant % was purged at %', t, purged USING ERRCODE = 'CDP01';
  END IF;
  RETURN true;
END
$$
"""

MARK = """
CREATE FUNCTION consentd_mark_tenant_purged(t uuid, at timestamptz) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF t IS DISTINCT FROM nullif(current_setting('consentd.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'consentd_mark_tenant_purged: not the transaction''s tenant'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- Exclusive: waits until every unit of work of the tenant in flight has ended.
  PERFORM pg_advisory_xact_lock(hashtextextended('consentd.tenant.' || t::text, 0));
  UPDATE tenant_retention SET purged_at = at WHERE tenant_id = t AND purged_at IS NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(GUARD)
    op.execute(MARK)
    for function in (
        "consentd_tenant_writable(uuid)",
        "consentd_mark_tenant_purged(uuid, timestamptz)",
    ):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO consentd_app")


def downgrade() -> None:
    op.execute("DROP FUNCTION consentd_mark_tenant_purged(uuid, timestamptz)")
    op.execute("DROP FUNCTION consentd_tenant_writable(uuid)")
