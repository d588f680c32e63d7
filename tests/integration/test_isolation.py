"""Tenant isolation in PostgreSQL itself: the catalog shows row-level security (ENABLE and FORCE)
and a tenant-led key on every tenant table, a runtime role that owns nothing and cannot bypass
it, and a hand-made connection as that role sees nothing without a tenant, only its tenant's rows
with one, and cannot write into another tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import asyncpg
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consentd.app.admin import AdminUseCases
from consentd.app.commands import Choice, RecordConsent
from consentd.app.cookie_choices import RecordCookieChoice
from consentd.app.idempotency import IdempotencyKey
from consentd.bootstrap import App
from consentd.domain.audit import AuditRecord
from consentd.domain.cookie_policy import DEFAULT_POLICY
from consentd.domain.cookies import ChoiceMethod
from consentd.domain.identifiers import normalise_email, normalise_external_id
from consentd.domain.model import (
    Channel,
    ConsentState,
    LawfulBasis,
    Notice,
    PartyScope,
    Purpose,
    Source,
    Target,
)
from consentd.domain.retention import TenantRetention
from consentd.domain.rights import RequestKind
from consentd.domain.tenancy import Principal, Scope, Tenant
from consentd.store.database import RUNTIME_ROLE
from consentd.store.imports import claim
from consentd.store.uow import SqlUnitOfWork, enter_tenant
from tests.conftest import keyed_write, owner

# tenants is the root of the tree: its slug is a global name, unique across tenants by design.
GLOBAL_UNIQUE_INDEXES = {"uq_tenants_slug"}
SET_TENANT = "SELECT set_config('consentd.tenant_id', $1, true)"
TENANT_QUAL = "(tenant_id = consentd_current_tenant())"
COLUMN_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "REFERENCES"}

TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'
ORDER BY c.relname
"""
# Every index of every public table, with the name of its first column.
INDEXES = """
SELECT t.relname AS table_name, i.relname AS index_name, x.indisprimary, x.indisunique,
       a.attname AS first_column
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
WHERE n.nspname = 'public' AND t.relname <> 'alembic_version'
"""


NEWSLETTER = Target("newsletter", Channel.EMAIL, PartyScope.FIRST_PARTY)


def _principal(tenant: Tenant) -> Principal:
    return Principal(tenant=tenant, caller="isolation-test", scopes=frozenset(Scope))


def _public_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


async def _tenant_tables(app: App) -> list[str]:
    async with owner(app).connect() as conn:
        return [row.relname for row in await conn.execute(sa.text(TABLES))]


async def _populate(app: App, admin: AdminUseCases, tenant: Tenant) -> None:
    """At least one row of `tenant` in every tenant table."""
    principal = _principal(tenant)
    notice = Notice("privacy", 0, "Avis", "fr-FR", "texte", "", False, datetime.now(UTC))
    await app.catalog.publish_notice(principal, notice)
    await app.catalog.put_purpose(
        principal, Purpose("newsletter", LawfulBasis.CONSENT, notice_id="privacy")
    )
    target = NEWSLETTER
    await app.consents.record_consent(
        principal,
        RecordConsent(
            identifiers=(
                normalise_email(f"someone@{tenant.slug}.example"),
                normalise_external_id(f"crm-{tenant.slug}", "external_id"),
            ),
            choices=(Choice(target, ConsentState.GRANTED, notice_version=1),),
            source=Source.API,
            actor="isolation",
        ),
    )
    await admin.issue_key(tenant.slug, [Scope.CHECK.value], name="isolation")
    await admin.put_issuer(tenant.slug, "https://portal.example", "consentd", _public_pem())
    await app.webhooks.admin.add(tenant, "https://crm.example/hook", from_start=False)
    person = normalise_external_id(f"crm-{tenant.slug}", "external_id")
    await admin.revoke_links(tenant, app.preference_links.caller(person), None)

    method = "/consent.v1.ConsentService/RecordConsent"
    key = IdempotencyKey("isolation-test", "once", method, bytes(32), datetime.now(UTC))
    await keyed_write(app.engine, tenant.tenant_id, key, b"stored response")
    await _populate_cookies(app, tenant)
    await _populate_rights(app, tenant)
    await _populate_confirmations(app, tenant)
    async with app.engine.connect() as conn:  # an import's checkpoint, as the CLI writes it
        await enter_tenant(conn, tenant.tenant_id)
        await claim(conn, tenant.tenant_id, "0" * 64, name="crm.csv", rows=1, now=datetime.now(UTC))
        await conn.commit()
    # Everything integrated, then one audit row left queued (no sequencer woken): the counts
    # the tests compare stay still.
    await app.sequencer.drain(tenant.tenant_id)
    await app.sequencer.settled()  # no pass woken by the writes above may take the row below
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        uow.audit.record(AuditRecord("test.queued", datetime.now(UTC)))
        await uow.commit()


