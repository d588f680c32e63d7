"""consentd_check() as the runtime role, under forced row-level security and its generic plan,
reaches every per-subject row by index: a join key the planner deems leaky would make each of a
batch's subjects a sequential scan of the tenant's whole table (0006's COALESCE did: 12 s for
1,000 subjects on 10,000 stored)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from consentd.bootstrap import App
from consentd.domain.model import LawfulBasis, Purpose
from consentd.domain.tenancy import Principal, Scope, Tenant
from tests.conftest import owner

STORED = 3000
# A per-key lookup: a condition on the batch's keys (k), their resolved subjects (x), or the
# subject resolved in place (COALESCE of the identifier's and the id's: 0006's leaky form).
PER_KEY = re.compile(r"\b[kx]\.(subject_id|sid|digest|kind)\b|COALESCE\(")
# Tables that grow with the subjects: a scan of one per key is the defect. Small tables (blocks,
# suppressions, the catalogue) may be scanned whole when the planner finds it cheaper.
LARGE = ("current_consents", "consent_events", "subjects", "subject_identifiers")
PARAMETERS = ("p_tenant", "p_purpose", "p_channel", "p_scope", "p_kinds", "p_digests", "p_ids")
PARAMETERS += ("p_as_of", "p_at")
FUNCTION_SOURCE = "SELECT prosrc FROM pg_proc WHERE proname = 'consentd_check'"

SEED = """
WITH s AS (
    SELECT i, sha256(convert_to('plan-' || i, 'UTF8')) AS digest, gen_random_uuid() AS subject_id,
        gen_random_uuid() AS event_id
    FROM generate_series(1, :stored) AS i
), subj AS (
    INSERT INTO subjects (tenant_id, subject_id, created_at) SELECT :tenant, subject_id, now()
    FROM s
), ident AS (
    INSERT INTO subject_identifiers (tenant_id, kind, digest, subject_id, created_at)
    SELECT :tenant, 'email', digest, subject_id, now() FROM s
), events AS (
    INSERT INTO consent_events (
        tenant_id, event_id, subject_id, purpose_id, channel, scope, state, source, actor,
        processing_role, recorded_at, evidence_reference
    )
    SELECT :tenant, event_id, subject_id, 'plan', 'email', 'first_party', 'granted', 'import',
        'test', 'processor', now() - interval '1 day', ''
    FROM s RETURNING *
)
INSERT INTO current_consents (
    tenant_id, subject_id, purpose_id, channel, scope, state, event_id, sequence, updated_at
)
SELECT tenant_id, subject_id, purpose_id, channel, scope, state, event_id, sequence, recorded_at
FROM events
"""


def _query_of(source: str) -> str:
    """The function's query, its arguments turned into prepared-statement parameters."""
    query = source.split("RETURN QUERY", 1)[1].rsplit(";", 1)[0]
    for number, name in enumerate(PARAMETERS, start=1):
        query = re.sub(rf"\b{name}\b", f"${number}", query)
    return query


async def test_batch_checks_read_subjects_by_index_under_row_level_security(
    app: App, tenant: Tenant
) -> None:
    """With thousands of subjects stored, the generic plan of the check function's query, as
    the runtime role, scans no large table sequentially."""
    principal = Principal(tenant, "test", frozenset(Scope))
    await app.catalog.put_purpose(principal, Purpose("plan", LawfulBasis.CONSENT))
    async with owner(app).begin() as conn:
        await conn.execute(sa.text("SELECT set_config('consentd.tenant_id', :t, true)"),
                           {"t": str(tenant.tenant_id)})  # fmt: skip
        await conn.execute(sa.text(SEED), {"tenant": tenant.tenant_id, "stored": STORED})
    async with owner(app).connect() as conn:
        await conn.execute(sa.text("COMMIT"))
        for table in ("subjects", "subject_identifiers", "consent_events", "current_consents"):
            await conn.exec_driver_sql(f"ANALYZE {table}")
        source = (await conn.execute(sa.text(FUNCTION_SOURCE))).scalar_one()

    digests = ", ".join(f"sha256(convert_to('plan-{i}', 'UTF8'))" for i in range(1, 1001))
    execute = (
        f"EXPLAIN EXECUTE consentd_check_plan('{tenant.tenant_id}', 'plan', 'email', "
        "'first_party', array_fill('email'::text, ARRAY[1000]), "
        f"ARRAY[{digests}], array_fill(NULL::uuid, ARRAY[1000]), NULL, now())"
    )
    async with app.engine.begin() as conn:  # the runtime role, row-level security forced
        await conn.execute(sa.text("SELECT set_config('consentd.tenant_id', :t, true)"),
                           {"t": str(tenant.tenant_id)})  # fmt: skip
        await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.exec_driver_sql(
            f"PREPARE consentd_check_plan(uuid, text, text, text, text[], "
            f"bytea[], uuid[], timestamptz, timestamptz) AS {_query_of(source)}"
        )
        plan = "\n".join(row[0] for row in await conn.exec_driver_sql(execute))
        await conn.exec_driver_sql("DEALLOCATE consentd_check_plan")

    lines = plan.splitlines()
    per_key_scans = [
        f"{line.strip()} / {lines[n + 1].strip()}"
        for n, line in enumerate(lines[:-1])
        if any(f"Seq Scan on {table} " in line for table in LARGE) and PER_KEY.search(lines[n + 1])
    ]
    assert per_key_scans == [], plan
    assert "Index Cond: ((tenant_id = $1) AND (subject_id = x.subject_id))" in plan, plan
