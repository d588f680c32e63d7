"""When the person was told of a rights request's extension or refusal.

Why: the policy allows an extension only if the person is told within the first month, and why
(GDPR art. 12(3)); consentd mails the reason, but nothing recorded whether it reached anyone: with
no relay, or no e-mail address on record, an extension stood untold and the operator could not
tell from the request (probe AL). `rights_requests.person_told_at`: when consentd's notifier
handed the latest decision (extension or refusal) to the relay; NULL when it has not (nothing to
send to, no relay, a failure), so the operator tells the person another way.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE rights_requests ADD COLUMN IF NOT EXISTS person_told_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE rights_requests DROP COLUMN IF EXISTS person_told_at")
