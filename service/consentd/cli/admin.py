"""Administration commands: migrate, tenants, keys, issuers, audit, retention, purge, breach."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from consentd.app.admin import AdminUseCases
from consentd.app.retention import FAILED
from consentd.bootstrap import App, bootstrap, utc_now
from consentd.cli.progress import Progress
from consentd.cli.proofs import proof_document
from consentd.config import ConfigError, Settings
from consentd.domain.breach import Window
from consentd.domain.canonical import stamp
from consentd.domain.errors import FailedPrecondition, InvalidInput
from consentd.domain.model import ProcessingRole
from consentd.domain.tenancy import Scope, Tenant
from consentd.runtime import database
from consentd.store.database import migrate
from consentd.store.imports import refresh_statistics
from consentd.store.runtime_role import check_runtime_role


async def with_app(settings: Settings, work: Callable[[App], Awaitable[int]], why: str) -> int:
    """Run `work(app)` with the owner's URL (tenants are listed and found as the owner; each
    tenant's work runs as the runtime role under row-level security)."""
    if settings.database_url and not settings.migration_database_url:
        raise ConfigError(f"set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL): {why}")
    async with database(settings) as db:
        if db.owner_url is None:
            raise ConfigError(f"set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL): {why}")
        app = bootstrap(
            settings, db.url, db.secret_key, owner_url=db.owner_url, audit_key=db.audit_key
        )
        try:
            return await work(app)
        finally:
            await app.aclose()


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, sort_keys=True, default=str))


def proof_work(args: argparse.Namespace) -> Callable[[App], Awaitable[int]]:
    """`audit`, `retention` and `breach`: the work each does with the app."""

    async def audit(app: App) -> int:
        assert app.admin is not None
        tenant = await app.admin.tenant(args.tenant)
        if args.action == "verify":
            # Fresh planner statistics first (the owner's): a tenant they did not know yet was
            # planned as loops over whole tables, 62,000 facts past 300 s, 3 s after (SA).
            if app.owner_engine is not None:
                await refresh_statistics(app.owner_engine)
            report = await app.audit.verify(tenant)
            print_json({"tenant": tenant.slug, **asdict(report)})
            return 0 if report.ok else 1
        if args.action in ("tree-head", "prove", "evidence"):
            print_json(await proof_document(app, tenant, args))
            return 0
        # Under the key that signed it, not the current one (probe YB: after a rotation).
        made = await app.audit.checkpoint(tenant)
        print_json(
            made.proof(app.audit.public_key_of(made.key_id)) if made else {"tenant": tenant.slug}
        )
        return 0

    async def retention(app: App) -> int:
        assert app.retention is not None
        await check_runtime_role(app.engine)  # the deletes run under row-level security
        with Progress("retention", unit="tenants") as progress:
            report = await app.retention.run(
                dry_run=args.dry_run,
                batch_size=args.batch_size,
                pause=args.pause,
                progress=progress.update,
            )
        print_json({**asdict(report), "ran_at": stamp(report.ran_at)})
        if report.locked_out:  # said as `consentd purge` says it (only the JSON did; probe UC)
            print(SKIPPED.format("retention run"), file=sys.stderr)
            return 3
        return 1 if any(t.status == FAILED for t in report.tenants) else 0

    if args.command == "breach":
        return lambda app: (breach_subjects if args.action == "subjects" else breach_scope)(
            app, args
        )
    return {"audit": audit, "retention": retention}[args.command]


async def breach_scope(app: App, args: argparse.Namespace) -> int:
    """Per tenant (all by default): subjects touched and held, rows per category, as JSON."""
    assert app.admin is not None
    names = list(dict.fromkeys(args.tenant))  # named twice: counted once (probe XB)
    tenants = [await app.admin.tenant(slug) for slug in names] or await app.admin.tenants()
    scopes = await app.audit.scope_breach(tenants, Window(args.since, args.until))
    print_json(
        {
            "since": stamp(args.since),
            "until": stamp(args.until),
            "tenants": [asdict(s) for s in scopes],
        }
    )
    return 0


