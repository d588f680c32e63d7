"""The audit prune keeps every entry younger than 12 months, not only its checkpoint's.

Why: `consentd_prune_audit` read the age of the checkpoint's own entry, and the service chose
checkpoints by that age alone. Entry times follow the clock of the host that wrote them: a host
whose clock ran ahead (leap day 2028), then was set back and signed a checkpoint, left a
checkpoint dated a year before entries it covers, and the next run pruned those entries,
three months after their time (probe XB, session 40). The cookie choices they logged were still
stored and no longer in the log: `consentd audit verify` failed for a year, and nothing could
repair it. The guard now reads the newest time of every entry it would delete, and the service
only offers checkpoints before the first entry younger than the limit (store/audit.prunable).

Revision ID: 0064
Revises: 0063
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0064"
down_revision: str | None = "0063"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The newest time of the entries through p_through (those still there: the pruned part is gone),
# not the checkpoint's own entry's, must be older than 12 months (unless the tenant's purge is
# due).
PRUNE = """
CREATE OR REPLACE FUNCTION consentd_prune_audit(p_tenant uuid, p_through bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_deleted bigint;
    v_time timestamptz;
BEGIN
    IF p_tenant IS DISTINCT FROM consentd_current_tenant() THEN
        RAISE EXCEPTION 'consentd_prune_audit: not this transaction''s tenant'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM 1 FROM audit_heads WHERE tenant_id = p_tenant FOR UPDATE;
    IF NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE tenant_id = p_tenant AND seq = p_through)
    THEN
        RAISE EXCEPTION 'consentd_prune_audit: no checkpoint at seq %', p_through
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT max(recorded_at) INTO v_time FROM audit_entries
        WHERE tenant_id = p_tenant AND seq <= p_through;
    IF v_time > now() - interval '12 months' AND NOT EXISTS (
        SELECT 1 FROM tenant_retention r WHERE r.tenant_id = p_tenant
            AND NOT r.legal_hold AND r.contract_ended_at + interval '1 month' <= now())
    THEN
        RAISE EXCEPTION 'consentd_prune_audit: an entry through % is younger than 12 months',
            p_through USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('consentd.audit_prune', 'on', true);
    DELETE FROM audit_entries WHERE tenant_id = p_tenant AND seq <= p_through;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    DELETE FROM audit_checkpoints WHERE tenant_id = p_tenant AND seq < p_through;
    PERFORM set_config('consentd.audit_prune', 'off', true);
    UPDATE audit_heads SET pruned_through = greatest(pruned_through, p_through)
        WHERE tenant_id = p_tenant;
    RETURN v_deleted;
END
$$
"""

# 0005's, for the downgrade.
PREVIOUS = """
CREATE OR REPLACE FUNCTION consentd_prune_audit(p_tenant uuid, p_through bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_deleted bigint;
    v_time timestamptz;
BEGIN
    IF p_tenant IS DISTINCT FROM consentd_current_tenant() THEN
        RAISE EXCEPTION 'consentd_prune_audit: not this transaction''s tenant'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM 1 FROM audit_heads WHERE tenant_id = p_tenant FOR UPDATE;
    IF NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE tenant_id = p_tenant AND seq = p_through)
    THEN
        RAISE EXCEPTION 'consentd_prune_audit: no checkpoint at seq %', p_through
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT recorded_at INTO v_time FROM audit_entries WHERE tenant_id = p_tenant AND seq = p_through;
    IF v_time > now() - interval '12 months' AND NOT EXISTS (
        SELECT 1 FROM tenant_retention r WHERE r.tenant_id = p_tenant
            AND NOT r.legal_hold AND r.contract_ended_at + interval '1 month' <= now())
    THEN
        RAISE EXCEPTION 'consentd_prune_audit: entry % is younger than 12 months', p_through
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('consentd.audit_prune', 'on', true);
    DELETE FROM audit_entries WHERE tenant_id = p_tenant AND seq <= p_through;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    DELETE FROM audit_checkpoints WHERE tenant_id = p_tenant AND seq < p_through;
    PERFORM set_config('consentd.audit_prune', 'off', true);
    UPDATE audit_heads SET pruned_through = greatest(pruned_through, p_through)
        WHERE tenant_id = p_tenant;
    RETURN v_deleted;
END
$$
"""


def upgrade() -> None:
    op.execute(PRUNE)


def downgrade() -> None:
    op.execute(PREVIOUS)
