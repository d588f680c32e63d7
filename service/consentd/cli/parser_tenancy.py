"""The tenancy commands of the argparse tree: `tenants`, `keys`, `issuers`, `webhooks` and
`preference-link`."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from consentd.cli.arguments import Commands, command
from consentd.domain.model import ProcessingRole
from consentd.domain.tenancy import Scope

SCOPES = [s.value for s in Scope if s is not Scope.SELF]
# The longest a key may be issued for (ten years): beyond it a date overflows, and a key meant
# to expire should not outlive its purpose.
MAX_KEY_DAYS = 3650
MAX_LINK_DAYS = 30  # a preference link's, as CONSENTD_PREFERENCE_LINK_DAYS's (config.py)
MAX_OVERLAP_HOURS = 720  # a rotated webhook secret's, as app/webhooks.py MAX_OVERLAP


def add_tenancy(commands: Commands) -> None:
    """`tenants create`, `keys create|list|revoke` and `issuers put|list|remove`."""
    _tenants(commands)
    _keys(commands)
    _issuers(commands)
    _webhooks(commands)
    _preference_link(commands)


def _days(text: str, most: int = MAX_KEY_DAYS) -> int:
    """A lifetime in days (a key's, by default): 0 or less would make a key that never expires
    (or one born expired), so it is refused, as are more than `most`."""
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of days, got {text!r}") from None
    if not 1 <= days <= most:
        raise argparse.ArgumentTypeError(f"must be 1 to {most} days")
    return days


def _overlap(text: str) -> float:
    """A rotation's overlap in hours: 0 to 720 (30 days)."""
    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of hours, got {text!r}") from None
    if not 0 <= hours <= MAX_OVERLAP_HOURS:  # NaN too
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_OVERLAP_HOURS} hours")
    return hours


def _tenants(commands: Commands) -> None:
    tenants = command(
        commands,
        "tenants",
        "manage tenants",
        "  consentd tenants create acme --role controller --name 'Acme SAS'\n"
        "  consentd tenants rename acme 'Acme Télécom SAS'\n"
        "  consentd tenants rights-desk acme dpo@acme.example   # a daily digest of requests\n",
    ).add_subparsers(dest="action", required=True)
    tenants.add_parser("list", help="every tenant: slug, id, processing role, name")
    rename = tenants.add_parser("rename", help="set the name its mails and pages show")
    rename.add_argument("slug")
    rename.add_argument("name")
    desk = tenants.add_parser(
        "rights-desk",
        help="the address mailed each morning the rights requests to answer (late, due within "
        "7 days, new); without ADDRESS, show it",
    )
    desk.add_argument("slug")
    desk.add_argument("address", nargs="?", help="an e-mail address (the DPO's, a team's)")
    desk.add_argument("--off", action="store_true", help="mail no digest any more")
    create = tenants.add_parser("create", help="create a tenant (idempotent)")
    create.add_argument("slug", help="a-z, 0-9 and '-', starting with a letter")
    create.add_argument(
        "--name", default="", help="the name its mails and pages show (default: the slug)"
    )
    create.add_argument(
        "--role",
        choices=[r.value for r in ProcessingRole],
        help="processor (the default) or controller; an existing tenant's role never changes",
    )


def _keys(commands: Commands) -> None:
    keys = command(
        commands,
        "keys",
        "manage API keys",
        "  consentd keys create acme --scope consent:check --scope consent:write --name crm\n"
        "  consentd keys list acme\n  consentd keys revoke acme 6xw2kq4ebq7s3p2a\n",
    ).add_subparsers(dest="action", required=True)
    issue = keys.add_parser("create", help="issue a key (printed once, stored hashed)")
    issue.add_argument("slug")
    issue.add_argument(
        "--scope", action="append", choices=SCOPES, required=True,
        help="a scope of the key; repeat it for several (--scope A --scope B)",
    )  # fmt: skip
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


def _issuers(commands: Commands) -> None:
    issuers = command(
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
    listed = issuers.add_parser("list", help="the issuers a tenant trusts")
    listed.add_argument("slug")
    remove = issuers.add_parser("remove", help="stop trusting an issuer (within 5 s)")
    remove.add_argument("slug")
    remove.add_argument("--issuer", required=True)


def _webhooks(commands: Commands) -> None:
    hooks = command(
        commands,
        "webhooks",
        "push the change feed to a tenant's HTTPS endpoint",
        "  consentd webhooks add acme https://crm.acme.example/consent-hook\n"
        "  consentd webhooks list acme\n"
        "  consentd webhooks test acme 5b0c...e1\n"
        "  consentd webhooks rotate acme 5b0c...e1 --overlap-hours 48\n"
        "  consentd webhooks rewind acme 5b0c...e1 --from-start\n",
    ).add_subparsers(dest="action", required=True)
    add = hooks.add_parser("add", help="a webhook; prints its id and signing secret")
    add.add_argument("slug")
    add.add_argument("url", help="https:// (http:// only to this machine's loopback)")
    add.add_argument(
        "--from-start",
        action="store_true",
        help="deliver the whole feed first (default: the changes committed from now on)",
    )
    hooks.add_parser("list", help="a tenant's webhooks and how delivery stands").add_argument(
        "slug"
    )
    for action, words in (
        ("remove", "stop delivering to it (within 10 s)"),
        ("secret", "print its signing secret again"),
        ("rotate", "a new signing secret; the one before signs too for --overlap-hours"),
        ("test", "post a signed page without changes; exit 1 unless answered 2xx"),
        ("rewind", "deliver again from the feed's start or its last change"),
    ):
        one = hooks.add_parser(action, help=words)
        one.add_argument("slug")
        one.add_argument("webhook_id")
    hooks.choices["rotate"].add_argument(
        "--overlap-hours",
        type=_overlap,
        default=24,
        help="how long deliveries are signed with the secret before too (default 24, at most "
        f"{MAX_OVERLAP_HOURS}; 0 when it leaked)",
    )
    rewind = hooks.choices["rewind"]
    start = rewind.add_mutually_exclusive_group(required=True)
    start.add_argument("--from-start", action="store_true")
    start.add_argument("--from-now", action="store_true")


def _preference_link(commands: Commands) -> None:
    link = command(
        commands,
        "preference-link",
        "a link to the preference centre for one person (their own, for a message to them)",
        "  consentd preference-link acme --email jeanne@example.fr\n"
        "  consentd preference-link acme --external-id crm-1234 --days 1\n"
        "  consentd preference-link acme --email jeanne@example.fr --revoke  # links made so far\n",
    )
    link.add_argument("slug")
    person = link.add_mutually_exclusive_group(required=True)
    for kind in ("email", "phone", "external_id", "cal_id"):
        person.add_argument(f"--{kind.replace('_', '-')}", dest=kind)
    link.add_argument(
        "--days",
        type=functools.partial(_days, most=MAX_LINK_DAYS),
        default=7,
        help=f"how long it acts for the person (1 to {MAX_LINK_DAYS}; default 7)",
    )
    link.add_argument(
        "--revoke",
        action="store_true",
        help="refuse the person's links made until now (one forwarded, or kept by a mail "
        "gateway), instead of making one",
    )
