"""The `consentd` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App, bootstrap, utc_now
from consentd.config import ConfigError, Settings
from consentd.domain.audit import stamp
from consentd.domain.breach import Window
from consentd.domain.errors import ConsentError
from consentd.domain.model import ProcessingRole
from consentd.domain.tenancy import Scope
from consentd.logs import configure_logging
from consentd.runtime import database, probe_health, read_local_key, serve
from consentd.store.database import UnsafeRuntimeRole, check_runtime_role, migrate

EXAMPLES = """examples:
  consentd serve                              # embedded PostgreSQL, gRPC on 127.0.0.1:50051
  consentd local-key                          # the embedded mode's admin key for tenant `local`
  consentd migrate                            # upgrade the database to the latest schema
  consentd tenants create acme --role controller
  consentd keys create acme --scope consent:check --name "campaign sender"
  consentd keys list acme
  consentd keys revoke acme 6xw2kq4ebq7s3p2a
  consentd issuers put acme --issuer https://portal.acme.example --audience consentd \\
      --public-key portal-es256.pub.pem       # trust the portal's subject:self tokens
  consentd retention run --dry-run            # what retention would delete, per tenant
  consentd retention run                      # every retention limit, cookie choices included
  consentd purge                              # the cookie-choice part of it alone
  consentd audit verify --tenant acme         # recompute acme's audit chain; exit 1 if tampered
  consentd audit checkpoint --tenant acme     # sign acme's chain head; print the proof as JSON
  consentd breach scope --since 2026-03-01T00:00:00Z --until 2026-03-02T00:00:00Z
  consentd health --address 127.0.0.1:50051   # exit 0 when the server reports SERVING
With DATABASE_URL (runtime role) set, admin commands need CONSENTD_MIGRATION_DATABASE_URL (owner).
"""
SCOPES = [s.value for s in Scope if s is not Scope.SELF]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="consentd",
        description="Consent, cookie choices and opt-outs with proof, over gRPC.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the gRPC service (embedded PostgreSQL by default)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    commands.add_parser("local-key", help="print the embedded mode's admin key")
    purge = commands.add_parser(
        "purge",
        help="retention's cookie category alone: delete choices past their expiry, keeping "
        "only counts (safe to rerun; the retention job's lock)",
    )
    purge.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="rows per transaction (CONSENTD_PURGE_BATCH_SIZE)",
    )
    health = commands.add_parser("health", help="probe a running server's gRPC health")
    health.add_argument(
        "--address", default=None, help="host:port (default: CONSENTD_GRPC_ADDRESS)"
    )
    tenants = commands.add_parser("tenants", help="manage tenants").add_subparsers(
        dest="action", required=True
    )
    create = tenants.add_parser("create", help="create a tenant (idempotent)")
    create.add_argument("slug", help="a-z, 0-9 and '-', starting with a letter")
    create.add_argument("--name", default="")
    create.add_argument("--role", choices=[r.value for r in ProcessingRole], default="processor")
    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    issue = keys.add_parser("create", help="issue a key (printed once, stored hashed)")
    issue.add_argument("slug")
    issue.add_argument("--scope", action="append", choices=SCOPES, required=True)
    issue.add_argument("--name", default="")
    issue.add_argument("--expires-days", type=int, default=None)
    keys.add_parser("list", help="list a tenant's keys (never the secrets)").add_argument("slug")
    revoke = keys.add_parser("revoke", help="revoke a key (effective within 5 s)")
    revoke.add_argument("slug")
    revoke.add_argument("key_id")
    issuers = commands.add_parser("issuers", help="portal token issuers").add_subparsers(
        dest="action", required=True
    )
    put = issuers.add_parser("put", help="trust an issuer's ES256/RS256 public key")
    put.add_argument("slug")
    put.add_argument("--issuer", required=True)
    put.add_argument("--audience", required=True)
    put.add_argument("--public-key", type=Path, required=True)
    audit = commands.add_parser("audit", help="verify and sign tenants' audit chains")
    audit_commands = audit.add_subparsers(dest="action", required=True)
    for name, text in (
        ("verify", "recompute a tenant's chain; exit 1 naming the first bad entry"),
        ("checkpoint", "sign a tenant's chain head and print the proof (JSON)"),
    ):
        sub = audit_commands.add_parser(name, help=text)
        sub.add_argument("--tenant", required=True, help="tenant slug")
    retention = commands.add_parser("retention", help="enforce the retention limits")
    retention_commands = retention.add_subparsers(dest="action", required=True)
    run = retention_commands.add_parser(
        "run", help="run the retention job once, every category and tenant (JSON report)"
    )
    run.add_argument("--dry-run", action="store_true", help="report what would go; change nothing")
    run.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
    run.add_argument("--pause", type=float, default=0.0, help="seconds between batches")
    breach = commands.add_parser("breach", help="breach scoping for the 48-hour notice")
    breach_commands = breach.add_subparsers(dest="action", required=True)
    scope = breach_commands.add_parser(
        "scope", help="subjects and data categories a window touched"
    )
    scope.add_argument("--since", required=True, type=_when, help="ISO 8601 time with zone")
    scope.add_argument("--until", required=True, type=_when, help="ISO 8601 time with zone")
    scope.add_argument("--tenant", action="append", default=[], help="slug (repeat; default all)")
    return parser


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-03-01T00:00:00Z")
    return moment


async def _with_app(settings: Settings, work: Callable[[App], Awaitable[int]]) -> int:
    """Run `work(app)` with the owner's URL (tenants are listed and found as the owner; each
    tenant's work runs as the runtime role under row-level security)."""
    async with database(settings) as db:
        if db.owner_url is None:
            raise ConfigError(
                "set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL): this command lists tenants"
            )
        app = bootstrap(
            settings, db.url, db.secret_key, owner_url=db.owner_url, audit_key=db.audit_key
        )
        try:
            return await work(app)
        finally:
            await app.aclose()


