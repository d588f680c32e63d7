"""API keys may hold `rights:support`: a support desk's rights work without admin.

Why: a contact centre taking "never contact me again" or "delete my data" by phone needed an
admin key to file the request or record the objection, a key that also erases anyone, rewrites
the catalogue and lifts legal holds (probe GG). `rights:support` files a person's request,
checks their identity, records their objection or restriction and reads the requests; deciding,
erasing and exporting stay admin's (service/consentd/api/authorization.py).

The downgrade refuses while a key that is not revoked holds the scope (dropping it would change
what keys may do without their owners knowing).

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0053"
down_revision: str | None = "0052"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KNOWN = "ck_api_keys_known_scopes"
_WITH = (
    "scopes <@ ARRAY['consent:check', 'consent:write', 'cookies:write', 'subject:self', "
    "'admin', 'consent:attest', 'rights:support']::text[]"
)
_WITHOUT = (
    "scopes <@ ARRAY['consent:check', 'consent:write', 'cookies:write', 'subject:self', "
    "'admin', 'consent:attest']::text[]"
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
                       AND 'rights:support' = ANY (scopes)) THEN
              RAISE EXCEPTION 'a key of tenant % holds rights:support: revoke it first', t;
            END IF;
            -- a revoked key never serves again: the scope goes (the row keeps one scope)
            UPDATE api_keys SET scopes = CASE cardinality(array_remove(scopes, 'rights:support'))
                WHEN 0 THEN ARRAY['consent:check'] ELSE array_remove(scopes, 'rights:support') END
            WHERE tenant_id = t AND 'rights:support' = ANY (scopes);
          END LOOP;
          PERFORM set_config('consentd.tenant_id', '', true);
        END
        $$
        """
    )
    op.execute(f"ALTER TABLE api_keys DROP CONSTRAINT {_KNOWN}")
    op.execute(f"ALTER TABLE api_keys ADD CONSTRAINT {_KNOWN} CHECK ({_WITHOUT})")
