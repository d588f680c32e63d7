"""API keys may hold `consent:attest`: their grants in person are the person's.

Why: any `consent:write` key could say SOURCE_PORTAL, and a CRM sync's key saying so lifted a
person's objection, or took back an address erased at their request, for every check after it
(probe X). Only a caller that speaks for the person may now do that: a key with consent:attest
(a portal backend, a support desk that identified the caller) or admin (app/standing.py).

The downgrade refuses while a key that is not revoked holds the scope (dropping it would change
what keys may do without their owners knowing).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KNOWN = "ck_api_keys_known_scopes"
_WITH = (
    "scopes <@ ARRAY['consent:check', 'consent:write', 'cookies:write', 'subject:self', "
    "'admin', 'consent:attest']::text[]"
)
_WITHOUT = (
    "scopes <@ ARRAY['consent:check', 'consent:write', 'cookies:write', 'subject:self', "
    "'admin']::text[]"
)


def upgrade() -> None:
    op.execute(f"ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS {_KNOWN}")
    op.execute(f"ALTER TABLE api_keys ADD CONSTRAINT {_KNOWN} CHECK ({_WITH})")


def downgrade() -> None:
    # Under forced row-level security the owner sees a tenant's keys with its tenant set only.
    op.execute(
        """
        DO $$
        DECLARE t uuid;
        BEGIN
          FOR t IN SELECT tenant_id FROM tenants LOOP
            PERFORM set_config('consentd.tenant_id', t::text, true);
            IF EXISTS (SELECT 1 FROM api_keys WHERE tenant_id = t AND revoked_at IS NULL
                       AND 'consent:attest' = ANY (scopes)) THEN
              RAISE EXCEPTION 'a key of tenant % holds consent:attest: revoke it first', t;
            END IF;
            -- a revoked key never serves again: the scope goes (the row keeps one scope)
            UPDATE api_keys SET scopes = CASE cardinality(array_remove(scopes, 'consent:attest'))
                WHEN 0 THEN ARRAY['consent:check'] ELSE array_remove(scopes, 'consent:attest') END
            WHERE tenant_id = t AND 'consent:attest' = ANY (scopes);
          END LOOP;
          PERFORM set_config('consentd.tenant_id', '', true);
        END
        $$
        """
    )
    op.execute(f"ALTER TABLE api_keys DROP CONSTRAINT {_KNOWN}")
    op.execute(f"ALTER TABLE api_keys ADD CONSTRAINT {_KNOWN} CHECK ({_WITHOUT})")
