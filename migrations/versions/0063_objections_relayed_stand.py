"""A "no" to a legitimate-interest purpose is an objection, whoever relays it: only the person
lifts it.

Why: for a legitimate-interest purpose a refusal or withdrawal reads `objected` in checks (GDPR
art. 21), and a CRM relaying the person's objection (they told a sales rep "stop") records one
with source `api`. The same CRM's next nightly sync sending `granted` for every purpose lifted
it: the check answered ALLOW again (probe RD, session 38). For consent purposes a system's own
"no" then "yes" stays the system's to correct; for a legitimate-interest purpose the "no" is
the person's objection (art. 21(3): no more processing for direct marketing), so
`consentd_stop_stands` now also stands when the target's purpose rests on legitimate interest
and its current fact is a refusal or withdrawal, from any source. The append function (a
system's grant: CDP05, STOP_IN_FORCE) and the import (the row is not applied) read it; the
service says the same first (app/standing.standing_no). The person lifts it by granting in
person (portal, banner, support, or an attested grant).

Revision ID: 0063
Revises: 0062
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0063"
down_revision: str | None = "0062"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

STOP_SIGNATURE = "consentd_stop_stands(uuid, uuid, text, text, text)"

# Whether a "no" only the person lifts stands for a target of a subject's: a withdrawal of
# everything with no grant of the person's of that target after it, the person's latest word on
# the target is a refusal or withdrawal, or (new) the target's purpose rests on legitimate
# interest and its current fact is a refusal or withdrawal, whatever its source.
STOP = """
CREATE OR REPLACE FUNCTION consentd_stop_stands(
    p_tenant uuid, p_subject uuid, p_purpose text, p_channel text, p_scope text
) RETURNS boolean
LANGUAGE sql STABLE AS $$
SELECT EXISTS (
    SELECT 1 FROM current_consents a
    WHERE a.tenant_id = p_tenant AND a.subject_id = p_subject AND a.purpose_id = '*'
      AND a.channel IN ('*', p_channel) AND NOT EXISTS (
        SELECT 1 FROM consent_events g
        WHERE g.tenant_id = p_tenant AND g.subject_id = p_subject AND g.state = 'granted'
          AND (g.purpose_id, g.channel, g.scope) = (p_purpose, p_channel, p_scope)
          AND g.sequence > a.sequence
          AND (g.attested IS TRUE OR (g.source IN ('portal', 'banner', 'support')
            AND g.attested IS NOT FALSE))))
OR coalesce((
    SELECT e.state IN ('refused', 'withdrawn') FROM consent_events e
    WHERE e.tenant_id = p_tenant AND e.subject_id = p_subject
      AND (e.purpose_id, e.channel, e.scope) = (p_purpose, p_channel, p_scope)
      AND ((e.state = 'granted' AND e.attested IS TRUE)
        OR (e.source IN ('portal', 'banner', 'support')
          AND (e.state IN ('refused', 'withdrawn')
            OR (e.state = 'granted' AND e.attested IS NOT FALSE))))
    ORDER BY e.sequence DESC LIMIT 1), false)
OR EXISTS (
    SELECT 1 FROM current_consents c
    JOIN purposes p ON p.tenant_id = c.tenant_id AND p.purpose_id = c.purpose_id
    WHERE c.tenant_id = p_tenant AND c.subject_id = p_subject
      AND (c.purpose_id, c.channel, c.scope) = (p_purpose, p_channel, p_scope)
      AND c.state IN ('refused', 'withdrawn') AND p.lawful_basis = 'legitimate_interest')
$$
"""

# 0046's, for the downgrade.
PREVIOUS = """
CREATE OR REPLACE FUNCTION consentd_stop_stands(
    p_tenant uuid, p_subject uuid, p_purpose text, p_channel text, p_scope text
) RETURNS boolean
LANGUAGE sql STABLE AS $$
SELECT EXISTS (
    SELECT 1 FROM current_consents a
    WHERE a.tenant_id = p_tenant AND a.subject_id = p_subject AND a.purpose_id = '*'
      AND a.channel IN ('*', p_channel) AND NOT EXISTS (
        SELECT 1 FROM consent_events g
        WHERE g.tenant_id = p_tenant AND g.subject_id = p_subject AND g.state = 'granted'
          AND (g.purpose_id, g.channel, g.scope) = (p_purpose, p_channel, p_scope)
          AND g.sequence > a.sequence
          AND (g.attested IS TRUE OR (g.source IN ('portal', 'banner', 'support')
            AND g.attested IS NOT FALSE))))
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


def _create(text: str) -> None:
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {STOP_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {STOP_SIGNATURE} TO {RUNTIME_ROLE}")


def upgrade() -> None:
    _create(STOP)


def downgrade() -> None:
    _create(PREVIOUS)
