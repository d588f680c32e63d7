"""`consentd` against a PostgreSQL it did not start: DATABASE_URL is the runtime role, the owner's
URL runs migrations and administration, and the service refuses a role RLS would not hold."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import sqlalchemy as sa
from alembic import command as alembic
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import capture_logs

from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.domain.audit_signer import CheckpointSigner
from consentd.key_files import tell_signing_key
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store.database import alembic_config, migrate
from tests.conftest import TEST_SECRET, TestClock
from tests.integration.helpers import NEWSLETTER, catalogue, email, grant, principal

SECRET = base64.b64encode(bytes(range(32))).decode()
SIGNING_KEY = base64.b64encode(bytes(range(32, 64))).decode()


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consentd", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _runtime_only(url: str, secret: str = SECRET) -> dict[str, str]:
    """serve's environment given the runtime role's URL alone (no owner's URL, no ports)."""
    return {
        "DATABASE_URL": url.replace("postgresql+asyncpg://", "postgresql://"),
        "CONSENTD_MIGRATION_DATABASE_URL": "",
        "CONSENTD_SECRET_KEY": secret,
        "CONSENTD_AUDIT_SIGNING_KEY": SIGNING_KEY,
        "CONSENTD_GRPC_ADDRESS": "127.0.0.1:0",
        "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0",
        "CONSENTD_METRICS_ADDRESS": "off",
    }


async def test_migrate_and_admin_commands_use_the_owner_url(
    postgres: EmbeddedPostgres, database_url: str
) -> None:
    """`consentd migrate` upgrades a fresh database even with migrate-on-start off, and the
    tenant and key commands work through CONSENTD_MIGRATION_DATABASE_URL."""
    name = f"ext_{uuid4().hex[:8]}"
    postgres.create_database(name)
    owner = postgres.url(name)
    runtime = database_url.rsplit("/", 1)[0] + f"/{name}"
    env = {
        "DATABASE_URL": runtime,
        "CONSENTD_MIGRATION_DATABASE_URL": owner,
        "CONSENTD_SECRET_KEY": SECRET,
        "CONSENTD_AUDIT_SIGNING_KEY": SIGNING_KEY,
        "CONSENTD_MIGRATE_ON_START": "false",
        "CONSENTD_LOG_FORMAT": "json",
    }
    migrated = _run(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    engine = create_async_engine(owner)
    try:
        async with engine.connect() as conn:
            version = (
                await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            ).scalar()
    finally:
        await engine.dispose()
    assert version is not None
    created = _run(env, "tenants", "create", "acme", "--role", "controller")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("tenant acme ")
    assert created.stdout.strip().endswith(' controller "acme"')  # the role, the name
    # Again: the same role or none is the same tenant; another role is refused (it used to print
    # the tenant as it stood, exit 0, and the operator believed it a processor).
    for role in ((), ("--role", "controller")):
        again = _run(env, "tenants", "create", "acme", *role)
        assert (again.returncode, again.stdout) == (0, created.stdout), again.stderr
    other = _run(env, "tenants", "create", "acme", "--role", "processor")
    assert other.returncode != 0
    assert "tenant 'acme' exists as a controller" in other.stderr
    assert "Traceback" not in other.stderr
    # Operators list the tenants (audit verify --tenant names one; pages need the id).
    listed = _run(env, "tenants", "list")
    assert listed.returncode == 0, listed.stderr
    assert created.stdout in listed.stdout
    issued = _run(env, "keys", "create", "acme", "--scope", "consent:write")
    assert issued.returncode == 0, issued.stderr
    assert "shown once" in issued.stderr
    assert "consent:attest counts only" not in issued.stderr
    # Probe IK: attest without a write scope was taken without a word.
    scopes = ("--scope", "rights:support", "--scope", "consent:attest")
    support = _run(env, "keys", "create", "acme", *scopes)
    assert support.returncode == 0, support.stderr
    assert "consent:attest counts only on writes" in support.stderr


def test_serve_refuses_a_superuser_connection(postgres: EmbeddedPostgres) -> None:
    """A DATABASE_URL that row-level security would not hold (a superuser) stops `serve` with a
    configuration error before it listens."""
    env = {
        "DATABASE_URL": postgres.url("consentd_test"),
        "CONSENTD_SECRET_KEY": SECRET,
        "CONSENTD_AUDIT_SIGNING_KEY": SIGNING_KEY,
        "CONSENTD_GRPC_ADDRESS": "127.0.0.1:0",
        "CONSENTD_LOG_FORMAT": "json",
    }
    refused = _run(env, "serve")
    assert refused.returncode == 2
    assert "DATABASE_URL must connect as the runtime role" in refused.stderr
    assert "serving" not in refused.stderr


def test_admin_commands_need_the_owner_url() -> None:
    """Without the owner's URL, an admin command explains what to set instead of failing later."""
    env = {"DATABASE_URL": "postgresql+asyncpg://consentd_app:x@127.0.0.1:1/none"}
    env["CONSENTD_SECRET_KEY"] = SECRET
    env["CONSENTD_AUDIT_SIGNING_KEY"] = SIGNING_KEY
    refused = _run(env, "keys", "list", "acme")
    assert refused.returncode == 2
    assert "CONSENTD_MIGRATION_DATABASE_URL" in refused.stderr


def test_a_database_that_cannot_be_reached_is_a_message_not_a_traceback() -> None:
    """A refused port (as a wrong password or a missing database) ended `serve` and every admin
    command in an "uncaught" traceback: it is one line saying the database refused, exit 1,
    and the URL's password is not in it."""
    url = "postgresql://consentd_app:hunter2@127.0.0.1:1/none"
    env = {
        "DATABASE_URL": url,
        "CONSENTD_MIGRATION_DATABASE_URL": url,
        "CONSENTD_SECRET_KEY": SECRET,
        "CONSENTD_AUDIT_SIGNING_KEY": SIGNING_KEY,
        "CONSENTD_GRPC_ADDRESS": "127.0.0.1:0",
        "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0",
        "CONSENTD_METRICS_ADDRESS": "off",
    }
    for command in (("keys", "list", "acme"), ("serve",)):
        refused = _run(env, *command)
        assert refused.returncode == 1, refused.stderr
        assert "consentd: the database refused: " in refused.stderr
        assert "Traceback" not in refused.stderr
        assert "hunter2" not in refused.stderr
    # A host name that does not resolve named no setting: "the host refused" (probe EB).
    nowhere = "postgresql://consentd_app:hunter2@no-such-host.invalid:5432/none"
    refused = _run({**env, "DATABASE_URL": nowhere, "CONSENTD_MIGRATION_DATABASE_URL": ""}, "serve")
    assert refused.returncode == 1, refused.stderr
    assert "consentd: the database refused: " in refused.stderr
    assert "check DATABASE_URL" in refused.stderr


def test_the_owners_url_without_the_runtime_url_is_refused(tmp_path: Path) -> None:
    """Probe DN: CONSENTD_MIGRATION_DATABASE_URL set and DATABASE_URL forgotten ran `serve` and
    the admin commands on a new, empty embedded database (made in the data folder, its keys
    too), exit 0: a retention job reported nothing to do, writes went to the wrong database.
    `migrate` alone runs with the owner's URL."""
    data = tmp_path / "data"
    env = {
        "DATABASE_URL": "",
        "CONSENTD_MIGRATION_DATABASE_URL": "postgresql://consentd:x@127.0.0.1:1/none",
        "CONSENTD_DATA_DIR": str(data),
        "CONSENTD_GRPC_ADDRESS": "127.0.0.1:0",
        "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0",
        "CONSENTD_METRICS_ADDRESS": "off",
    }
    for command in (("tenants", "list"), ("retention", "run"), ("serve",)):
        refused = _run(env, *command)
        assert refused.returncode == 2, refused.stderr
        assert "CONSENTD_MIGRATION_DATABASE_URL is set but DATABASE_URL is not" in refused.stderr
    assert not (data / "postgres").exists()


async def test_a_secret_that_does_not_open_an_external_databases_data_is_refused(
    app: App, database_url: str
) -> None:
    """Embedded mode refused a wrong secret; with DATABASE_URL (no owner's URL given) `serve`
    ran beside the data with it, finding nobody by e-mail or phone, filing an acknowledged
    withdrawal under a new subject. It is read through the runtime role: exit 2. Past tenants
    that hold nobody yet too (the first 20 were tried, one at a time from the service)."""
    assert app.admin is not None
    for _ in range(25):
        await app.admin.create_tenant(f"empty-{uuid4().hex[:12]}")
    sealed = await app.admin.create_tenant(f"sealed-{uuid4().hex[:12]}")
    await catalogue(app, sealed)
    await grant(app, sealed, email("sealed@example.com"), targets=(NEWSLETTER,))
    env = _runtime_only(database_url, base64.b64encode(bytes(range(1, 33))).decode())
    refused = await asyncio.to_thread(_run, env, "serve")
    assert refused.returncode == 2, refused.stderr
    assert "CONSENTD_SECRET_KEY does not open the data's keys" in refused.stderr
    assert "serving" not in refused.stderr


async def test_a_wrong_secret_is_refused_once_every_subject_is_erased(
    postgres: EmbeddedPostgres, database_url: str, clock: TestClock
) -> None:
    """Probe DU: the start tried the secret on a stored data key only; once every subject was
    erased none was left, a wrong CONSENTD_SECRET_KEY started, and a system's grant made an
    erased address contactable again (its suppression digest keyed under the right secret).
    An erasure keeps the tenant's secret check as it destroys a key the secret opens, and a
    start that proved the secret gives every tenant without one its check (migration 0050)."""
    name = f"ext_{uuid4().hex[:8]}"
    postgres.create_database(name)
    owner = postgres.url(name)
    await migrate(owner)
    runtime = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    app = bootstrap(Settings(), runtime, TEST_SECRET, clock, owner_url=owner)
    try:
        assert app.admin is not None
        kept, gone, _ = [await app.admin.create_tenant(s) for s in ("kept", "gone", "idle")]
        for tenant in (kept, gone):
            await catalogue(app, tenant)
            await grant(app, tenant, email(f"{tenant.slug}@example.com"), targets=(NEWSLETTER,))
        await app.rights.erase(principal(gone), email("gone@example.com"), "dpo")
        assert await _checked(owner) == {"gone"}  # kept by the erasure

        env = {
            "DATABASE_URL": runtime.replace("postgresql+asyncpg://", "postgresql://"),
            "CONSENTD_MIGRATION_DATABASE_URL": owner,
            "CONSENTD_SECRET_KEY": SECRET,
            "CONSENTD_AUDIT_SIGNING_KEY": SIGNING_KEY,
        }
        listed = await asyncio.to_thread(_run, env, "tenants", "list")
        assert listed.returncode == 0, listed.stderr
        assert await _checked(owner) == {"kept", "gone", "idle"}  # the secret opened a key

        await app.rights.erase(principal(kept), email("kept@example.com"), "dpo")
        wrong = {**env, "CONSENTD_SECRET_KEY": base64.b64encode(bytes(range(1, 33))).decode()}
        refused = await asyncio.to_thread(_run, wrong, "tenants", "list")
        assert refused.returncode == 2, refused.stderr
        assert "CONSENTD_SECRET_KEY does not open the data's keys" in refused.stderr
        again = await asyncio.to_thread(_run, env, "tenants", "list")
        assert again.returncode == 0, again.stderr
        # What the release before reads at start stays as it was: no key, no row (probe DY: a
        # row for a tenant with a check alone crash-looped its rollback).
        engine = create_async_engine(runtime)
        try:
            async with engine.begin() as conn:
                rows = (await conn.execute(sa.text("SELECT * FROM consentd_key_sample()"))).all()
        finally:
            await engine.dispose()
        assert rows == []
    finally:
        await app.aclose()


async def test_serve_on_a_schema_older_than_its_own_says_to_migrate(
    postgres: EmbeddedPostgres, database_url: str
) -> None:
    """Given the runtime role's URL alone (no migration on start), on a database an older
    release migrated: the start's check of the secret met a function the schema does not have
    yet and died with its traceback. It says to migrate, exit 2."""
    name = f"ext_{uuid4().hex[:8]}"
    postgres.create_database(name)
    await asyncio.to_thread(alembic.upgrade, alembic_config(postgres.url(name)), "0048")
    runtime = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    env = _runtime_only(runtime)
    refused = await asyncio.to_thread(_run, env, "serve")
    assert refused.returncode == 2, refused.stderr
    assert "schema is older than this consentd's: migrate it first" in refused.stderr
    assert "Traceback" not in refused.stderr
    # From 0051 the runtime role reads the revision: one migration behind (probe EB: serve
    # started, and an erasure answered INTERNAL on a table the next migration adds) is named.
    await migrate(postgres.url(name))
    latest = await _revision_of(postgres.url(name))
    await _revision_of(postgres.url(name), set_to="0050")
    refused = await asyncio.to_thread(_run, env, "serve")
    assert refused.returncode == 2, refused.stderr
    assert f"schema (0050) is older than this consentd's ({latest}): run `consentd migrate`" in (
        refused.stderr
    )
    # A newer release's revision (a rollback) is served as it is, and said (probe EC: only the
    # owner's path said it).
    await _revision_of(postgres.url(name), set_to="9999_newer")
    said = await _log_until_serving(env)
    assert any("schema_ahead" in line and "9999_newer" in line for line in said), said


async def _revision_of(owner: str, set_to: str | None = None) -> str:
    """The database's alembic revision (set to `set_to` first when given)."""
    engine = create_async_engine(owner)
    try:
        async with engine.begin() as conn:
            if set_to is not None:
                update = sa.text("UPDATE alembic_version SET version_num = :v")
                await conn.execute(update, {"v": set_to})
            found = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            return str(found.scalar_one())
    finally:
        await engine.dispose()


async def _checked(owner: str) -> set[str]:
    """The slugs of the tenants that keep a secret check (read as the owner, a superuser)."""
    engine = create_async_engine(owner)
    try:
        async with engine.connect() as conn:
            query = "SELECT slug FROM tenants JOIN tenant_secret_checks USING (tenant_id)"
            return set((await conn.execute(sa.text(query))).scalars())
    finally:
        await engine.dispose()


def test_a_signing_key_other_than_the_heads_one_is_told() -> None:
    """Probe DN: another CONSENTD_AUDIT_SIGNING_KEY was taken without a word, and `audit
    verify` then read the tree heads as badly signed, like tampering. A rotation is allowed
    (docs/operations.md): a warning, naming both key ids."""
    signer = CheckpointSigner(bytes(range(32, 64)))
    with capture_logs() as logs:
        tell_signing_key(bytes(range(32, 64)), signer.key_id)
        tell_signing_key(bytes(range(32, 64)), None)
    assert logs == []
    with capture_logs() as logs:
        tell_signing_key(bytes(range(32, 64)), "0123456789abcdef")
    assert [(e["event"], e["signed_by"], e["key_id"]) for e in logs] == [
        ("audit_signing_key_changed", "0123456789abcdef", signer.key_id)
    ]


async def test_a_log_signed_by_checkpoints_alone_is_compared_with_the_signing_key(
    postgres: EmbeddedPostgres, database_url: str, clock: TestClock
) -> None:
    """Probe FG: the start compared CONSENTD_AUDIT_SIGNING_KEY with the latest tree head only; a
    tenant signed by `consentd audit checkpoint` alone (below the tree heads' interval) was
    served with another key without a word, and the checkpoint then signed with it failed
    `audit verify` under either key. The latest checkpoint counts too (migration 0052), for the
    runtime role's start as for the owner's."""
    name = f"sig_{uuid4().hex[:8]}"
    postgres.create_database(name)
    owner = postgres.url(name)
    await migrate(owner)
    runtime = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    signing = base64.b64decode(SIGNING_KEY)
    app = bootstrap(Settings(), runtime, TEST_SECRET, clock, owner_url=owner, audit_key=signing)
    try:
        assert app.admin is not None
        tenant = await app.admin.create_tenant("signed")
        await catalogue(app, tenant)
        await grant(app, tenant, email("signed@example.com"), targets=(NEWSLETTER,))
        assert await app.audit.checkpoint(tenant) is not None
    finally:
        await app.aclose()
    other = base64.b64encode(bytes(range(64, 96))).decode()
    env = {**_runtime_only(runtime), "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode()}
    said = await _log_until_serving({**env, "CONSENTD_AUDIT_SIGNING_KEY": other})
    changed = [line for line in said if "audit_signing_key_changed" in line]
    assert len(changed) == 1, said
    assert CheckpointSigner(signing).key_id in changed[0]
    said = await _log_until_serving(env)  # its own key: nothing said
    assert not [line for line in said if "audit_signing_key_changed" in line], said


async def test_serve_on_a_role_that_lost_its_grants_names_them(
    owner_url: str, database_url: str
) -> None:
    """Probe EB: a restore made before the runtime role existed drops the dump's GRANTs; the
    start's key check read through that role first and said "the database refused: permission
    denied", naming the URLs (exit 1). The role is checked first: its grants are named, exit 2."""
    name = f"bare_{uuid4().hex[:8]}"
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'"))
        bare = make_url(database_url).set(username=name, password="pw")
        env = _runtime_only(bare.render_as_string(hide_password=False))
        refused = await asyncio.to_thread(_run, env, "serve")
        assert refused.returncode == 2, refused.stderr
        assert "has not been granted the tables" in refused.stderr
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"DROP ROLE IF EXISTS {name}"))
        await engine.dispose()


async def test_serve_with_the_owners_url_on_a_read_only_database_serves_reads(
    postgres: EmbeddedPostgres, database_url: str
) -> None:
    """Probe EC: a read-only database (a standby, default_transaction_read_only) stopped a
    start given the owner's URL, "the database refused: cannot execute INSERT" (creating the
    default tenant), exit 1; with the runtime role's URL alone it served. It serves (reads;
    health says NOT_SERVING) and warns that the default tenant was not created."""
    name = f"ro_{uuid4().hex[:8]}"
    read_only = f"ALTER DATABASE {name} SET default_transaction_read_only = on"
    owner, runtime = await _migrated_with(postgres, database_url, name, read_only)
    said = await _log_until_serving(
        {**_runtime_only(runtime), "CONSENTD_MIGRATION_DATABASE_URL": owner}
    )
    assert any("default_tenant_not_created" in line for line in said), said


async def _log_until_serving(env: dict[str, str]) -> list[str]:
    """serve's log lines up to `serving`; then it is stopped."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "consentd", "serve", env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    said: list[str] = []
    try:
        assert child.stderr is not None
        async with asyncio.timeout(60):
            while not any('"serving"' in line for line in said):
                line = (await child.stderr.readline()).decode()
                assert line, f"serve ended: {''.join(said)}"
                said.append(line)
        return said
    finally:
        child.terminate()
        await child.wait()


async def test_a_start_missing_one_function_grant_names_it(
    postgres: EmbeddedPostgres, database_url: str
) -> None:
    """Probe EC: the runtime role lacking only the start's own read (a function's EXECUTE) was
    told "the database refused: permission denied ... check host, port, user, password", exit
    1. It is told its grants, exit 2."""
    revoke = "REVOKE EXECUTE ON FUNCTION consentd_secret_check() FROM consentd_app"
    _, runtime = await _migrated_with(postgres, database_url, f"fn_{uuid4().hex[:8]}", revoke)
    refused = await asyncio.to_thread(_run, _runtime_only(runtime), "serve")
    assert refused.returncode == 2, refused.stderr
    assert "has not been granted what the start reads" in refused.stderr


async def _migrated_with(
    postgres: EmbeddedPostgres, database_url: str, name: str, statement: str
) -> tuple[str, str]:
    """A database of its own, migrated, then `statement` run as its owner: the owner's and the
    runtime role's URLs."""
    postgres.create_database(name)
    owner = postgres.url(name)
    await migrate(owner)
    engine = create_async_engine(owner)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()
    runtime = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    return owner, runtime
