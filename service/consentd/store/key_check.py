"""Does the service secret open the data, and was the data signed already: read before a process
serves, so that a lost or wrong key file stops it instead of letting it serve beside the data.

A new secret beside existing data finds nobody by email or phone (every look-up is a keyed hash
under it), files an acknowledged withdrawal under a new subject, and once the right key is back
that withdrawal is forgotten. Read as the owner: in embedded mode a superuser, which sees every
tenant's rows; an owner under row-level security sees none, and nothing is checked."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from consentd.domain.sealing import Keyring, SealError

_SAMPLE = sa.text("SELECT tenant_id, subject_id, wrapped_key FROM subject_keys LIMIT 1")
# Keyed under the secret: every look-up digest, and the suppression entries erasures leave (an
# erased person's address stayed DENY erased only while its digest was the same).
_KEYED = sa.text(
    "SELECT EXISTS (SELECT 1 FROM subject_identifiers) OR EXISTS (SELECT 1 FROM suppressions)"
)
_SIGNED = sa.text(
    "SELECT EXISTS (SELECT 1 FROM audit_tree_heads) OR EXISTS (SELECT 1 FROM audit_checkpoints)"
)

_LATEST_SIGNER = sa.text("SELECT key_id FROM audit_tree_heads ORDER BY signed_at DESC LIMIT 1")


@dataclass(frozen=True, slots=True)
class Stored:
    """What the database holds that the key files must open: one stored data key (tenant,
    subject, wrapped) to try the secret on; whether any digest is keyed under it; whether tree
    heads or checkpoints were signed."""

    sample: tuple[UUID, UUID, bytes] | None
    keyed: bool
    signed: bool
    # The key id the latest tree head was signed with.
    signed_by: str | None = None


async def stored_data(owner_url: str) -> Stored:
    engine = create_async_engine(owner_url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(_SAMPLE)).first()
            keyed = bool((await conn.execute(_KEYED)).scalar())
            signed = bool((await conn.execute(_SIGNED)).scalar())
            signed_by = (await conn.execute(_LATEST_SIGNER)).scalar()
    finally:
        await engine.dispose()
    sample = (row[0], row[1], bytes(row[2])) if row is not None else None
    return Stored(sample, keyed or sample is not None, signed, signed_by)


def opens(secret: bytes, sample: tuple[UUID, UUID, bytes]) -> bool:
    """Whether `secret` unwraps the stored data key."""
    tenant_id, subject_id, wrapped = sample
    try:
        Keyring(secret).unwrap(tenant_id, subject_id, wrapped)
    except SealError:
        return False
    return True


# As the runtime role, under row-level security: one tenant's stored data key, and the key id
# its latest tree head was signed with (migration 0049 walks the tenants in the database).
_RUNTIME_SAMPLE = sa.text("SELECT * FROM consentd_key_sample()")


async def runtime_sample(url: str) -> tuple[tuple[UUID, UUID, bytes] | None, str | None]:
    """Through the runtime role (an external database, whose owner consentd may not be given):
    one stored data key of the first tenant that has one, and the key id of that tenant's latest
    signed tree head (None when none is found)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            row = (await conn.execute(_RUNTIME_SAMPLE)).first()
    finally:
        await engine.dispose()
    if row is None:
        return None, None
    return (row[0], row[1], bytes(row[2])), row[3]
