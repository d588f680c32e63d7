"""Does the service secret open the data, and was the data signed already: read before a process
serves, so that a lost or wrong key file stops it instead of letting it serve beside the data.

A new secret beside existing data finds nobody by email or phone (every look-up is a keyed hash
under it), files an acknowledged withdrawal under a new subject, and once the right key is back
that withdrawal is forgotten. Read as the owner: in embedded mode a superuser, which sees every
tenant's rows; an owner under row-level security sees none, and nothing is checked."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.config import ConfigError
from consentd.domain.sealing import Keyring, SealError, secret_check
from consentd.store.database import sqlstate_of

log = structlog.get_logger("consentd")

_SAMPLE = sa.text("SELECT tenant_id, subject_id, wrapped_key FROM subject_keys LIMIT 1")
# Keyed under the secret: every look-up digest, and the suppression entries erasures leave (an
# erased person's address stayed DENY erased only while its digest was the same).
_KEYED = sa.text(
    "SELECT EXISTS (SELECT 1 FROM subject_identifiers) OR EXISTS (SELECT 1 FROM suppressions)"
)
_SIGNED = sa.text(
    "SELECT EXISTS (SELECT 1 FROM audit_tree_heads) OR EXISTS (SELECT 1 FROM audit_checkpoints)"
)

_CHECK = sa.text("SELECT digest FROM tenant_secret_checks LIMIT 1")
# The latest signature's key, a tree head's or a checkpoint's (a tenant signed by `consentd audit
# checkpoint` alone was served with another key without a word; probe FG).
_LATEST_SIGNER = sa.text(
    "SELECT key_id FROM (SELECT key_id, signed_at FROM audit_tree_heads UNION ALL "
    "SELECT key_id, signed_at FROM audit_checkpoints) s ORDER BY signed_at DESC LIMIT 1"
)

# The key goes; the tenant's secret check stays (migration 0050), made from the first erasure
# whose subject's key the secret opened.
DESTROY_KEY = """
WITH gone AS (DELETE FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2 RETURNING 1),
kept AS (
    INSERT INTO tenant_secret_checks (tenant_id, digest, made_at) SELECT $1, $3, $4
    WHERE $3::bytea IS NOT NULL ON CONFLICT (tenant_id) DO NOTHING)
SELECT count(*) > 0 AS destroyed FROM gone
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """What the database holds that the key files must open: one stored data key (tenant,
    subject, wrapped) and one tenant's secret check to try the secret on; whether any digest is
    keyed under it; whether tree heads or checkpoints were signed."""

    sample: tuple[UUID, UUID, bytes] | None
    keyed: bool
    signed: bool
    # The key id the latest tree head was signed with.
    signed_by: str | None = None
    check: bytes | None = None


async def stored_data(engine: AsyncEngine) -> Stored:
    """Read as the owner (`engine`: the embedded superuser's)."""
    async with engine.connect() as conn:
        row = (await conn.execute(_SAMPLE)).first()
        check = (await conn.execute(_CHECK)).scalar()
        keyed = bool((await conn.execute(_KEYED)).scalar())
        signed = bool((await conn.execute(_SIGNED)).scalar())
        signed_by = (await conn.execute(_LATEST_SIGNER)).scalar()
    sample = (row[0], row[1], bytes(row[2])) if row is not None else None
    check = bytes(check) if check is not None else None
    keyed = keyed or sample is not None or check is not None
    return Stored(sample, keyed, signed, signed_by, check)


def proven(secret: bytes, stored: Stored) -> bool | None:
    """Whether `secret` is the data's: it unwraps the stored data key and matches the secret
    check (those found); None when neither is there to try."""
    if stored.sample is None and stored.check is None:
        return None
    if stored.check is not None and not hmac.compare_digest(stored.check, secret_check(secret)):
        return False
    if stored.sample is None:
        return True
    tenant_id, subject_id, wrapped = stored.sample
    try:
        Keyring(secret).unwrap(tenant_id, subject_id, wrapped)
    except SealError:
        return False
    return True


# As the runtime role, under row-level security: one tenant's stored data key and the key id its
# latest tree head was signed with (0049), and one tenant's secret check (0050): each walks the
# tenants.
_RUNTIME_SAMPLE = sa.text("SELECT * FROM consentd_key_sample()")
_RUNTIME_CHECK = sa.text("SELECT consentd_secret_check()")
_RUNTIME_SIGNER = sa.text("SELECT consentd_latest_signer()")  # migration 0052
_MARK = sa.text("SELECT consentd_secret_mark(:digest, :at)")


async def runtime_sample(engine: AsyncEngine) -> Stored:
    """Through the runtime role (an external database, whose owner consentd may not be given):
    the data key of the first tenant that has one, the key id of the log's latest signature
    (a tree head or a checkpoint, any tenant's), and the first tenant's secret check (`keyed`
    and `signed` are not read)."""
    try:
        async with engine.begin() as conn:
            row = (await conn.execute(_RUNTIME_SAMPLE)).first()
            check = (await conn.execute(_RUNTIME_CHECK)).scalar()
            signer = (await conn.execute(_RUNTIME_SIGNER)).scalar()
    except sa.exc.ProgrammingError as error:
        if sqlstate_of(error) == "42501":  # a grant lost (probe EC: "the database refused")
            raise ConfigError(
                "the runtime role has not been granted what the start reads (permission "
                "denied): a restore onto a server where the role did not exist yet drops the "
                "dump's GRANTs; create the role, then restore again (docs/operations.md, Backups)"
            ) from None
        if sqlstate_of(error) != "42883":  # undefined_function: before migration 0049 or 0050
            raise
        # serve given the runtime role's URL alone runs no migration: it said "the database
        # refused: function ... does not exist", exit 1
        raise ConfigError(
            "the database's schema is older than this consentd's: migrate it first (`consentd "
            "migrate` with CONSENTD_MIGRATION_DATABASE_URL, the owner's URL; docs/operations.md)"
        ) from None
    check = bytes(check) if check is not None else None
    if row is None:
        return Stored(None, check is not None, False, signer, check)
    return Stored((row[0], row[1], bytes(row[2])), True, False, signer, check)


async def keep_check(engine: AsyncEngine, secret: bytes) -> int:
    """Once the secret is proven: every tenant without a secret check gets it (how many did).
    `engine` the runtime role's, or the embedded superuser's."""
    try:
        async with engine.begin() as conn:
            at = datetime.now(UTC)
            marked = await conn.execute(_MARK, {"digest": secret_check(secret), "at": at})
            return int(marked.scalar() or 0)
    except sa.exc.DBAPIError as error:  # a read-only node (a standby being promoted): next start
        log.warning("secret_check_not_kept", sqlstate=sqlstate_of(error))
        return 0
