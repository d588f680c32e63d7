"""`consentd preference-link`: a link to the preference centre acting for one person, for a
message of the tenant's own (app/preference_links.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from consentd.bootstrap import App
from consentd.domain.canonical import stamp
from consentd.domain.identifiers import Identifier, normalise
from consentd.domain.tenancy import Tenant

KINDS = ("email", "phone", "external_id", "cal_id")


async def preference_link(app: App, args: argparse.Namespace) -> int:
    assert app.admin is not None
    tenant = await app.admin.tenant(args.slug)
    kind = next(k for k in KINDS if getattr(args, k) is not None)
    option = f"--{kind.replace('_', '-')}"  # as the command names it
    person = normalise(kind, getattr(args, kind), app.settings.phone_region, option)
    if args.revoke:  # a link forwarded, or kept by a mail gateway
        return await _revoke(app, tenant, person)
    # A person on record only (probe NA); NotFound when erased.
    if not await app.link_requests.on_record(tenant, person):
        named = kind.replace("_", " ")
        print(f"consentd: no person of tenant {tenant.slug!r} is known by this {named}: "
              "record their consent first (a link acts for a person on record)",
              file=sys.stderr)  # fmt: skip
        return 1
    links = app.preference_links
    token, expires = links.token(tenant.tenant_id, person, timedelta(days=args.days))
    print(links.url(token) or token)
    where = "" if links.serves_urls else " (set CONSENTD_PREFERENCES_URL to print the link)"
    print(f"(valid until {stamp(expires)}{where})", file=sys.stderr)
    return 0


async def _revoke(app: App, tenant: Tenant, person: Identifier) -> int:
    """Refuse the links made until now of the person holding `person` (whatever identifier
    they name them by: a campaign makes links per e-mail, phone or external id; probe SB), and
    of `person` itself (one nobody holds any more, after a rectification, is revoked too)."""
    assert app.admin is not None
    subject_id = await app.link_requests.holder(tenant, person)
    when = await app.admin.revoke_links(tenant, app.preference_links.caller(person), subject_id)
    whose = "of this person, by any identifier," if subject_id else "naming this identifier"
    print(f"links {whose} made until {stamp(when)} are refused (one made now works)")
    return 0
