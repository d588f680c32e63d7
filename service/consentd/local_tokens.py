"""The embedded mode's API keys kept in files beside the data (0600): the local admin key a
newcomer calls the service with (`consentd local-key`), the demo page's publishable key."""

from __future__ import annotations

import os
from pathlib import Path

import structlog

from consentd.bootstrap import App
from consentd.config import ConfigError
from consentd.domain.tenancy import Scope
from consentd.key_files import warn_if_open

log = structlog.get_logger("consentd")
LOCAL_KEY_FILE = "local-admin.key"
DEMO_KEY_FILE = "demo-cookies.key"


async def local_admin_key(app: App, home: Path, slug: str) -> None:
    """Embedded mode: an admin key for the default tenant, written once to a 0600 file, so a
    newcomer can call the service (`consentd local-key` prints it). Never logged."""
    path = home / LOCAL_KEY_FILE
    if path.exists():
        warn_if_open(path)
        return
    if app.admin is None:
        return
    key, _ = await app.admin.issue_key(
        slug, [Scope.ADMIN.value], name="local admin (embedded mode)"
    )
    _written(path, key.token)
    log.info("local_admin_key_written", path=str(path))


async def demo_key(app: App, home: Path | None, slug: str) -> str:
    """CONSENTD_DEMO only: a publishable key (scope cookies:write, nothing else) of the default
    tenant for the demo page, which carries it in its HTML like any page would. Embedded mode
    makes it once into a 0600 file beside the data; with DATABASE_URL a new one is issued at each
    start (that needs the owner's URL). Never logged."""
    path = home / DEMO_KEY_FILE if home is not None else None
    if path is not None and path.exists():
        return path.read_text().strip()
    if app.admin is None:
        raise ConfigError(
            "CONSENTD_DEMO issues a cookies:write key for the demo page: "
            "set CONSENTD_MIGRATION_DATABASE_URL (the owner's URL)"
        )
    key, stored = await app.admin.issue_key(
        slug, [Scope.COOKIES.value], name="demo page (CONSENTD_DEMO)"
    )
    if path is not None:
        _written(path, key.token)
    log.info("demo_key_issued", key_id=stored.key_id, tenant=slug)
    return key.token


def _written(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
