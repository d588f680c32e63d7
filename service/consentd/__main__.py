"""The `consentd` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Any

from consentd.bootstrap import App, bootstrap
from consentd.config import ConfigError, Settings
from consentd.domain.audit import stamp
from consentd.domain.breach import Window
from consentd.logs import configure_logging
from consentd.runtime import database, ensure_tenant, probe_health, serve
from consentd.store.database import migrate

EXAMPLES = """examples:
  consentd serve                          # embedded PostgreSQL, gRPC on 127.0.0.1:50051
  DATABASE_URL=postgresql+asyncpg://u:p@db/consentd CONSENTD_SECRET_KEY=... consentd serve
  consentd migrate                        # upgrade the database to the latest schema
  consentd tenants create acme            # create a tenant (idempotent)
  consentd health --address 127.0.0.1:50051   # exit 0 when the server reports SERVING
  consentd audit verify --tenant acme     # recompute acme's audit chain; exit 1 if tampered
  consentd audit checkpoint --tenant acme # sign acme's chain head; print the proof as JSON
  consentd retention run --dry-run        # what retention would delete, per tenant and category
  consentd breach scope --since 2026-03-01T00:00:00Z --until 2026-03-02T00:00:00Z
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
    health = commands.add_parser("health", help="probe a running server's gRPC health")
    health.add_argument(
        "--address", default=None, help="host:port (default: CONSENTD_GRPC_ADDRESS)"
    )
    tenants = commands.add_parser("tenants", help="manage tenants")
    tenant_commands = tenants.add_subparsers(dest="tenant_command", required=True)
    create = tenant_commands.add_parser("create", help="create a tenant (idempotent)")
    create.add_argument("slug", help="short name: a-z, 0-9 and '-', starting with a letter")
    audit = commands.add_parser("audit", help="verify and sign tenants' audit chains")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    for name, text in (
        ("verify", "recompute a tenant's chain; exit 1 naming the first bad entry"),
        ("checkpoint", "sign a tenant's chain head and print the proof (JSON)"),
    ):
        sub = audit_commands.add_parser(name, help=text)
        sub.add_argument("--tenant", required=True, help="tenant slug")
    retention = commands.add_parser("retention", help="enforce the retention limits")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_commands.add_parser("run", help="run the retention job once (JSON report)")
    run.add_argument("--dry-run", action="store_true", help="report what would go; change nothing")
    run.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
    run.add_argument("--pause", type=float, default=0.0, help="seconds between batches")
    breach = commands.add_parser("breach", help="breach scoping for the 48-hour notice")
    breach_commands = breach.add_subparsers(dest="breach_command", required=True)
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


async def _with_app(settings: Settings, work: Any) -> int:
    """Run `work(app)` against the configured database (migrated first, like serve)."""
    async with database(settings) as db:
        if settings.migrate_on_start:
            await migrate(db.url, settings.migrations_dir)
        app = bootstrap(settings, db.url, db.secret_key, audit_key=db.audit_key)
        try:
            code: int = await work(app)
        finally:
            await app.aclose()
    return code


async def _tenant(app: App, slug: str) -> Any:
    tenant = await app.tenants.by_slug(slug)
    if tenant is None:
        raise ConfigError(f"no tenant {slug!r}")
    return tenant


def _print(document: Any) -> None:
    print(json.dumps(document, indent=2, sort_keys=True, default=str))


async def _audit(app: App, args: argparse.Namespace) -> int:
    tenant = await _tenant(app, args.tenant)
    if args.audit_command == "verify":
        report = await app.audit.verify(tenant)
        _print({"tenant": tenant.slug, **asdict(report)})
        return 0 if report.ok else 1
    checkpoint = await app.audit.checkpoint(tenant)
    _print(checkpoint.proof(app.audit.public_key) if checkpoint else {"tenant": tenant.slug})
    return 0


async def _retention(app: App, args: argparse.Namespace) -> int:
    report = await app.retention.run(
        dry_run=args.dry_run, batch_size=args.batch_size, pause=args.pause
    )
    _print({**asdict(report), "ran_at": stamp(report.ran_at)})
    return 3 if report.locked_out else 0


async def _breach(app: App, args: argparse.Namespace) -> int:
    tenants = [await _tenant(app, slug) for slug in args.tenant] or await app.tenants.all()
    scopes = await app.audit.scope_breach(tenants, Window(args.since, args.until))
    _print(
        {
            "since": stamp(args.since),
            "until": stamp(args.until),
            "tenants": [asdict(s) for s in scopes],
        }
    )
    return 0


async def _migrate(settings: Settings) -> None:
    async with database(settings) as db:
        await migrate(db.url, settings.migrations_dir)


async def _create_tenant(settings: Settings, slug: str) -> None:
    async with database(settings) as db:
        await migrate(db.url, settings.migrations_dir)
        app = bootstrap(settings, db.url, db.secret_key, audit_key=db.audit_key)
        try:
            tenant = await ensure_tenant(app, slug)
        finally:
            await app.aclose()
    print(f"tenant {tenant.slug} {tenant.tenant_id}")


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
        elif args.command == "tenants":
            asyncio.run(_create_tenant(settings, args.slug))
        else:
            command = {"audit": _audit, "retention": _retention, "breach": _breach}[args.command]
            return asyncio.run(_with_app(settings, lambda app: command(app, args)))
    except ConfigError as error:
        print(f"consentd: configuration error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
