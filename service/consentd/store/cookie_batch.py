"""A batch of cookie choices written in one round trip (app/grouped_cookies.py).

One statement of data-modifying CTEs: the choices' visitors created or their last_seen_at moved
(in visitor-id order, so two batches never wait on each other crosswise), the choices stored
linked to the subject each visitor is linked to (in the order given, so their sequences follow
it), and their log entries queued, each its whole row as consentd_cookie_choice_payload (0009)
renders it, as the one-call path queues them at commit (store/audit.py). It was three round
trips (visitors, choices through SQLAlchemy's multi-row VALUES, queue); the foreign key from a
choice to its visitor is checked at the end of the statement, after the visitors' CTE.

The choices travel as one JSON array: their array columns (categories, TCF purposes) differ in
length from row to row, which parallel arrays through `unnest` cannot carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson

from consentd.domain.cookies import CookieChoice

RECORD_MANY = """
WITH given AS (
    SELECT * FROM jsonb_to_recordset($2::jsonb) AS g(
        n integer, choice_id uuid, visitor_id text, method text, granted text[],
        refused text[], policy_revision integer, gpc boolean, recorded_at timestamptz,
        expires_at timestamptz, page_url text, ip_digest text, ua_digest text,
        tcf_string text, tcf_cmp_id integer, tcf_cmp_version integer,
        tcf_created timestamptz, tcf_last_updated timestamptz, tcf_consent_screen integer,
        tcf_consent_language text, tcf_vendor_list_version integer,
        tcf_policy_version integer, tcf_purposes_consent integer[],
        tcf_purposes_legitimate_interest integer[])
), touched AS (
    INSERT INTO cookie_visitors AS v (tenant_id, visitor_id, first_seen_at, last_seen_at)
    SELECT $1, id, $3, $3 FROM (SELECT DISTINCT visitor_id AS id FROM given) AS ids ORDER BY id
    ON CONFLICT (tenant_id, visitor_id) DO UPDATE
        SET last_seen_at = greatest(v.last_seen_at, excluded.last_seen_at)
    RETURNING visitor_id, subject_id
), stored AS (
    INSERT INTO cookie_choices AS c (
        tenant_id, choice_id, visitor_id, subject_id, method, granted, refused,
        policy_revision, gpc, recorded_at, expires_at, page_url, ip_digest, ua_digest,
        tcf_string, tcf_cmp_id, tcf_cmp_version, tcf_created, tcf_last_updated,
        tcf_consent_screen, tcf_consent_language, tcf_vendor_list_version,
        tcf_policy_version, tcf_purposes_consent, tcf_purposes_legitimate_interest)
    SELECT $1, g.choice_id, g.visitor_id, t.subject_id, g.method, g.granted, g.refused,
        g.policy_revision, g.gpc, g.recorded_at, g.expires_at, g.page_url,
        decode(g.ip_digest, 'hex'), decode(g.ua_digest, 'hex'),
        g.tcf_string, g.tcf_cmp_id, g.tcf_cmp_version, g.tcf_created, g.tcf_last_updated,
        g.tcf_consent_screen, g.tcf_consent_language, g.tcf_vendor_list_version,
        g.tcf_policy_version, g.tcf_purposes_consent, g.tcf_purposes_legitimate_interest
    FROM given AS g JOIN touched AS t USING (visitor_id)
    ORDER BY g.n
    RETURNING c
), queued AS (
    INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
    SELECT $1, 'cookies.choice_recorded', $3, (s.c).subject_id, (s.c).choice_id,
        consentd_cookie_choice_payload(s.c)
    FROM stored AS s
    ORDER BY (s.c).sequence
)
SELECT (s.c).* FROM stored AS s ORDER BY (s.c).sequence
"""


def choices_json(rows: Sequence[dict[str, Any]]) -> str:
    """The rows (store/cookies.py's _choice_row, in the order to store) as RECORD_MANY's $2."""
    return orjson.dumps([_json_row(n, row) for n, row in enumerate(rows)]).decode()


def _json_row(n: int, row: dict[str, Any]) -> dict[str, Any]:
    encoded = {k: v for k, v in row.items() if k != "tenant_id"}
    encoded["n"] = n
    for digest in ("ip_digest", "ua_digest"):
        value: bytes | None = row[digest]
        encoded[digest] = value.hex() if value is not None else None
    return encoded


def in_given_order(
    choices: Sequence[CookieChoice], stored: Sequence[CookieChoice]
) -> list[CookieChoice]:
    """`stored` (as RECORD_MANY returns them) in the order of `choices`."""
    by_id: dict[UUID, CookieChoice] = {choice.choice_id: choice for choice in stored}
    return [by_id[choice.choice_id] for choice in choices]