def _print(document: Any) -> None:
    print(json.dumps(document, indent=2, sort_keys=True, default=str))


def _proof_work(args: argparse.Namespace) -> Callable[[App], Awaitable[int]]:
    """`audit`, `retention` and `breach`: the work each does with the app."""

    async def audit(app: App) -> int:
        assert app.admin is not None
        tenant = await app.admin.tenant(args.tenant)
        if args.action == "verify":
            report = await app.audit.verify(tenant)
            _print({"tenant": tenant.slug, **asdict(report)})
            return 0 if report.ok else 1
        checkpoint = await app.audit.checkpoint(tenant)
        _print(checkpoint.proof(app.audit.public_key) if checkpoint else {"tenant": tenant.slug})
        return 0

    async def retention(app: App) -> int:
        assert app.retention is not None
        await check_runtime_role(app.engine)  # the deletes run under row-level security
        report = await app.retention.run(
            dry_run=args.dry_run, batch_size=args.batch_size, pause=args.pause
        )
        _print({**asdict(report), "ran_at": stamp(report.ran_at)})
        return 3 if report.locked_out else 0

    async def breach(app: App) -> int:
        assert app.admin is not None
        names = args.tenant
        tenants = [await app.admin.tenant(slug) for slug in names] or await app.admin.tenants()
        scopes = await app.audit.scope_breach(tenants, Window(args.since, args.until))
        _print(
            {
                "since": stamp(args.since),
                "until": stamp(args.until),
                "tenants": [asdict(s) for s in scopes],
            }
        )
        return 0

    return {"audit": audit, "retention": retention, "breach": breach}[args.command]


async def _with_admin(settings: Settings, work: Callable[[AdminUseCases], Awaitable[None]]) -> None:
    async with database(settings) as db:
        if db.owner_url is None:
            raise ConfigError(
                "set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL) for admin commands"
            )
        app = bootstrap(
            settings, db.url, db.secret_key, owner_url=db.owner_url, audit_key=db.audit_key
        )
        try:
            assert app.admin is not None
            await work(app.admin)
        finally:
            await app.aclose()


async def _migrate(settings: Settings) -> None:
    """Upgrade to the latest schema as the owner, whatever CONSENTD_MIGRATE_ON_START says."""
    async with database(settings) as db:
        if db.owner_url is None:
            raise ConfigError("set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL) to migrate")
        await migrate(db.owner_url, settings.migrations_dir)
    print("database at the latest schema")