async def _populate_confirmations(app: App, tenant: Tenant) -> None:
    """Issue #14's double opt-in: a pending grant and its confirmation (the token's digest)."""
    principal = _principal(tenant)
    offers = Purpose("offers", LawfulBasis.CONSENT, requires_confirmation=True)
    await app.catalog.put_purpose(principal, offers)
    await app.consents.record_consent(
        principal,
        RecordConsent(
            identifiers=(normalise_email(f"optin@{tenant.slug}.example"),),
            choices=(Choice(replace(NEWSLETTER, purpose="offers"), ConsentState.GRANTED),),
            source=Source.API,
            actor="isolation",
        ),
    )


async def _populate_rights(app: App, tenant: Tenant) -> None:
    """Issue #5's tables, written as the service writes them: a data key and an audit chain (by
    the consent above), a block, a contact change, a rights request, a suppression (an erased
    second person), a signed checkpoint and the tenant's retention facts."""
    principal = _principal(tenant)
    person = normalise_external_id(f"crm-{tenant.slug}", "external_id")
    await app.rights.restrict(principal, person)
    await app.rights.rectify(
        principal, person, normalise_email(f"new@{tenant.slug}.example"), "isolation"
    )
    await app.requests.submit(principal, RequestKind.ACCESS, person, None)
    gone = normalise_external_id(f"gone-{tenant.slug}", "external_id")
    written = await app.consents.record_consent(
        principal,
        RecordConsent(
            identifiers=(gone,),
            choices=(Choice(NEWSLETTER, ConsentState.GRANTED, notice_version=1),),
            source=Source.API,
            actor="isolation",
        ),
    )
    await app.rights.erase(principal, written.subject_id, "isolation")
    await app.audit.checkpoint(tenant)
    await app.audit.tree_head(tenant)
    await app.retention_settings.put(tenant, TenantRetention(storage_extension=True))


async def _populate_cookies(app: App, tenant: Tenant) -> None:
    """Issue #3's tables, written as the service writes them (runtime role, unit of work): a
    policy with categories and Consent Mode, a visitor and its choice, a purge run and count."""
    principal = _principal(tenant)
    await app.cookies.put_cookie_policy(principal, DEFAULT_POLICY)
    choice = RecordCookieChoice(
        visitor_id=f"isolation-{tenant.tenant_id.hex}", method=ChoiceMethod.ACCEPT_ALL,
        policy_revision=1,
    )  # fmt: skip
    await app.cookies.record_cookie_choice(principal, choice)
    now = datetime.now(UTC)
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        await uow.cookie_purge.start_run(uuid4(), now)
        await uow.cookie_purge.add_counts({(date(now.year, now.month, 1), ChoiceMethod.GPC): 1})
        await uow.commit()