async def breach_subjects(app: App, args: argparse.Namespace) -> int:
    """Every subject the window touched, a page at a time, as CSV on stdout (ids only)."""
    assert app.admin is not None
    tenant = await app.admin.tenant(args.tenant)
    window = Window(args.since, args.until)
    # The first page read before any line: a refusal (a purged tenant) writes none (probe GE).
    page = await app.audit.breach_subjects(tenant, window, 50_000, "", most=50_000)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(("subject_id", "erased_at", "categories"))
    while True:
        for s in page.items:
            erased = stamp(s.erased_at) if s.erased_at else ""
            out.writerow((s.subject_id, erased, " ".join(s.categories)))
        if not (token := page.next_page_token):
            return 0
        page = await app.audit.breach_subjects(tenant, window, 50_000, token, most=50_000)


async def run_migrations(settings: Settings) -> None:
    """Upgrade to the latest schema as the owner, whatever CONSENTD_MIGRATE_ON_START says. With
    the owner's URL alone (a migration Job) nothing else is needed: no runtime URL, no keys."""
    if settings.migration_database_url:
        _migrated(*await migrate(settings.migration_database_url, settings.migrations_dir))
        return
    async with database(settings) as db:
        if db.owner_url is None:
            raise ConfigError("set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL) to migrate")
        before, after = await migrate(db.owner_url, settings.migrations_dir)
        # Embedded, the open migrated already: what it found (it said "nothing", probe TB).
        _migrated(db.schema_before if db.home is not None else before, after)


def _migrated(before: str | None, after: str | None) -> None:
    """What `consentd migrate` did (it said the same line whether it applied ten migrations or
    none: probe EB)."""
    if before == after:
        print(f"database at the latest schema ({after}): nothing to migrate")
    else:
        print(f"database at the latest schema: migrated from {before or 'empty'} to {after}")


def admin_action(args: argparse.Namespace) -> Callable[[App], Awaitable[int]]:
    async def run(app: App) -> int:
        assert app.admin is not None
        await _administer(app.admin, args)
        return 0

    return run


async def _administer(admin: AdminUseCases, args: argparse.Namespace) -> None:
    if args.command == "tenants":
        await _tenants(admin, args)
    elif args.command == "issuers" and args.action == "list":
        for issuer in await admin.issuers(args.slug):
            print(f"{issuer.issuer} audience={issuer.audience}")
    elif args.command == "issuers" and args.action == "remove":
        await admin.remove_issuer(args.slug, args.issuer)
        print(f"issuer {args.issuer} no longer trusted for {args.slug}")
    elif args.command == "issuers":
        pem = _pem(args.public_key)
        await admin.put_issuer(args.slug, args.issuer, args.audience, pem)
        print(f"issuer {args.issuer} trusted for {args.slug}")
    elif args.action == "create":
        expires = (
            utc_now() + timedelta(days=args.expires_days) if args.expires_days is not None else None
        )
        if sys.stdout is None:  # started with stdout closed (>&-): print() wrote nowhere (YA)
            raise FailedPrecondition("stdout is closed: the new key would be shown to nobody")
        key, stored = await admin.issue_key(args.slug, args.scope, args.name, expires)
        try:
            print(f"key_id {stored.key_id} scopes {','.join(sorted(stored.scopes))}")
            print(f"key {key.token}", flush=True)
        except OSError as error:  # a full disk, a closed pipe: nobody holds it (probe XB)
            await admin.revoke_key(args.slug, stored.key_id)
            raise FailedPrecondition(
                f"the new key could not be written out ({error.strerror or error}): it was "
                f"revoked at once ({stored.key_id}); run the command again with a writable output"
            ) from None
        print("(shown once: store it now; consentd keeps only its SHA-256)", file=sys.stderr)
        if Scope.ATTEST in stored.scopes and not stored.scopes & {Scope.WRITE, Scope.ADMIN}:
            # Probe IK: accepted without a word, read as letting a support desk record a STOP.
            print(
                "note: consent:attest counts only on writes, which this key cannot make "
                "(add --scope consent:write)",
                file=sys.stderr,
            )
    elif args.action == "list":
        for k in await admin.keys(args.slug):
            state = "revoked" if k.revoked_at else "live"
            print(
                f"{k.key_id} {state} {','.join(sorted(k.scopes))} {k.name!r} expires={k.expires_at}"
            )
    else:
        await admin.revoke_key(args.slug, args.key_id)
        print(f"key {args.key_id} revoked")


