"""The key files of embedded mode, beside the data (mode 0600): the service secret, the audit
signing seed, the runtime role's password. Made once, while the database holds nothing they must
open or have signed; checked against the data at every start afterwards."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.config import ConfigError, Settings
from consentd.domain.audit_signer import CheckpointSigner
from consentd.store.driver import quiet_engine
from consentd.store.key_check import Stored, keep_check, proven, runtime_sample, stored_data

log = structlog.get_logger("consentd")


async def local_keys(settings: Settings, home: Path, owner: str) -> tuple[bytes, bytes]:
    """The service secret and the audit signing seed: given, or the files beside the data, made
    only while the database holds nothing they would have to open or have signed. A key file
    lost and made anew served beside the data: nobody was found by email or phone, and a
    withdrawal acknowledged then was forgotten once the right key was back. Raises ConfigError
    for a file missing beside such data, a damaged one, or a secret that does not open it."""
    engine = quiet_engine(owner)
    try:
        return await _local_keys(settings, home, engine)
    finally:
        await engine.dispose()


async def _local_keys(settings: Settings, home: Path, owner: AsyncEngine) -> tuple[bytes, bytes]:
    stored = await stored_data(owner)
    key_path, audit_path = home / "secret.key", home / "audit-signing.key"
    restore = "restore the file from your backup (see docs/operations.md)"
    if settings.secret_key is None and stored.keyed and not key_path.exists():
        raise ConfigError(
            f"{key_path} is missing, but the database holds data sealed and looked up under it: "
            f"{restore}; a new key would find nobody and lose their withdrawals"
        )
    if settings.audit_signing_key is None and stored.signed and not audit_path.exists():
        raise ConfigError(
            f"{audit_path} is missing, but the audit log's tree heads were signed with it: "
            f"{restore}"
        )
    key = settings.secret_key or local_secret(key_path)
    audit_key = settings.audit_signing_key or local_secret(audit_path)
    where = "CONSENTD_SECRET_KEY" if settings.secret_key else str(key_path)
    if _check_secret(key, stored, where, restore):
        await keep_check(owner, key)
    tell_signing_key(audit_key, stored.signed_by, settings.audit_retired_keys)
    return key, audit_key


async def check_given_keys(
    runtime: AsyncEngine, secret: bytes, audit_key: bytes, retired: tuple[bytes, ...] = ()
) -> None:
    """local_keys' checks for a database consentd does not run, read through the runtime role:
    a wrong CONSENTD_SECRET_KEY served beside the data, finding nobody (embedded mode refuses
    it). Raises ConfigError."""
    stored = await runtime_sample(runtime)
    restore = "set the secret this database was written with"
    if _check_secret(secret, stored, "CONSENTD_SECRET_KEY", restore):
        await keep_check(runtime, secret)
    tell_signing_key(audit_key, stored.signed_by, retired)


def _check_secret(key: bytes, stored: Stored, where: str, restore: str) -> bool:
    """Whether the secret was proven the data's (then every tenant keeps its check, migration
    0050: with every subject erased, no data key is left to try it on; probe DU). Raises
    ConfigError when it is not the data's."""
    verdict = proven(key, stored)
    if verdict is False:
        raise ConfigError(
            f"{where} does not open the data's keys: it is not the secret this database was "
            f"written with; {restore}"
        )
    return bool(verdict)


def tell_signing_key(
    audit_key: bytes, signed_by: str | None, retired: tuple[bytes, ...] = ()
) -> None:
    """A signing key other than the one the log was last signed with (a tree head or a
    checkpoint), and not a retired one named in CONSENTD_AUDIT_RETIRED_KEYS: a rotation not
    finished (docs/operations.md, Keys) or a mistake, which `audit verify` later names (probe
    DN: accepted without a word)."""
    signer = CheckpointSigner(audit_key, retired)
    if signed_by is not None and not signer.knows(signed_by):
        log.warning(
            "audit_signing_key_changed", signed_by=signed_by, key_id=signer.key_id,
            hint="the audit log was last signed with another key, not listed in "
            "CONSENTD_AUDIT_RETIRED_KEYS: what it signed cannot be verified; if this is a "
            "rotation, list the old key's public half there (docs/operations.md, Keys), "
            "else restore the key",
        )  # fmt: skip


def local_secret(path: Path, text: bool = False) -> bytes:
    """A random secret made once and kept beside the data (mode 0600): the identifier key, the
    audit signing seed, or (text) the runtime role's password. 32 random bytes, base64. Raises
    ConfigError for a damaged file (not base64 of 32 bytes or more)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(secrets.token_bytes(32)).decode())
    warn_if_open(path)
    value = path.read_text().strip()
    if text:
        return value.encode()
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) < 32:
        raise ConfigError(
            f"{path} is damaged (not the base64 of a 32-byte key): restore it from your backup"
        )
    return raw


def warn_if_open(path: Path) -> None:
    """A warning when others than its owner may read or write a key file: made 0600, a copy
    made 0644 (or a folder opened) was taken without a word, and every local user could read
    the service secret, the audit signing seed or the admin key (probe YE)."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning(
            "key_file_open_to_others", file=str(path), mode=f"{mode:04o}",
            hint=f"only its owner should read it: chmod 600 {path}",
        )  # fmt: skip