@pytest.fixture
async def two_tenants(app: App, admin: AdminUseCases) -> tuple[Tenant, Tenant]:
    first = await admin.create_tenant(f"iso-a-{uuid4().hex[:10]}")
    second = await admin.create_tenant(f"iso-b-{uuid4().hex[:10]}")
    for tenant in (first, second):
        await _populate(app, admin, tenant)
    return first, second


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection made by hand as the runtime role: no pool, no unit of work, no tenant."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await conn.fetchval("SELECT current_user") == RUNTIME_ROLE
        yield conn
    finally:
        await conn.close()


async def _owner_counts(app: App, tables: list[str], tenant_id: UUID) -> dict[str, int]:
    async with owner(app).connect() as conn:
        return {
            table: (
                await conn.execute(
                    sa.text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),  # noqa: S608
                    {"t": tenant_id},
                )
            ).scalar_one()
            for table in tables
        }


async def _visible(conn: asyncpg.Connection, table: str) -> list[UUID]:
    """tenant_id of every row the connection can read in `table` (none without privilege)."""
    try:
        async with conn.transaction(readonly=True):
            rows = await conn.fetch(f"SELECT tenant_id FROM {table}")  # noqa: S608
    except asyncpg.InsufficientPrivilegeError:
        return []
    return [row["tenant_id"] for row in rows]


async def _visible_in(conn: asyncpg.Connection, table: str, tenant: str) -> list[UUID]:
    """Like _visible, inside a transaction whose tenant setting is `tenant`."""
    try:
        async with conn.transaction(readonly=True):
            await conn.execute(SET_TENANT, tenant)
            rows = await conn.fetch(f"SELECT tenant_id FROM {table}")  # noqa: S608
    except asyncpg.InsufficientPrivilegeError:
        return []
    return [row["tenant_id"] for row in rows]


async def _execute_in(
    conn: asyncpg.Connection, tenant: Tenant, statement: str, *args: object
) -> None:
    async with conn.transaction():
        await conn.execute(SET_TENANT, str(tenant.tenant_id))
        await conn.execute(statement, *args)


async def test_every_tenant_table_has_forced_row_level_security(app: App) -> None:
    """Every table in public (but alembic_version) has RLS enabled AND forced, and a policy."""
    async with owner(app).connect() as conn:
        rows = (await conn.execute(sa.text(TABLES))).all()
    assert len(rows) >= 11, [r.relname for r in rows]
    unprotected = [
        r.relname
        for r in rows
        if not (r.relrowsecurity and r.relforcerowsecurity and r.policies > 0)
    ]
    assert unprotected == []


async def test_every_policy_the_runtime_role_meets_compares_the_tenant(app: App) -> None:
    """Policies are OR-ed: every policy that applies to the runtime role (or to PUBLIC) on a
    tenant table must be exactly the tenant comparison, for reads and writes; each tenant table
    has one. Other policies (the owner's slug lookup) never name the runtime role."""
    tables = set(await _tenant_tables(app))
    async with owner(app).connect() as conn:
        policies = (
            await conn.execute(
                sa.text(
                    "SELECT tablename, policyname, permissive, roles, qual, with_check "
                    "FROM pg_policies WHERE schemaname = 'public'"
                )
            )
        ).all()
    applicable = [p for p in policies if {"public", RUNTIME_ROLE} & set(p.roles)]
    assert {p.tablename for p in applicable} == tables
    loose = [
        (p.tablename, p.policyname, p.qual, p.with_check)
        for p in applicable
        if p.qual != TENANT_QUAL or p.with_check not in (None, TENANT_QUAL)
    ]
    assert loose == []
    assert {p.permissive for p in applicable} == {"PERMISSIVE"}


async def test_runtime_role_cannot_create_objects(app: App) -> None:
    """The runtime role may not create objects in the database or in schema public (where it
    could shadow or add functions and tables outside row-level security)."""
    async with owner(app).connect() as conn:
        database_create, schema_create = (
            await conn.execute(
                sa.text(
                    "SELECT has_database_privilege(:r, current_database(), 'CREATE'), "
                    "has_schema_privilege(:r, 'public', 'CREATE')"
                ),
                {"r": RUNTIME_ROLE},
            )
        ).one()
    assert database_create is False
    assert schema_create is False


