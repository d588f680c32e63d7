"""The argparse tree of `consentd`: every command, its options and its examples."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from uuid import UUID

from consentd.domain.model import ProcessingRole
from consentd.domain.tenancy import Scope

EXAMPLES = """examples:
  consentd serve                              # embedded PostgreSQL, gRPC on 127.0.0.1:50051
  consentd serve --workers 4                  # 4 processes on one port (SO_REUSEPORT)
  consentd local-key                          # the embedded mode's admin key for tenant `local`
  consentd migrate                            # upgrade the database to the latest schema
  consentd tenants create acme --role controller
  consentd keys create acme --scope consent:check --name "campaign sender"
  consentd keys list acme
  consentd keys revoke acme 6xw2kq4ebq7s3p2a
  consentd issuers put acme --issuer https://portal.acme.example --audience consentd \\
      --public-key portal-es256.pub.pem       # trust the portal's subject:self tokens
  consentd import consents crm.csv --tenant acme --check   # validate only, report bad rows
  consentd import consents crm.csv --tenant acme           # import; rerun resumes after a kill
  consentd export suppressions --tenant acme --purpose newsletter --channel email \
      --out suppress.csv                      # who must not be e-mailed; rerun resumes
  consentd retention run --dry-run            # what retention would delete, per tenant
  consentd retention run                      # every retention limit, cookie choices included
  consentd purge                              # the cookie-choice part of it alone
  consentd audit verify --tenant acme         # recompute acme's audit chain; exit 1 if tampered
  consentd audit checkpoint --tenant acme     # sign acme's chain head; print the proof as JSON
  consentd breach scope --since 2026-03-01T00:00:00Z --until 2026-03-02T00:00:00Z
  consentd health --address 127.0.0.1:50051   # exit 0 when the server reports SERVING
With DATABASE_URL (runtime role) set, admin commands need CONSENTD_MIGRATION_DATABASE_URL (owner).
Run `consentd COMMAND --help` for a command's options and examples; docs/operations.md for
deployment.
"""
IMPORT_TEXT = """Import consents collected elsewhere.

Every row is validated before the first is written; errors name the line and the column, never
the value. Rows are written in batches through the RecordConsent/WithdrawConsent use cases
(audit entries, change feed, blocks), each batch in one transaction with the file's checkpoint:
rerunning the same file after a crash resumes after the last committed batch and never imports
a row twice. Do not edit a partly imported file: the checkpoint is keyed by its SHA-256.

"""
SCOPES = [s.value for s in Scope if s is not Scope.SELF]
IMPORT_COLUMNS = """columns (a header row; any order; an unknown column is refused):
  email | phone | external_id  exactly one per row: the person's contact point or your id
  purpose                      a purpose id of the tenant's catalogue
  channel                      email, sms, voice_call, chat, social, postal, push
  scope                        first_party (default) or partners
  state                        granted, refused or withdrawn
  recorded_at                  ISO 8601 with a zone: when the person decided (not in the future)
  source                       portal, banner, api, import (default) or support
  notice_version               the notice version shown (required when the purpose has a
                               notice; empty for a withdrawal)
  evidence                     a reference to the proof kept elsewhere (optional)
a row older than what is on record for its target is counted "superseded" and not written.
"""


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    text: str,
    examples: str = "",
) -> argparse.ArgumentParser:
    """A sub-command whose --help shows `text` and its examples verbatim."""
    return commands.add_parser(
        name,
        help=text,
        description=text,
        epilog=f"examples:\n{examples}" if examples else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def when(text: str) -> datetime:
    """An ISO 8601 time with a zone (argparse type)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-03-01T00:00:00Z")
    return moment


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


# The longest a key may be issued for (ten years): beyond it a date overflows, and a key meant
# to expire should not outlive its purpose.
MAX_KEY_DAYS = 3650


def _days(text: str) -> int:
    """A key's lifetime in days: 0 or less would make a key that never expires (or one born
    expired), so it is refused, as are more than MAX_KEY_DAYS."""
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of days, got {text!r}") from None
    if not 1 <= days <= MAX_KEY_DAYS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_KEY_DAYS} days")
    return days


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="consentd",
        description="Consent, cookie choices and opt-outs with proof, over gRPC.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serving(commands)
    _administration(commands)
    _imports(commands)
    _exports(commands)
    _proofs(commands)
    return top