# Said when the retention job's lock is held by another run (exit 3).
SKIPPED = "{} skipped: another purge or retention run holds the lock"


async def purge(app: App) -> int:
    """The cookie category of retention for every tenant: the tenant list is the owner's to
    read, each tenant's deletes run as the runtime role inside that tenant (row-level security
    holds). It takes the retention job's lock: never at once with `consentd retention run`."""
    await check_runtime_role(app.engine)  # the deletes run under row-level security
    assert app.cookie_purge is not None
    with Progress("purge", unit="tenants") as progress:
        report = await app.cookie_purge.run(progress=progress.update)
    if report.skipped:  # as `retention run`'s (exit 0 read as done to cron; probe QA)
        print(SKIPPED.format("purge"))
        return 3
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
    return 0


async def _tenants(admin: AdminUseCases, args: argparse.Namespace) -> None:
    if args.action == "list":
        for known in await admin.tenants():  # the slugs `audit verify --tenant` names, daily
            print(_tenant_line(known, " purged" if known.purged else ""))
        return
    if args.action == "rights-desk":
        await _rights_desk(admin, args)
        return
    if args.action == "rename":
        tenant = await admin.rename_tenant(args.slug, args.name)
    else:
        role = ProcessingRole(args.role) if args.role else None
        tenant = await admin.create_tenant(args.slug, args.name, role)
    purged = " (purged: its contract ended, its callers are refused)" if tenant.purged else ""
    print(_tenant_line(tenant, purged))


async def _rights_desk(admin: AdminUseCases, args: argparse.Namespace) -> None:
    """Set, remove or show the tenant's rights desk (rights_desk.py)."""
    if args.off and args.address:
        raise InvalidInput("address", "give an address or --off, not both")
    if args.off or args.address:
        kept = await admin.set_rights_desk(args.slug, None if args.off else args.address)
    else:
        kept = await admin.rights_desk(args.slug)
    if kept is None:
        print(f"{args.slug}: no rights desk (no digest is mailed)")
        return
    print(f"{args.slug}: rights desk {kept}, mailed each day after 08:00 Paris time when a request")
    print("  is late, due within 7 days or new (by a serving process with the owner's URL and an")
    print("  SMTP relay: CONSENTD_SMTP_HOST)")


def _tenant_line(tenant: Tenant, note: str = "") -> str:
    """`tenant <slug> <id> <role>[ purged] "<name>"`: the name its mails and pages show,
    quoted, last (the fields before it keep their places)."""
    name = json.dumps(tenant.name, ensure_ascii=False)
    return f"tenant {tenant.slug} {tenant.tenant_id} {tenant.processing_role.value}{note} {name}"


# A PEM public key is a few hundred bytes; /dev/zero was read whole (23 GB, the host's OOM
# killer; probe XB).
MAX_PEM_BYTES = 64 * 1024


def _pem(path: Path) -> str:
    """The PEM text of `--public-key`, MAX_PEM_BYTES at most. Raises InvalidInput."""
    try:
        with path.open("rb") as source:
            raw = source.read(MAX_PEM_BYTES + 1)
        if len(raw) > MAX_PEM_BYTES:
            raise InvalidInput(
                "--public-key", f"{path} is over {MAX_PEM_BYTES // 1024} KiB: not a public key"
            )
        return raw.decode()
    except (OSError, UnicodeDecodeError) as error:  # missing, a folder, not text
        reason = getattr(error, "strerror", None) or "not a PEM text file"
        raise InvalidInput("--public-key", f"cannot read {path}: {reason}") from None