async def test_every_key_leads_with_tenant_id(app: App) -> None:
    """Each table's primary key starts with tenant_id; so does every unique index, except the
    tenants' global slug, and that exception is the only one."""
    tables = set(await _tenant_tables(app))
    async with owner(app).connect() as conn:
        indexes = (await conn.execute(sa.text(INDEXES))).all()
    primary = {i.table_name: i.first_column for i in indexes if i.indisprimary}
    assert set(primary) == tables, "a table without a primary key"
    assert {t: c for t, c in primary.items() if c != "tenant_id"} == {}
    unique_not_led = {
        i.index_name for i in indexes if i.indisunique and i.first_column != "tenant_id"
    }
    assert unique_not_led == GLOBAL_UNIQUE_INDEXES


async def test_runtime_role_owns_nothing_and_cannot_bypass(app: App) -> None:
    """consentd_app is no superuser, has no BYPASSRLS, belongs to no role, owns no table,
    sequence, view or function in public, and may not UPDATE, DELETE or TRUNCATE events."""
    async with owner(app).connect() as conn:
        role = (
            await conn.execute(
                sa.text(
                    "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
                    "FROM pg_roles WHERE rolname = :r"
                ),
                {"r": RUNTIME_ROLE},
            )
        ).one()
        owned_relations = (
            await conn.execute(
                sa.text(
                    "SELECT c.relname FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = :r"
                ),
                {"r": RUNTIME_ROLE},
            )
        ).all()
        owned_functions = (
            await conn.execute(
                sa.text(
                    "SELECT p.proname FROM pg_proc p "
                    "JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) = :r"
                ),
                {"r": RUNTIME_ROLE},
            )
        ).all()
        owns_schema = (
            await conn.execute(
                sa.text(
                    "SELECT pg_get_userbyid(nspowner) = :r FROM pg_namespace "
                    "WHERE nspname = 'public'"
                ),
                {"r": RUNTIME_ROLE},
            )
        ).scalar_one()
        memberships = (
            await conn.execute(
                sa.text(
                    "SELECT m.roleid::regrole::text FROM pg_auth_members m "
                    "WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = :r)"
                ),
                {"r": RUNTIME_ROLE},
            )
        ).all()
        granted = set()
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES"):
            query = "SELECT has_table_privilege(:r, 'consent_events', :p)"
            if privilege in COLUMN_PRIVILEGES:
                query += " OR has_any_column_privilege(:r, 'consent_events', :p)"
            if (await conn.execute(sa.text(query), {"r": RUNTIME_ROLE, "p": privilege})).scalar():
                granted.add(privilege)
    assert not role.rolsuper
    assert not role.rolbypassrls
    assert not role.rolcreaterole
    assert not role.rolcreatedb
    assert owned_relations == []
    assert owned_functions == []
    assert not owns_schema
    assert memberships == []
    # Insert-only: an event, once written, cannot be changed or removed by the service.
    assert granted == {"SELECT", "INSERT"}


