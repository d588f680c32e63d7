"""The catalogue against the log, for `audit verify` (store/audit_facts.py): a purpose's row is
what its latest `catalog.purpose_put` entry says, a notice version's row what its
`catalog.notice_published` entry says and its text the digest it names, and an entry has its
row (probe GA: a purpose's lawful basis set to legitimate interest by the database owner turned
every never-asked person's DENY into ALLOW, a notice's text rewritten, a purpose deleted: verify
said ok). Fields an older entry did not log are not compared. Purposes and notices are never
deleted, and retention carries the latest entry of each (store/audit_carry.py)."""

from __future__ import annotations

from consentd.store.audit_carry import AS_LOGGED

_PURPOSE_FIELDS = {
    "lawful_basis": "p.lawful_basis",
    "notice_id": "p.notice_id",
    "max_validity_days": "p.max_validity_days::text",
    "requires_confirmation": "p.requires_confirmation::text",
    "display_name": "p.display_name",
    "description": "p.description",
}
_NOTICE_FIELDS = {
    "content_sha256": "n.content_sha256",
    "requires_reconsent": "n.requires_reconsent::text",
    "title": "n.title",
    "language": "n.language",
}


def _differs(fields: dict[str, str]) -> str:
    """An entry that logged a field says what the row holds."""
    return " OR ".join(
        f"(l.payload ? '{name}' AND l.payload->>'{name}' IS DISTINCT FROM {column})"
        for name, column in fields.items()
    )


PURPOSES = f"""
WITH {AS_LOGGED}, latest AS (
    SELECT DISTINCT ON (a.payload->>'purpose') a.payload->>'purpose' AS purpose_id, a.seq,
        a.payload
    FROM as_logged a WHERE a.action = 'catalog.purpose_put'
    ORDER BY a.payload->>'purpose', a.seq DESC
)
SELECT 'purposes' AS fact_table, NULL::uuid AS fact_id, l.seq,
    'purpose ' || coalesce(p.purpose_id, l.purpose_id) || CASE
        WHEN l.seq IS NULL THEN ' is not in the log'
        WHEN p.purpose_id IS NULL THEN ': its log entry has no purpose (deleted?)'
        ELSE ' differs from its latest log entry' END AS problem
FROM (SELECT * FROM purposes WHERE tenant_id = $1) p
FULL JOIN latest l ON l.purpose_id = p.purpose_id
WHERE NOT EXISTS (
    SELECT 1 FROM audit_queue q WHERE q.tenant_id = $1 AND q.action = 'catalog.purpose_put'
    AND q.payload->>'purpose' = coalesce(p.purpose_id, l.purpose_id)
)
-- Every row has its entry, retention carries the latest (a row's own dates are no excuse: one
-- inserted by hand and dated before the log began escaped; probe GJ).
AND (l.seq IS NULL OR p.purpose_id IS NULL OR {_differs(_PURPOSE_FIELDS)})
"""  # noqa: S608 - only this module's constants are interpolated, no input

NOTICES = f"""
WITH {AS_LOGGED}, logged AS (
    SELECT a.payload->>'notice_id' AS notice_id, (a.payload->>'version')::int AS version,
        a.seq, a.payload
    FROM as_logged a WHERE a.action = 'catalog.notice_published'
)
SELECT 'notices' AS fact_table, NULL::uuid AS fact_id, l.seq,
    'notice ' || coalesce(n.notice_id, l.notice_id) || ' version '
    || coalesce(n.version, l.version) || CASE
        WHEN l.seq IS NULL THEN ' is not in the log'
        WHEN n.notice_id IS NULL THEN ': its log entry has no notice (deleted?)'
        WHEN n.content_sha256 <> encode(sha256(convert_to(n.content, 'UTF8')), 'hex')
        THEN ': its text is not the one its digest names (edited?)'
        ELSE ' differs from its log entry' END AS problem
FROM (SELECT * FROM notices WHERE tenant_id = $1) n
FULL JOIN logged l ON (l.notice_id, l.version) = (n.notice_id, n.version)
WHERE NOT EXISTS (
    SELECT 1 FROM audit_queue q WHERE q.tenant_id = $1 AND q.action = 'catalog.notice_published'
    AND q.payload->>'notice_id' = coalesce(n.notice_id, l.notice_id)
) AND (l.seq IS NULL OR n.notice_id IS NULL
    OR n.content_sha256 <> encode(sha256(convert_to(n.content, 'UTF8')), 'hex')
    OR {_differs(_NOTICE_FIELDS)})
"""  # noqa: S608 - only this module's constants are interpolated, no input
