"""The `consentd` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import bootstrap, utc_now
from consentd.config import ConfigError, Settings
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
  consentd purge                              # delete cookie choices past their expiry
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
        help="delete cookie choices past their expiry, keeping only counts (safe to rerun)",
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
    return parser


async def _with_admin(settings: Settings, work: Callable[[AdminUseCases], Awaitable[None]]) -> None:
    async with database(settings) as db:
        if db.owner_url is None:
            raise ConfigError(
                "set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL) for admin commands"
            )
        app = bootstrap(settings, db.url, db.secret_key, owner_url=db.owner_url)
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
    """Purge every tenant: the tenant list is the owner's to read, each tenant's deletes run as
    the runtime role inside that tenant (row-level security holds)."""
    async with database(settings) as db:
        if db.owner_url is None:
            raise ConfigError(
                "set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL): the purge lists tenants"
            )
        app = bootstrap(settings, db.url, db.secret_key, owner_url=db.owner_url)
        try:
            await check_runtime_role(app.engine)  # the deletes run under row-level security
            assert app.retention is not None
            report = await app.retention.purge()
        finally:
            await app.aclose()
    if report.skipped:
        print("purge skipped: another purge is running (it holds the lock)")
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
        asyncio.run(serve(settings))
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
    else:
        asyncio.run(_with_admin(settings, _admin_action(args)))
    return 0


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