# Issue #3's tables: what the runtime role may do to each, table-wide and UPDATE by column.
# A stored choice is never rewritten (only attributed to a subject, or purged once expired), a
# purge run is never deleted, and no table may be truncated.
COOKIE_PRIVILEGES = {
    "cookie_policies": ({"SELECT", "INSERT"}, {
        "revision", "refusal_validity_months", "acceptance_validity_months", "allowed_origins",
        "updated_at",
    }),
    "cookie_categories": ({"SELECT", "INSERT", "DELETE"}, set()),
    "cookie_consent_modes": ({"SELECT", "INSERT", "DELETE"}, set()),
    "cookie_visitors": ({"SELECT", "INSERT", "DELETE"}, {"subject_id", "last_seen_at"}),
    "cookie_choices": ({"SELECT", "INSERT", "DELETE"}, {"subject_id"}),
    "cookie_choice_counts": ({"SELECT", "INSERT"}, {"choices"}),
    "purge_runs": ({"SELECT", "INSERT"}, {
        "status", "finished_at", "choices_deleted", "visitors_deleted", "batches",
    }),
}  # fmt: skip
# Issue #5's tables (migration 0005): the audit chain is append-only for the runtime role (the
# head moves), a block is lifted not deleted, a key is destroyed by erasure; and on 0001's tables
# erasure and rectification add DELETE of identifiers and UPDATE of subjects.erased_at.
RIGHTS_PRIVILEGES = {
    "subject_keys": ({"SELECT", "INSERT", "DELETE"}, set()),
    "suppressions": ({"SELECT", "INSERT"}, {"reason", "created_at"}),  # erased again (0031)
    "subject_blocks": ({"SELECT", "INSERT"}, {"lifted_at"}),
    "contact_changes": ({"SELECT", "INSERT"}, set()),
    "rights_requests": ({"SELECT", "INSERT", "UPDATE"}, {
        "tenant_id", "request_id", "subject_id", "kind", "state", "received_at", "updated_at",
        "verified_at", "due_at", "extended_due_at", "extension_reason", "closed_at", "outcome",
        "verification_method", "code_digest", "code_expires_at", "code_attempts", "person_told_at",
    }),
    "audit_heads": ({"SELECT", "INSERT"}, {
        "last_seq", "last_hash", "tree_frontier", "root_hash", "pruned_frontier",
    }),
    "audit_entries": ({"SELECT", "INSERT"}, set()),
    "audit_checkpoints": ({"SELECT", "INSERT"}, set()),
    "tenant_retention": ({"SELECT", "INSERT"}, {
        "contract_ended_at", "legal_hold", "legal_hold_reason", "storage_extension", "purged_at",
        "updated_at", "contract_end_recorded_at", "inactive_subject_months",
    }),
    "subject_identifiers": ({"SELECT", "INSERT", "DELETE"}, set()),
    "subjects": ({"SELECT", "INSERT", "DELETE"}, {"erased_at", "last_heard_at"}),
}  # fmt: skip
# Issue #7's change feed (0006): the outbox is only appended to; the head moves.
CAMPAIGN_PRIVILEGES = {
    "consent_changes": ({"SELECT", "INSERT"}, set()),
    "consent_change_heads": ({"SELECT", "INSERT"}, {"last_position"}),
}
# Issue #6's import checkpoints (0007): created and advanced, never deleted by the service.
IMPORT_PRIVILEGES = {
    "consent_imports": ({"SELECT", "INSERT"}, {
        "last_line", "imported", "superseded", "updated_at", "completed_at",
    }),
}  # fmt: skip
# Issue #12's sequenced log (0009): queued rows are integrated (deleted); tree heads appended.
AUDIT_LOG_PRIVILEGES = {
    "audit_queue": ({"SELECT", "INSERT", "DELETE"}, set()),
    "audit_tree_heads": ({"SELECT", "INSERT"}, set()),
}
SECURITY_DEFINER = {
    "consentd_prune_audit",
    "consentd_purge_tenant_rows",
    # 0011: every unit of work's purge guard reads the tenant's mark whatever row-level
    # security shows, and the retention job's mark takes the tenant's lock exclusive.
    "consentd_tenant_writable",
    "consentd_mark_tenant_purged",
    "consentd_queued_tenants",  # 0009: tenant ids with queued audit rows, nothing else
    "consentd_tenant_ids",  # 0025: the ids of the tenants, nothing else (app/auth.py)
    "consentd_webhooks",  # 0057: tenant and webhook ids of the live webhooks, nothing else
}
# Webhooks (0057): added and removed (never deleted), their delivery columns moved; their
# signing secret's salts rotated (0058).
WEBHOOK_PRIVILEGES = {
    "webhooks": ({"SELECT", "INSERT"}, {
        "generation", "cursor", "delivered_position", "attempted_through", "delivered_at",
        "failures", "next_attempt_at", "last_error", "leased_by", "leased_until", "removed_at",
        "salt", "previous_salt", "previous_until", "rotated_at",
    }),
}  # fmt: skip
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@pytest.mark.parametrize(
    "expected",
    [
        COOKIE_PRIVILEGES,
        RIGHTS_PRIVILEGES,
        CAMPAIGN_PRIVILEGES,
        IMPORT_PRIVILEGES,
        AUDIT_LOG_PRIVILEGES,
        WEBHOOK_PRIVILEGES,
    ],
    ids=[
        "cookies-0004",
        "rights-0005",
        "campaign-0006",
        "imports-0007",
        "audit-log-0009",
        "webhooks-0057",
    ],
)
async def test_runtime_privileges_on_cookie_and_rights_tables(
    app: App, expected: dict[str, tuple[set[str], set[str]]]
) -> None:
    """On each cookie table (migration 0004), each table issue #5 writes (0005) and the change
    feed's tables (0006) the runtime role holds exactly the table privileges the service uses,
    and UPDATE only on the columns it changes."""
    got = {}
    async with owner(app).connect() as conn:
        for table in expected:
            held = {
                privilege
                for privilege in TABLE_PRIVILEGES
                if (
                    await conn.execute(
                        sa.text("SELECT has_table_privilege(:r, :t, :p)"),
                        {"r": RUNTIME_ROLE, "t": table, "p": privilege},
                    )
                ).scalar()
            }
            updatable = {
                row.column_name
                for row in await conn.execute(
                    sa.text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name = :t "
                        "AND has_column_privilege(:r, :t, column_name, 'UPDATE')"
                    ),
                    {"r": RUNTIME_ROLE, "t": table},
                )
            }
            got[table] = (held, updatable)
    assert got == {t: (set(p), set(c)) for t, (p, c) in expected.items()}


