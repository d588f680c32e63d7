"""`consentd webhooks add|list|remove|secret|rotate|test|rewind`: a tenant's endpoints the
change feed is pushed to (docs/webhooks.md)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from consentd.bootstrap import App
from consentd.domain.canonical import stamp
from consentd.domain.errors import FailedPrecondition
from consentd.domain.webhooks import Webhook


async def webhooks(app: App, args: argparse.Namespace) -> int:
    assert app.admin is not None
    hooks = app.webhooks.admin
    tenant = await app.admin.tenant(args.slug)
    if args.action == "add":
        made = await hooks.add(tenant, args.url, from_start=args.from_start)
        try:
            print(f"webhook {made.webhook_id}")
            print(f"secret {hooks.secret_of(made)}", flush=True)
        except OSError as failure:  # a full disk, a closed pipe: nobody has its id (probe ZA)
            await hooks.remove(tenant, str(made.webhook_id))
            raise FailedPrecondition(
                f"the new webhook could not be written out ({failure.strerror or failure}): it was "
                "removed at once; run the command again with a writable output"
            ) from None
        print("(derived from the service secret: `consentd webhooks secret` shows it again)",
              file=sys.stderr)  # fmt: skip
    elif args.action == "list":
        for webhook in await hooks.listed(tenant):
            print(json.dumps(_described(webhook), sort_keys=True))
    elif args.action == "remove":
        await hooks.remove(tenant, args.webhook_id)
        print(f"webhook {args.webhook_id} removed")
    elif args.action == "secret":
        print(f"secret {hooks.secret_of(await hooks.find(tenant, args.webhook_id))}")
    elif args.action == "rotate":
        rotated = await hooks.rotate(tenant, args.webhook_id, timedelta(hours=args.overlap_hours))
        print(f"secret {hooks.secret_of(rotated)}")
        until = rotated.previous_until
        overlap = f"signs too until {stamp(until)}" if until and args.overlap_hours else ""
        print(f"(the secret before it {overlap or 'no longer signs'})", file=sys.stderr)
    elif args.action == "test":
        error = await app.webhooks.delivery.ping(await hooks.find(tenant, args.webhook_id))
        print(f"webhook {args.webhook_id}: {error or 'answered 2xx'}")
        return 1 if error else 0
    else:
        await hooks.rewind(tenant, args.webhook_id, from_start=args.from_start)
        start = "the feed's start" if args.from_start else "its last change"
        print(f"webhook {args.webhook_id} delivers again from {start}")
    return 0


def _described(webhook: Webhook) -> dict[str, object]:
    """One JSON line per webhook: never its secret."""
    return {
        "webhook_id": str(webhook.webhook_id),
        "url": webhook.url,
        "state": "removed" if webhook.removed_at else ("failing" if webhook.failures else "ok"),
        "created_at": stamp(webhook.created_at),
        "delivered_through": webhook.delivered_position,
        "delivered_at": stamp(webhook.delivered_at) if webhook.delivered_at else None,
        "failures": webhook.failures,
        "last_error": webhook.last_error,
        "next_attempt_at": None if webhook.removed_at else stamp(webhook.next_attempt_at),
        "rotated_at": stamp(webhook.rotated_at) if webhook.rotated_at else None,
        # While a rotation's overlap lasts, deliveries carry the secret before's signature too.
        "previous_secret_until": stamp(webhook.previous_until) if webhook.previous_until else None,
    }
