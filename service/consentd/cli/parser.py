"""The argparse tree of `consentd`: every command, its options and its examples. Serving and
the bulk imports and exports are declared here; tenancy, audit and breach, retention in the
parser_*.py modules beside it."""

from __future__ import annotations

import argparse
from pathlib import Path

from consentd.cli.arguments import (
    Commands,
    actor,
    command,
    host_port,
    positive,
    time_zone,
    workers,
)
from consentd.cli.parser_audit import add_audit, add_breach
from consentd.cli.parser_retention import add_purge, add_retention
from consentd.cli.parser_tenancy import add_tenancy

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
  consentd webhooks add acme https://crm.acme.example/hook   # push the change feed there
  consentd preference-link acme --email jeanne@example.fr     # her preference centre, 7 days
  consentd import consents crm.csv --tenant acme --check   # validate only, report bad rows
  consentd import consents crm.csv --tenant acme           # import; rerun resumes after a kill
  consentd export suppressions --tenant acme --purpose newsletter --channel email \\
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
the value. Rows are then streamed by COPY into a staging table and applied in batches by
set-based statements that write what RecordConsent/WithdrawConsent write (events, current
state, audit entries, change feed), each batch in one transaction with the file's checkpoint:
rerunning the same file after a crash resumes after the last committed batch and never imports
a row twice. Do not edit a partly imported file: the checkpoint is keyed by its SHA-256.

"""
IMPORT_COLUMNS = """columns (a header row; any order; an unknown column is refused):
  email | phone | external_id | cal_id
                               exactly one per row: the person's contact point, your id or
                               their Client Access License id
  purpose                      a purpose id of the tenant's catalogue
  channel                      email, sms, voice_call, chat, social, postal, push
  scope                        first_party (default) or partners
  state                        granted, refused or withdrawn
  recorded_at                  ISO 8601 with a zone (or --timezone): when the person decided
  source                       portal, banner, api, import (default) or support
  notice_version               the notice version shown (required when the purpose has a
                               notice; may be empty for a refusal or a withdrawal)
  evidence                     a reference to the proof kept elsewhere (optional)
a row older than what is on record for its target is counted "superseded" and not written.
"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="consentd",
        description="Consent, cookie choices and opt-outs with proof, over gRPC.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serving(commands)
    add_tenancy(commands)
    _imports(commands)
    _exports(commands)
    add_purge(commands)
    add_audit(commands)
    add_retention(commands)
    add_breach(commands)
    return top


def _exports(commands: Commands) -> None:
    exports = command(
        commands,
        "export",
        "bulk exports",
        "  consentd export suppressions --tenant acme --purpose newsletter --channel email "
        "--out s.csv\n",
    ).add_subparsers(dest="action", required=True)
    suppressions = exports.add_parser(
        "suppressions",
        help="the suppression list of a purpose and channel to a CSV file (resumable)",
        description="Everyone who must not be contacted for the purpose on the channel\n"
        "(withdrawn, refused, objected, restricted, erased, suppressed), as keyed hashes of the\n"
        "normalised e-mail or phone (HashContactPoints gives the same hash of a clear address).\n"
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


def _serving(commands: Commands) -> None:
    serve = command(
        commands,
        "serve",
        "run the gRPC service (embedded PostgreSQL unless DATABASE_URL is set)",
        "  consentd serve\n"
        "  consentd serve --workers 4   # one supervisor, 4 server processes on one port\n"
        "  DATABASE_URL=postgresql+asyncpg://consentd_app:...@db/consentd consentd serve\n",
    )
    serve.add_argument(
        "--workers",
        type=workers,
        default=1,
        help="server processes sharing the gRPC and browser ports (SO_REUSEPORT), 1 to 64; "
        "the embedded PostgreSQL is started once, by the supervisor (default 1)",
    )
    command(
        commands,
        "migrate",
        "apply database migrations as the owner and exit (run before a rolling upgrade)",
        "  CONSENTD_MIGRATION_DATABASE_URL=postgresql+asyncpg://consentd@db/consentd "
        "consentd migrate\n",
    )
    command(commands, "local-key", "print the embedded mode's admin key", "  consentd local-key\n")
    health = command(
        commands,
        "health",
        "probe a running server's gRPC health; exit 0 when SERVING",
        "  consentd health\n  consentd health --address 10.0.0.7:50051\n",
    )
    health.add_argument(
        "--address", type=host_port, default=None, help="host:port (default: CONSENTD_GRPC_ADDRESS)"
    )


def _imports(commands: Commands) -> None:
    imports = command(
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
    consents.add_argument("--batch-size", type=positive, default=2000, help="rows per commit")
    consents.add_argument(
        "--check", action="store_true", help="validate every row and stop (write nothing)"
    )
    consents.add_argument(
        "--actor", type=actor, default="consentd import", help="the events' actor (one line)"
    )
    consents.add_argument(
        "--timezone",
        type=time_zone,
        help="read recorded_at without an offset in this IANA zone (e.g. Europe/Paris: CRM "
        "exports write local time); without it such a time is refused",
    )