async def test_only_the_runtime_role_may_call_the_security_definer_functions(app: App) -> None:
    """The SECURITY DEFINER functions (0005's two, 0011's two) are the runtime role's to call,
    not PUBLIC's, and they are the only SECURITY DEFINER functions in public."""
    async with owner(app).connect() as conn:
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT p.proname, has_function_privilege(:r, p.oid, 'EXECUTE') AS runtime, "
                    "(p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a "
                    "WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')) AS public "
                    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public' AND p.prosecdef"
                ),
                {"r": RUNTIME_ROLE},
            )
        ).all()
    found = {r.proname: (r.runtime, r.public) for r in rows}
    assert found == dict.fromkeys(SECURITY_DEFINER, (True, False))


async def test_check_function_runs_as_its_caller_for_the_runtime_role_only(app: App) -> None:
    """consentd_check() (0006) is SECURITY INVOKER (row-level security applies to what it
    reads), callable by the runtime role and not by PUBLIC."""
    async with owner(app).connect() as conn:
        row = (
            await conn.execute(
                sa.text(
                    "SELECT p.prosecdef, has_function_privilege(:r, p.oid, 'EXECUTE') AS runtime, "
                    "(p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a "
                    "WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')) AS public "
                    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public' AND p.proname = 'consentd_check'"
                ),
                {"r": RUNTIME_ROLE},
            )
        ).one()
    assert (row.prosecdef, row.runtime, row.public) == (False, True, False)


