"""Subjects' data keys: found, made on first use, unwrapped for one unit of work."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from consentd.app.ports import UnitOfWork
from consentd.domain.sealing import Keyring, SealError, SubjectKey


class SubjectKeys:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    async def key(
        self,
        uow: UnitOfWork,
        tenant_id: UUID,
        subject_id: UUID,
        now: datetime,
        *,
        created: bool = False,
    ) -> SubjectKey:
        """The subject's key, made and stored when it has none (concurrent makers converge on
        the one stored first). `created`: the subject was made in this unit of work, so it has
        no key yet and looking one up would be a wasted round trip."""
        wrapped = None if created else await uow.rights.wrapped_key(subject_id)
        if wrapped is None:
            _, fresh = self._keyring.new_key(tenant_id, subject_id)
            wrapped = await uow.rights.store_key(subject_id, fresh, now)
        return self._keyring.unwrap(tenant_id, subject_id, wrapped)

    def made(self, tenant_id: UUID, subject_id: UUID) -> tuple[SubjectKey, bytes]:
        """A new subject's fresh key and its wrapped form, to be stored with the subject."""
        return self._keyring.new_key(tenant_id, subject_id)

    def unwrapped(self, tenant_id: UUID, subject_id: UUID, wrapped: bytes) -> SubjectKey:
        """The subject's key from its wrapped form, read elsewhere (a write batch's reads)."""
        return self._keyring.unwrap(tenant_id, subject_id, wrapped)

    async def existing(
        self, uow: UnitOfWork, tenant_id: UUID, subject_id: UUID
    ) -> SubjectKey | None:
        """The subject's key, or None once it was destroyed (erased) or never made."""
        wrapped = await uow.rights.wrapped_key(subject_id)
        return self._keyring.unwrap(tenant_id, subject_id, wrapped) if wrapped else None

    async def vouched(self, uow: UnitOfWork, tenant_id: UUID, subject_id: UUID) -> bytes | None:
        """The secret's check (domain/sealing.secret_check) when the secret opens the subject's
        stored key, else None: an erasure keeps it as it destroys that key, so that a start can
        still tell a wrong secret once every subject is erased (probe DU, migration 0050)."""
        wrapped = await uow.rights.wrapped_key(subject_id)
        if wrapped is None:
            return None
        try:
            self._keyring.unwrap(tenant_id, subject_id, wrapped)
        except SealError:
            return None
        return self._keyring.check
