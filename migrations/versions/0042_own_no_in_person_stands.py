"""A person's own refusal or withdrawal of a target, made in person, is lifted by the person only.

Why: a person unsubscribed (the one-click link, the portal: a withdrawal of one target, source
PORTAL), and one second later the CRM's nightly sync (`SOURCE_API`, a key without
`consent:attest`) granted that target again: accepted, and every check said ALLOW (probe CD),
while the same grant after a withdrawal of everything (0037) or an objection is refused.
`consentd_stop_stands(tenant, subject, purpose, channel, scope)` now also says so when the
target's own current fact is a refusal or withdrawal whose source is the person's (portal,
banner, support): the append function (0040's, SQLSTATE CDP05) and the import's statement ask
it, so a system's grant over it is refused, and an import row dropped, until the person grants
that target themselves. A system's own "no" (`SOURCE_API`, `SOURCE_IMPORT`) a system may
still lift. The service checks the same first (app/standing.py standing_no).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

STOP_SIGNATURE = "consentd_stop_stands(uuid, uuid, text, text, text)"

# Whether a "no" only the person lifts stands for a target of a subject's: a withdrawal of
# everything (of every channel or of the target's) with no grant of that target after it (0037),
# or the target's own refusal or withdrawal made in person.
STOP = """
CREATE OR REPLACE FUNCTION consentd_stop_stands(
    p_tenant uuid, p_subject uuid, p_purpose text, p_channel text, p_scope text
) RETURNS boolean
LANGUAGE sql STABLE AS $$
SELECT EXISTS (
    SELECT 1 FROM current_consents a
    WHERE a.tenant_id = p_tenant AND a.subject_id = p_subject AND a.purpose_id = '*'
      AND a.channel IN ('*', p_channel) AND NOT EXISTS (
        SELECT 1 FROM current_consents g
        WHERE g.tenant_id = p_tenant AND g.subject_id = p_subject AND g.state = 'granted'
          AND (g.purpose_id, g.channel, g.scope) = (p_purpose, p_channel, p_scope)
          AND g.sequence > a.sequence))
OR EXISTS (
    SELECT 1 FROM current_consents c
    JOIN consent_events e ON e.tenant_id = c.tenant_id AND e.event_id = c.event_id
    WHERE c.tenant_id = p_tenant AND c.subject_id = p_subject
      AND (c.purpose_id, c.channel, c.scope) = (p_purpose, p_channel, p_scope)
      AND c.state IN ('refused', 'withdrawn')
      AND e.source IN ('portal', 'banner', 'support'))
$$
"""

# 0037's, for the downgrade.
PREVIOUS = """
CREATE OR REPLACE FUNCTION consentd_stop_stands(
    p_tenant uuid, p_subject uuid, p_purpose text, p_channel text, p_scope text
) RETURNS boolean
LANGUAGE sql STABLE AS $$
SELECT EXISTS (
    SELECT 1 FROM current_consents a
    WHERE a.tenant_id = p_tenant AND a.subject_id = p_subject AND a.purpose_id = '*'
      AND a.channel IN ('*', p_channel) AND NOT EXISTS (
        SELECT 1 FROM current_consents g
        WHERE g.tenant_id = p_tenant AND g.subject_id = p_subject AND g.state = 'granted'
          AND (g.purpose_id, g.channel, g.scope) = (p_purpose, p_channel, p_scope)
          AND g.sequence > a.sequence))
$$
"""


def _create(text: str) -> None:
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {STOP_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {STOP_SIGNATURE} TO {RUNTIME_ROLE}")


def upgrade() -> None:
    _create(STOP)


def downgrade() -> None:
    _create(PREVIOUS)