def _exports(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    exports = _command(
        commands,
        "export",
        "bulk exports",
        "  consentd export suppressions --tenant acme --purpose newsletter --channel email \\\n"
        "      --out suppress.csv\n",
    ).add_subparsers(dest="action", required=True)
    suppressions = exports.add_parser(
        "suppressions",
        help="the suppression list of a purpose and channel to a CSV file (resumable)",
        description="Everyone who must not be contacted for the purpose on the channel\n"
        "(withdrawn, refused, objected, erased), as keyed hashes of the normalised e-mail or\n"
        "phone (HashContactPoints gives the same hash of a clear address).\n"
        "Columns: kind, digest (hex), reason, since, subject_id, event_id.\n"
        "A checkpoint beside the file (FILE.cursor) lets the same command, run again after a\n"
        "kill, resume where it stopped; it is removed when the file is complete.",
        epilog="examples:\n"
        "  consentd export suppressions --tenant acme --purpose newsletter --channel email \\\n"
        "      --out suppress-email.csv\n"
        "  consentd export suppressions --tenant acme --purpose offers --channel sms "
        "--scope partners --out suppress-sms.csv\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    suppressions.add_argument("--tenant", required=True, help="tenant slug")
    suppressions.add_argument("--purpose", required=True, help="purpose id in the catalogue")
    suppressions.add_argument(
        "--channel", required=True, choices=("email", "sms", "voice_call"), help="contact channel"
    )
    suppressions.add_argument(
        "--scope", default="first_party", choices=("first_party", "partners"), help="party scope"
    )
    suppressions.add_argument("--out", required=True, type=Path, help="the CSV file to write")


def _serving(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = _command(
        commands,
        "serve",
        "run the gRPC service (embedded PostgreSQL unless DATABASE_URL is set)",
        "  consentd serve\n"
        "  consentd serve --workers 4   # one supervisor, 4 server processes on one port\n"
        "  DATABASE_URL=postgresql+asyncpg://consentd_app:...@db/consentd consentd serve\n",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="server processes sharing the gRPC and browser ports (SO_REUSEPORT); the "
        "embedded PostgreSQL is started once, by the supervisor (default 1)",
    )
    _command(
        commands,
        "migrate",
        "apply database migrations as the owner and exit (run before a rolling upgrade)",
        "  CONSENTD_MIGRATION_DATABASE_URL=postgresql+asyncpg://consentd@db/consentd "
        "consentd migrate\n",
    )
    _command(commands, "local-key", "print the embedded mode's admin key", "  consentd local-key\n")
    health = _command(
        commands,
        "health",
        "probe a running server's gRPC health; exit 0 when SERVING",
        "  consentd health\n  consentd health --address 10.0.0.7:50051\n",
    )
    health.add_argument(
        "--address", default=None, help="host:port (default: CONSENTD_GRPC_ADDRESS)"
    )


def _administration(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tenants = _command(
        commands, "tenants", "manage tenants", "  consentd tenants create acme --role controller\n"
    ).add_subparsers(dest="action", required=True)
    create = tenants.add_parser("create", help="create a tenant (idempotent)")
    create.add_argument("slug", help="a-z, 0-9 and '-', starting with a letter")
    create.add_argument("--name", default="")
    create.add_argument("--role", choices=[r.value for r in ProcessingRole], default="processor")
    keys = _command(
        commands,
        "keys",
        "manage API keys",
        "  consentd keys create acme --scope consent:check --scope consent:write --name crm\n"
        "  consentd keys list acme\n  consentd keys revoke acme 6xw2kq4ebq7s3p2a\n",
    ).add_subparsers(dest="action", required=True)
    issue = keys.add_parser("create", help="issue a key (printed once, stored hashed)")
    issue.add_argument("slug")
    issue.add_argument("--scope", action="append", choices=SCOPES, required=True)
    issue.add_argument("--name", default="")
    issue.add_argument(
        "--expires-days",
        type=_days,
        default=None,
        help=f"1 to {MAX_KEY_DAYS}; without it the key never expires",
    )
    keys.add_parser("list", help="list a tenant's keys (never the secrets)").add_argument("slug")
    revoke = keys.add_parser("revoke", help="revoke a key (effective within 5 s)")
    revoke.add_argument("slug")
    revoke.add_argument("key_id")
    issuers = _command(
        commands,
        "issuers",
        "portal token issuers",
        "  consentd issuers put acme --issuer https://portal.acme.example --audience consentd \\\n"
        "      --public-key portal-es256.pub.pem\n",
    ).add_subparsers(dest="action", required=True)
    put = issuers.add_parser("put", help="trust an issuer's ES256/RS256 public key")
    put.add_argument("slug")
    put.add_argument("--issuer", required=True)
    put.add_argument("--audience", required=True)
    put.add_argument("--public-key", type=Path, required=True)


def _imports(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imports = _command(
        commands,
        "import",
        "bulk imports",
        "  consentd import consents crm.csv --tenant acme\n",
    ).add_subparsers(dest="action", required=True)
    consents = imports.add_parser(
        "consents",
        help="import existing consents from a CSV file (validated first, resumable)",
        description=IMPORT_TEXT + IMPORT_COLUMNS,
        epilog="examples:\n"
        "  consentd import consents crm.csv --tenant acme --check\n"
        "  consentd import consents crm.csv --tenant acme --batch-size 200\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    consents.add_argument("file", type=Path, help="UTF-8 CSV with a header row")
    consents.add_argument("--tenant", required=True, help="tenant slug")
    consents.add_argument("--batch-size", type=_positive, default=2000, help="rows per commit")
    consents.add_argument(
        "--check", action="store_true", help="validate every row and stop (write nothing)"
    )
    consents.add_argument("--actor", default="consentd import", help="the events' actor")


def _proofs(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    purge = _command(
        commands,
        "purge",
        "retention's cookie category alone: delete choices past their expiry, keeping only "
        "counts (safe to rerun; the retention job's lock)",
        "  consentd purge\n  consentd purge --batch-size 200\n",
    )
    purge.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="rows per transaction (CONSENTD_PURGE_BATCH_SIZE)",
    )
    audit = _command(
        commands,
        "audit",
        "verify, sign and prove tenants' audit logs (docs/audit.md)",
        "  consentd audit verify --tenant acme\n  consentd audit checkpoint --tenant acme\n"
        "  consentd audit tree-head --tenant acme\n"
        "  consentd audit prove --tenant acme --fact 0b7c...   # inclusion of a consent event\n"
        "  consentd audit prove --tenant acme --first 100      # consistency of 100 -> now\n",
    )
    audit_commands = audit.add_subparsers(dest="action", required=True)
    subs = {}
    for name, text in (
        ("verify", "recompute a tenant's log and facts; exit 1 naming what differs"),
        ("checkpoint", "sign a tenant's chain head and print the proof (JSON)"),
        ("tree-head", "sign (unless signed) the tenant's Merkle tree head and print it (JSON)"),
        ("prove", "an RFC 9162 inclusion (--seq/--fact) or consistency (--first) proof (JSON)"),
    ):
        subs[name] = sub = audit_commands.add_parser(name, help=text)
        sub.add_argument("--tenant", required=True, help="tenant slug")
        if name in ("tree-head", "prove"):
            sub.add_argument("--tree-size", type=int, default=0, help="entries (0: all)")
    which = subs["prove"].add_mutually_exclusive_group(required=True)
    which.add_argument("--seq", type=int, help="the entry to prove included")
    which.add_argument("--fact", type=UUID, help="the consent event / cookie choice to prove")
    which.add_argument("--first", type=int, help="the older tree size to prove consistent")
    retention = _command(
        commands,
        "retention",
        "enforce the retention limits (batched, restartable: rerun after an interruption)",
        "  consentd retention run --dry-run\n  consentd retention run --batch-size 200 "
        "--pause 0.05\n",
    )
    retention_commands = retention.add_subparsers(dest="action", required=True)
    run = retention_commands.add_parser(
        "run", help="run the retention job once, every category and tenant (JSON report)"
    )
    run.add_argument("--dry-run", action="store_true", help="report what would go; change nothing")
    run.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
    run.add_argument("--pause", type=float, default=0.0, help="seconds between batches")
    breach = _command(
        commands,
        "breach",
        "breach scoping for the 48-hour notice",
        "  consentd breach scope --since 2026-03-01T00:00:00Z --until 2026-03-02T00:00:00Z "
        "--tenant acme\n",
    )
    breach_commands = breach.add_subparsers(dest="action", required=True)
    scope = breach_commands.add_parser(
        "scope", help="subjects and data categories a window touched"
    )
    scope.add_argument("--since", required=True, type=when, help="ISO 8601 time with zone")
    scope.add_argument("--until", required=True, type=when, help="ISO 8601 time with zone")
    scope.add_argument("--tenant", action="append", default=[], help="slug (repeat; default all)")
