"""`consentd preference-link`: a link to the preference centre acting for one person, for a
message of the tenant's own (app/preference_links.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from consentd.bootstrap import App
from consentd.domain.canonical import stamp
from consentd.domain.identifiers import normalise

KINDS = ("email", "phone", "external_id", "cal_id")


async def preference_link(app: App, args: argparse.Namespace) -> int:
    assert app.admin is not None
    tenant = await app.admin.tenant(args.slug)
    kind = next(k for k in KINDS if getattr(args, k) is not None)
    option = f"--{kind.replace('_', '-')}"  # as the command names it
    person = normalise(kind, getattr(args, kind), app.settings.phone_region, option)
    # A person on record only (probe NA); NotFound when erased.
    if not await app.link_requests.on_record(tenant, person):
        named = kind.replace("_", " ")
        print(f"consentd: no person of tenant {tenant.slug!r} is known by this {named}: "
              "record their consent first (a link acts for a person on record)",
              file=sys.stderr)  # fmt: skip
        return 1
    links = app.preference_links
    if args.revoke:  # a link forwarded, or kept by a mail gateway: the person's links end
        when = await app.admin.revoke_links(tenant, links.caller(person))
        print(f"links of this person made until {stamp(when)} are refused (one made now works)")
        return 0
    token, expires = links.token(tenant.tenant_id, person, timedelta(days=args.days))
    print(links.url(token) or token)
    where = "" if links.serves_urls else " (set CONSENTD_PREFERENCES_URL to print the link)"
    print(f"(valid until {stamp(expires)}{where})", file=sys.stderr)
    return 0
