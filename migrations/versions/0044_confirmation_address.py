"""A double opt-in confirmation keeps the keyed digest of the address it went to.

Why: a confirmed grant proves the mailbox its link went to. A person confirmed at one address
and given another by a record without a double opt-in purpose (or any record naming both),
then sent the grant again by a CRM naming the new address, was not asked again: the new
address read ALLOW though no mail ever went to it (probe CE; 60ba675 asked again only for an
address nobody held before the call). `consent_confirmations.address_digest` (the identifier's
keyed digest, as `subject_identifiers` holds it; NULL for a confirmation sent before) lets a
record naming an address no confirmation of the person's went to be asked again
(app/confirmation_rules.py).

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0044"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE consent_confirmations ADD COLUMN IF NOT EXISTS address_digest bytea")


def downgrade() -> None:
    op.execute("ALTER TABLE consent_confirmations DROP COLUMN IF EXISTS address_digest")
