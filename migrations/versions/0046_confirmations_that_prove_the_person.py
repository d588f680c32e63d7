"""A double opt-in confirmation says whether its address was the person's; a withdrawal of
everything is lifted by the person's grant on record, whatever a system wrote after it.

Why: a record from a system naming a person (by external id) with a new address asks there
(0044); whoever read that mailbox confirmed, and the confirmation counted as the person's own
word: their in-person "no" read ALLOW (probe CG: a CRM named a mailbox it read; probe CF: a
mistyped address). `consent_confirmations.address_proven`: whether the address was the
person's before the ask (held by them, the record made them from it, or the record was theirs
in person; NULL before this revision, read as proven). A confirmation at an unproven address
is recorded as the ask's source, unattested: a system's grant, refused over the person's "no".
And a withdrawal of everything (a STOP) the person lifted for a target by granting it in
person read as standing again once a system's "no" replaced that grant as the current fact
(probe CG: bounce handling, then the CRM's grant, refused for good): `consentd_stop_stands`
looks for the person's grant after it among the events, not the current facts.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0046"
down_revision: str | None = "0045"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

STOP_SIGNATURE = "consentd_stop_stands(uuid, uuid, text, text, text)"

# Whether a "no" only the person lifts stands for a target of a subject's: a withdrawal of
# everything (of every channel or of the target's) with no grant of the person's of that target
# after it, or the person's latest word on the target is a refusal or withdrawal.
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
$$
"""

# 0045's, for the downgrade.
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
    op.execute("ALTER TABLE consent_confirmations ADD COLUMN IF NOT EXISTS address_proven boolean")
    _create(STOP)


def downgrade() -> None:
    _create(PREVIOUS)
    op.execute("ALTER TABLE consent_confirmations DROP COLUMN IF EXISTS address_proven")
