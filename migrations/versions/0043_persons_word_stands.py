"""The person's "no" to a target stands until their own next word on it, whatever a system
writes in between; an ask put to them (double opt-in) lets their confirmation through.

Why: 0042 read the target's current fact only. A CRM that mirrors an unsubscribe (its own
`WithdrawConsent` or `RecordConsent` REFUSED, SOURCE_API) replaced the person's portal "no" as
the current fact, and its next grant was accepted: ALLOW (probe CE, the API and `consentd import`
alike). `consentd_stop_stands` now reads the person's latest word on the target among its
events (domain/decision.persons_word): a refusal or withdrawal in person (portal, banner,
support), a grant in person not unattested, a grant the person confirmed (attested), or a
pending ask (only their confirmation makes it a grant); it stands when that word is a "no".
And a withdrawal of everything (0037) no longer stands over a pending ask of the target after
it: the person's confirmation of it is theirs (probe CE: a double opt-in sign-up could not
re-subscribe anyone who had unsubscribed, and its confirmation would have been refused).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

STOP_SIGNATURE = "consentd_stop_stands(uuid, uuid, text, text, text)"

# Whether a "no" only the person lifts stands for a target of a subject's: a withdrawal of
# everything (of every channel or of the target's) with no grant nor ask of that target after
# it, or the person's latest word on the target is a refusal or withdrawal.
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

# 0042's, for the downgrade.
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
OR EXISTS (
    SELECT 1 FROM current_consents c
    JOIN consent_events e ON e.tenant_id = c.tenant_id AND e.event_id = c.event_id
    WHERE c.tenant_id = p_tenant AND c.subject_id = p_subject
      AND (c.purpose_id, c.channel, c.scope) = (p_purpose, p_channel, p_scope)
      AND c.state IN ('refused', 'withdrawn')
      AND e.source IN ('portal', 'banner', 'support'))
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