def _admin_action(args: argparse.Namespace) -> Callable[[AdminUseCases], Awaitable[None]]:
    async def run(admin: AdminUseCases) -> None:
        if args.command == "tenants":
            tenant = await admin.create_tenant(args.slug, args.name, ProcessingRole(args.role))
            print(f"tenant {tenant.slug} {tenant.tenant_id} {tenant.processing_role.value}")
        elif args.command == "issuers":
            pem = args.public_key.read_text()
            await admin.put_issuer(args.slug, args.issuer, args.audience, pem)
            print(f"issuer {args.issuer} trusted for {args.slug}")
        elif args.action == "create":
            expires = utc_now() + timedelta(days=args.expires_days) if args.expires_days else None
            key, stored = await admin.issue_key(args.slug, args.scope, args.name, expires)
            print(f"key_id {stored.key_id} scopes {','.join(sorted(stored.scopes))}")
            print(f"key {key.token}")
            print("(shown once: store it now; consentd keeps only its SHA-256)", file=sys.stderr)
        elif args.action == "list":
            for k in await admin.keys(args.slug):
                state = "revoked" if k.revoked_at else "live"
                print(
                    f"{k.key_id} {state} {','.join(sorted(k.scopes))} {k.name!r} "
                    f"expires={k.expires_at}"
                )
        else:
            await admin.revoke_key(args.slug, args.key_id)
            print(f"key {args.key_id} revoked")

    return run


async def _purge(settings: Settings) -> None:
    """The cookie category of retention for every tenant: the tenant list is the owner's to
    read, each tenant's deletes run as the runtime role inside that tenant (row-level security
    holds). It takes the retention job's lock: never at once with `consentd retention run`."""
    async with database(settings) as db:
        if db.owner_url is None:
            raise ConfigError(
                "set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL): the purge lists tenants"
            )
        app = bootstrap(
            settings, db.url, db.secret_key, owner_url=db.owner_url, audit_key=db.audit_key
        )
        try:
            await check_runtime_role(app.engine)  # the deletes run under row-level security
            assert app.cookie_purge is not None
            report = await app.cookie_purge.run()
        finally:
            await app.aclose()
    if report.skipped:
        print("purge skipped: another purge or retention run holds the lock")
        return
    for done in report.tenants:
        print(
            f"tenant {done.tenant_slug}: {done.choices_deleted} choices and "
            f"{done.visitors_deleted} visitors deleted"
            + (
                f", {done.interrupted_runs} interrupted run(s) closed"
                if done.interrupted_runs
                else ""
            )
        )
    print(f"purge done: {report.choices_deleted} choices, {report.visitors_deleted} visitors")


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        with asyncio.Runner(loop_factory=_loop_factory(settings)) as runner:
            runner.run(serve(settings))
    elif args.command == "health":
        return asyncio.run(probe_health(args.address or settings.grpc_address))
    elif args.command == "local-key":
        print(read_local_key(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "purge":
        if args.batch_size is not None:
            if args.batch_size < 1:
                raise ConfigError("--batch-size must be at least 1")
            settings = replace(settings, purge_batch_size=args.batch_size)
        asyncio.run(_purge(settings))
    elif args.command in ("audit", "retention", "breach"):
        return asyncio.run(_with_app(settings, _proof_work(args)))
    else:
        asyncio.run(_with_admin(settings, _admin_action(args)))
    return 0


def _loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop unless CONSENTD_EVENT_LOOP=asyncio: its loop costs grpc.aio and asyncpg less CPU
    per call (see bench/campaign.py)."""
    if settings.event_loop == "asyncio":
        return None
    import uvloop  # noqa: PLC0415 - only the server needs it, and only when chosen

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        configure_logging(settings.log_level, settings.log_format)
        return _dispatch(args, settings)
    except (ConfigError, UnsafeRuntimeRole) as error:
        print(f"consentd: configuration error: {error}", file=sys.stderr)
        return 2
    except ConsentError as error:
        print(f"consentd: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
