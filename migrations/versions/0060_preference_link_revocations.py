"""Preference links revoked, per person: the links of one person made before a time refused.

Why: a link (app/preference_links.py) is a signed token acting for one person until it expires
(7 days by default, 30 at most); one forwarded, or read by a mail gateway that keeps the
addresses clicked, could not be ended except by the person's erasure or a new service secret,
which ends every link of every tenant. `consentd preference-link acme --email X --revoke`
refuses that person's links made until then (a link made after works).

A row names whose links it refuses: `subject:<subject id>`, every link of one person's, whatever
identifier it names them by (a campaign makes them per e-mail, phone or external id); or
`link:<keyed digest>`, the caller name links give in logs and audit entries, for the links
naming one identifier, never the identifier itself (one nobody holds any more, after a
rectification); and when they were last revoked.
Isolation as every tenant table (0002): ENABLE + FORCE ROW LEVEL SECURITY, `tenant_isolation`,
`owner_read` as 0056. The runtime role reads the rows (a link's look-up); the owner writes them
(the command runs with the owner's URL, as the other administration).

Revision ID: 0060
Revises: 0059
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0060"
down_revision: str | None = "0059"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
CURRENT_TENANT = "consentd_current_tenant()"
TABLE = "preference_link_revocations"

CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    tenant_id uuid NOT NULL,
    caller text NOT NULL,
    revoked_at timestamptz NOT NULL,
    CONSTRAINT pk_preference_link_revocations PRIMARY KEY (tenant_id, caller),
    CONSTRAINT fk_preference_link_revocations_tenant_id_tenants FOREIGN KEY (tenant_id)
        REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    CONSTRAINT ck_preference_link_revocations_caller
        CHECK (caller ~ '^(link:[0-9a-f]{{16}}|subject:[0-9a-f-]{{36}})$')
)
"""


def upgrade() -> None:
    # Each statement can run again over its own result (tests/integration/test_migrations.py).
    op.execute(CREATE)
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {TABLE}")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"DROP POLICY IF EXISTS owner_read ON {TABLE}")
    op.execute(f"CREATE POLICY owner_read ON {TABLE} FOR SELECT TO CURRENT_USER USING (true)")
    op.execute(f"GRANT SELECT ON {TABLE} TO {RUNTIME_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {TABLE}")