async def test_check_function_reads_only_the_tenant_it_sets(
    app: App, runtime: asyncpg.Connection, two_tenants: tuple[Tenant, Tenant]
) -> None:
    """Asked for tenant A inside a transaction that set tenant B, consentd_check() finds A's
    subject and not B's, and its tenant setting stays local to that transaction."""
    first, second = two_tenants
    async with owner(app).connect() as conn:
        ids = {
            tenant.tenant_id: (
                await conn.execute(
                    sa.text("SELECT subject_id FROM subjects WHERE tenant_id = :t LIMIT 1"),
                    {"t": tenant.tenant_id},
                )
            ).scalar_one()
            for tenant in (first, second)
        }
    async with runtime.transaction():
        await runtime.execute(
            "SELECT set_config('consentd.tenant_id', $1, true)", str(second.tenant_id)
        )
        rows = await runtime.fetch(
            "SELECT ord, subject_id FROM consentd_check($1, 'newsletter', 'email', "
            "'first_party', ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::bytea[], $2::uuid[], "
            "NULL, now())",
            first.tenant_id,
            [ids[first.tenant_id], ids[second.tenant_id]],
        )
        inside = await runtime.fetchval("SELECT current_setting('consentd.tenant_id', true)")
    after = await runtime.fetchval("SELECT current_setting('consentd.tenant_id', true)")
    assert [(r["ord"], r["subject_id"]) for r in rows] == [(1, ids[first.tenant_id]), (2, None)]
    assert inside == str(first.tenant_id)
    assert after in (None, "")


async def test_runtime_connection_without_tenant_sees_nothing(
    app: App, runtime: asyncpg.Connection, two_tenants: tuple[Tenant, Tenant]
) -> None:
    """A hand-made connection as the runtime role with no tenant set reads 0 rows from every
    tenant table, though both tenants have rows in each of them."""
    tables = await _tenant_tables(app)
    first, second = two_tenants
    for tenant in (first, second):
        counts = await _owner_counts(app, tables, tenant.tenant_id)
        assert all(counts.values()), f"setup left a table empty: {counts}"
    seen = {table: len(await _visible(runtime, table)) for table in tables}
    assert seen == dict.fromkeys(tables, 0)
    # An empty setting (what a reset leaves) is no tenant either.
    seen = {table: len(await _visible_in(runtime, table, "")) for table in tables}
    assert seen == dict.fromkeys(tables, 0)


async def test_runtime_connection_sees_only_its_tenant(
    app: App, runtime: asyncpg.Connection, two_tenants: tuple[Tenant, Tenant]
) -> None:
    """With tenant A set for the transaction the connection reads exactly A's rows; a tenant id
    that exists nowhere reads 0; the setting ends with the transaction."""
    tables = await _tenant_tables(app)
    first, _ = two_tenants
    expected = await _owner_counts(app, tables, first.tenant_id)
    for table in tables:
        rows = await _visible_in(runtime, table, str(first.tenant_id))
        assert set(rows) == {first.tenant_id}, table
        assert len(rows) == expected[table], table
        assert await _visible_in(runtime, table, str(uuid4())) == [], table
        # The setting was local to that transaction: the next one is back to no tenant.
        assert await _visible(runtime, table) == [], table


async def test_runtime_cannot_write_into_another_tenant(
    runtime: asyncpg.Connection, two_tenants: tuple[Tenant, Tenant]
) -> None:
    """Under tenant A's setting, inserting a row that names tenant B is refused by the policy's
    WITH CHECK, and updating B's rows changes nothing."""
    first, second = two_tenants
    for statement, args in (
        (
            "INSERT INTO subjects (tenant_id, subject_id, created_at) VALUES ($1, $2, now())",
            (second.tenant_id, uuid4()),
        ),
        (
            "INSERT INTO idempotency_keys (tenant_id, caller, key, method, request_sha256, "
            "response, created_at, expires_at) "
            "VALUES ($1, 'x', 'k', 'm', ''::bytea, ''::bytea, now(), now())",
            (second.tenant_id,),
        ),
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            await _execute_in(runtime, first, statement, *args)

    async with runtime.transaction():
        await runtime.execute(SET_TENANT, str(first.tenant_id))
        updated = await runtime.execute(
            "UPDATE current_consents SET state = 'refused' WHERE tenant_id = $1",
            second.tenant_id,
        )
        deleted = await runtime.execute(
            "DELETE FROM subjects WHERE tenant_id = $1", second.tenant_id
        )
    assert updated == "UPDATE 0"
    assert deleted == "DELETE 0"
