"""The `consentd` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import replace

from consentd.bootstrap import bootstrap
from consentd.config import ConfigError, Settings
from consentd.logs import configure_logging
from consentd.runtime import database, ensure_tenant, probe_health, serve
from consentd.store.database import migrate

EXAMPLES = """examples:
  consentd serve                          # embedded PostgreSQL, gRPC on 127.0.0.1:50051
  DATABASE_URL=postgresql+asyncpg://u:p@db/consentd CONSENTD_SECRET_KEY=... consentd serve
  consentd migrate                        # upgrade the database to the latest schema
  consentd tenants create acme            # create a tenant (idempotent)
  consentd purge                          # delete cookie choices past their expiry
  consentd health --address 127.0.0.1:50051   # exit 0 when the server reports SERVING
"""


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
    tenants = commands.add_parser("tenants", help="manage tenants")
    tenant_commands = tenants.add_subparsers(dest="tenant_command", required=True)
    create = tenant_commands.add_parser("create", help="create a tenant (idempotent)")
    create.add_argument("slug", help="short name: a-z, 0-9 and '-', starting with a letter")
    return parser


async def _migrate(settings: Settings) -> None:
    async with database(settings) as db:
        await migrate(db.url, settings.migrations_dir)


async def _create_tenant(settings: Settings, slug: str) -> None:
    async with database(settings) as db:
        await migrate(db.url, settings.migrations_dir)
        app = bootstrap(settings, db.url, db.secret_key)
        try:
            tenant = await ensure_tenant(app, slug)
        finally:
            await app.aclose()
    print(f"tenant {tenant.slug} {tenant.tenant_id}")


async def _purge(settings: Settings) -> None:
    async with database(settings) as db:
        if settings.migrate_on_start:
            await migrate(db.url, settings.migrations_dir)
        app = bootstrap(settings, db.url, db.secret_key)
        try:
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        configure_logging(settings.log_level, settings.log_format)
        if args.command == "serve":
            asyncio.run(serve(settings))
        elif args.command == "health":
            return asyncio.run(probe_health(args.address or settings.grpc_address))
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
        elif args.command == "purge":
            if args.batch_size is not None:
                if args.batch_size < 1:
                    raise ConfigError("--batch-size must be at least 1")
                settings = replace(settings, purge_batch_size=args.batch_size)
            asyncio.run(_purge(settings))
        else:
            asyncio.run(_create_tenant(settings, args.slug))
    except ConfigError as error:
        print(f"consentd: configuration error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
