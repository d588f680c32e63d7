"""An ask put to the person (a pending double opt-in grant) is not their word: only their
confirmation is.

Why: 0043 counted a pending event as the person's word on its target, whatever its source, and
a withdrawal of everything as lifted by a pending ask after it. A CRM's double opt-in grant
(SOURCE_API) after the person's own "no" or STOP wrote a pending ask the person never
answered, and from then on the "no" stood no more: the CRM's next import row, or its next
grant once the purpose no longer required confirmation, read ALLOW on every path (probe CF).
`consentd_stop_stands` reads the person's latest word without pending asks, and a withdrawal
of everything as lifted by a grant only (0037's rule). The confirmation itself is the person's
word: it is recorded with source PORTAL (app/confirmations.py), so the append's check of a
system's grant never stops it.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0045"
down_revision: str | None = "0044"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

STOP_SIGNATURE = "consentd_stop_stands(uuid, uuid, text, text, text)"

# Whether a "no" only the person lifts stands for a target of a subject's: a withdrawal of
# everything (of every channel or of the target's) with no grant of that target after it, or
# the person's latest word on the target (never a system's ask) is a refusal or withdrawal.
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
OR coalesce((
    SELECT e.state IN ('refused', 'withdrawn') FROM consent_events e
    WHERE e.tenant_id = p_tenant AND e.subject_id = p_subject
      AND (e.purpose_id, e.channel, e.scope) = (p_purpose, p_channel, p_scope)
      AND ((e.state = 'granted' AND e.attested IS TRUE)
        OR (e.source IN ('portal', 'banner', 'support')
          AND (e.state IN ('refused', 'withdrawn')
            OR (e.state = 'granted' AND e.attested IS NOT FALSE))))
    ORDER BY e.sequence DESC LIMIT 1), false)
$$
"""

# 0043's, for the downgrade.
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
        WHERE g.tenant_id = p_tenant AND g.subject_id = p_subject
          AND g.state IN ('granted', 'pending')
          AND (g.purpose_id, g.channel, g.scope) = (p_purpose, p_channel, p_scope)
          AND g.sequence > a.sequence))
OR coalesce((
    SELECT e.state IN ('refused', 'withdrawn') FROM consent_events e
    WHERE e.tenant_id = p_tenant AND e.subject_id = p_subject
      AND (e.purpose_id, e.channel, e.scope) = (p_purpose, p_channel, p_scope)
      AND (e.state = 'pending' OR (e.state = 'granted' AND e.attested IS TRUE)
        OR (e.source IN ('portal', 'banner', 'support')
          AND (e.state IN ('refused', 'withdrawn')
            OR (e.state = 'granted' AND e.attested IS NOT FALSE))))
    ORDER BY e.sequence DESC LIMIT 1), false)
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
