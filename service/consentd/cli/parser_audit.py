"""The proof commands of the argparse tree: `audit` (verify, checkpoint, tree-head, prove) and
`breach scope`."""

from __future__ import annotations

from uuid import UUID

from consentd.cli.arguments import Commands, command, log_position, when

_AUDIT_ACTIONS = (
    ("verify", "recompute a tenant's log and facts; exit 1 naming what differs"),
    ("checkpoint", "sign a tenant's chain head and print the proof (JSON)"),
    ("tree-head", "sign (unless signed) the tenant's Merkle tree head and print it (JSON)"),
    ("prove", "an RFC 9162 inclusion (--seq/--fact) or consistency (--first) proof (JSON)"),
    ("evidence", "every kept entry about one subject, each proven in one signed head (JSON)"),
)


def add_audit(commands: Commands) -> None:
    """`audit verify|checkpoint|tree-head|prove --tenant SLUG` (docs/audit.md)."""
    audit = command(
        commands,
        "audit",
        "verify, sign and prove tenants' audit logs (docs/audit.md)",
        "  consentd audit verify --tenant acme\n  consentd audit checkpoint --tenant acme\n"
        "  consentd audit tree-head --tenant acme\n"
        "  consentd audit prove --tenant acme --fact 0b7c...   # inclusion of a consent event\n"
        "  consentd audit prove --tenant acme --first 100      # consistency of 100 -> now\n"
        "  consentd audit evidence --tenant acme --subject 5f0e...  # a person's evidence pack\n",
    )
    audit_commands = audit.add_subparsers(dest="action", required=True)
    subs = {}
    for name, text in _AUDIT_ACTIONS:
        subs[name] = sub = audit_commands.add_parser(name, help=text)
        sub.add_argument("--tenant", required=True, help="tenant slug")
        if name in ("tree-head", "prove", "evidence"):
            sub.add_argument("--tree-size", type=log_position, default=0, help="entries (0: all)")
    which = subs["prove"].add_mutually_exclusive_group(required=True)
    which.add_argument("--seq", type=log_position, help="the entry to prove included")
    which.add_argument("--fact", type=UUID, help="the consent event / cookie choice to prove")
    which.add_argument("--first", type=log_position, help="the older tree size to prove consistent")
    subs["evidence"].add_argument("--subject", type=UUID, required=True, help="the subject id")


def add_breach(commands: Commands) -> None:
    """`breach scope --since T --until T [--tenant SLUG]...`."""
    breach = command(
        commands,
        "breach",
        "breach scoping for the 48-hour notice to clients (the policy's; GDPR art. 33)",
        "  consentd breach scope --since 2026-03-01T00:00:00Z --until 2026-03-02T00:00:00Z "
        "--tenant acme\n"
        "  consentd breach subjects --since 2026-03-01T00:00:00Z --until 2026-03-02T00:00:00Z "
        "--tenant acme > touched.csv\n",
    )
    breach_commands = breach.add_subparsers(dest="action", required=True)
    scope = breach_commands.add_parser(
        "scope", help="subjects and data categories a window touched"
    )
    scope.add_argument("--since", required=True, type=when, help="ISO 8601 time with zone")
    scope.add_argument("--until", required=True, type=when, help="ISO 8601 time with zone")
    scope.add_argument("--tenant", action="append", default=[], help="slug (repeat; default all)")
    subjects = breach_commands.add_parser(
        "subjects",
        help="which subjects a window touched: CSV of subject_id,erased_at,categories",
    )
    subjects.add_argument("--since", required=True, type=when, help="ISO 8601 time with zone")
    subjects.add_argument("--until", required=True, type=when, help="ISO 8601 time with zone")
    subjects.add_argument("--tenant", required=True, help="slug")
