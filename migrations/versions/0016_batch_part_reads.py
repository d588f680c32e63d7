"""A part of a write batch enters its tenant and reads what it needs in one round trip.

Why: group commit across tenants (app/grouped_writes.py) writes each tenant's part of a batch
in turn, in one transaction; with writes spread over 50 tenants a part is one or two calls, and
its round trips one after another (set the tenant, read the purposes, look the identifiers'
owners up, create, append) were the batch's time. `consentd_batch_part` sets the tenant, passes
the purge guard (0011's consentd_tenant_writable, as every unit of work does), then answers the
purposes asked for and the owners of the identifiers given, with their data keys. SECURITY
INVOKER: the reads run as the runtime role under row-level security, after the tenant is set.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "consentd_batch_part(uuid, text[], text[], bytea[])"

BATCH_PART = """
CREATE FUNCTION consentd_batch_part(
    p_tenant uuid, p_purposes text[], p_kinds text[], p_digests bytea[]
)
RETURNS TABLE (o_purpose purposes, o_kind text, o_digest bytea, o_subject uuid, o_key bytea)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('consentd.tenant_id', p_tenant::text, true);
  PERFORM consentd_tenant_writable(p_tenant);
  RETURN QUERY SELECT p, NULL::text, NULL::bytea, NULL::uuid, NULL::bytea
    FROM purposes p WHERE p.tenant_id = p_tenant AND p.purpose_id = ANY(p_purposes);
  RETURN QUERY SELECT NULL::purposes, i.kind, i.digest, i.subject_id, k.wrapped_key
    FROM subject_identifiers i
    LEFT JOIN subject_keys k ON k.tenant_id = i.tenant_id AND k.subject_id = i.subject_id
    WHERE i.tenant_id = p_tenant
      AND (i.kind, i.digest) IN (SELECT * FROM unnest(p_kinds, p_digests));
END
$$
"""


def upgrade() -> None:
    op.execute(BATCH_PART)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO consentd_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
