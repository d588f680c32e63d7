"""Why a portal token was refused, said to the operator only: the caller gets the one
"missing or invalid credentials" (no oracle for a forger), and an integrator minting tokens had
nothing to go on (probe AJ: a `tid` holding the slug, another `aud`, a lifetime over 24 hours
all looked alike). At most one line a second per reason, never the token or a claim's value."""

from __future__ import annotations

import time

import structlog

from consentd.domain.errors import Unauthenticated

log = structlog.get_logger("consentd.auth")
SAID_EVERY_SECONDS = 1.0
_said: dict[str, float] = {}


def refused(reason: str) -> Unauthenticated:
    """The error to raise for a portal token refused for `reason` (a fixed word of ours, or
    PyJWT's exception class name), logged as `portal_token_refused` once a second at most."""
    now = time.monotonic()
    if now - _said.get(reason, -SAID_EVERY_SECONDS) >= SAID_EVERY_SECONDS:
        _said[reason] = now
        log.info("portal_token_refused", reason=reason)
    return Unauthenticated()
