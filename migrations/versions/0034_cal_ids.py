"""Client Access License ids as identifiers.

Why: the brief names a subject by "a tenant-scoped external id and/or contact points (email,
E.164 phone, CAL id)" and says a CAL id (one licence per user seat) is personal data, but the
API took only external ids, emails and phones: a seat's licence could only be passed off as an
external id, in the tenant's own namespace of ids. A CAL id is now its own kind (`cal_id`), kept
like every identifier (a keyed digest, the value sealed under the person's key, a suppression
entry after an erasure, a holding when it moves to another seat holder).

The four tables that keep an identifier's kind accept `cal_id`. No function changes: they carry
the kind as text. A downgrade refuses while any `cal_id` row exists (dropping them would forget
who refused and who was erased).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("subject_identifiers", "suppressions", "contact_changes", "contact_point_holdings")
KINDS = "('external_id','email','phone','cal_id')"
KINDS_BEFORE = "('external_id','email','phone')"


def _constrain(kinds: str) -> None:
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_kind,"
            f" ADD CONSTRAINT ck_{table}_kind CHECK (kind IN {kinds})"
        )


def upgrade() -> None:
    _constrain(KINDS)


def downgrade() -> None:
    held = " UNION ALL ".join(
        f"SELECT 1 FROM {table} WHERE kind = 'cal_id'"  # noqa: S608 - this module's table names
        for table in TABLES
    )
    op.execute(
        f"""DO $$ BEGIN
  IF EXISTS ({held}) THEN
    RAISE EXCEPTION 'CAL ids are on record: revision 0033 cannot hold them'
      USING HINT = 'keep revision 0034: its rows (suppressions included) name people';
  END IF;
END $$"""
    )
    _constrain(KINDS_BEFORE)
