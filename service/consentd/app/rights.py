"""Use cases of the rights of the person: export (access, portability; the document is laid
out by app/subject_export.py), erasure by crypto-shredding, restriction, objection and
rectification of contact points.

Each is one unit of work and one audit entry. Erasure destroys the subject's data key (every
sealed value is then unreadable), unlinks its identifiers and keeps their keyed hashes as
suppression entries, so a later check for the same email or phone is still DENY; the history
and the audit chain, which hold no personal data, stay and still verify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from consentd.app.blocking import after_its_facts, block_subject, refuse_erased, subject_record
from consentd.app.commands import SubjectSelector
from consentd.app.erasure import Erasure, erase_subject
from consentd.app.idempotency import Once
from consentd.app.keys import SubjectKeys
from consentd.app.ports import Clock, Digest, UnitOfWork, UnitOfWorkFactory
from consentd.app.subject_export import ExportSection, export_document, read_records
from consentd.app.subjects import SubjectResolver
from consentd.domain.audit import Action
from consentd.domain.canonical import canonical
from consentd.domain.errors import FailedPrecondition, NotFound, PermissionDenied
from consentd.domain.identifiers import Identifier, IdentifierHasher, IdentifierKind
from consentd.domain.rights import BlockKind, ContactChange
from consentd.domain.sealing import SubjectKey
from consentd.domain.tenancy import Principal, Scope

# RectifyContact giving a contact point another subject holds (a STOP from a number nobody knew,
# the CRM's customer by external id: probe BO).
_HELD_BY_ANOTHER = (
    "belongs to another subject: remove it from that subject first (RectifyContact with "
    'remove), then give it here; any "no" on it stays on it'
)


class RightsUseCases:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: IdentifierHasher,
        keys: SubjectKeys,
        clock: Clock,
        sections: Mapping[str, ExportSection] | None = None,
    ) -> None:
        self._uow = uow
        self._keys = keys
        self._subjects = SubjectResolver(hasher, keys)
        self._hasher = hasher
        self._clock = clock
        self._sections = dict(sections or {})

    async def erase(
        self,
        principal: Principal,
        selector: SubjectSelector,
        actor: str,
        once: Once | None = None,
    ) -> Erasure:
        """Crypto-shred the subject. Idempotent: by a contact point erased before that nobody
        holds since, when it was erased (a retry by email was NOT_FOUND; probe V). Raises
        NotFound."""
        now = self._clock()
        async with self._uow(principal.tenant_id, once) as uow:
            subject_id = await self._subjects.find(uow, principal.tenant_id, selector)
            if subject_id is None and isinstance(selector, Identifier):
                return await _erased_before(uow, self._subjects, principal.tenant_id, selector)
            if subject_id is None:  # (found once: a racing erasure unlinked it since, probe WA)
                subject_id = await self._subjects.require(uow, principal.tenant_id, selector)
            # Erased already: when, and no second entry (probe CF: the log showed two erasures),
            # read under the subject's lock (probe IH: two calls at once wrote one each).
            keys = self._keys
            erasure = await erase_subject(
                uow, subject_id, now, actor, None, by=principal, keys=keys
            )
            await uow.commit(erasure)
        if erasure.again and isinstance(selector, Identifier):
            # Found by its contact point before a racing erasure committed: answered as any
            # repeat by contact point, without the id the erasure unlinked (probe WA).
            return replace(erasure, subject_id=None)
        return erasure

    async def restrict(
        self,
        principal: Principal,
        selector: SubjectSelector,
        lift: bool = False,
        once: Once | None = None,
    ) -> UUID:
        """Put a restriction of processing in force (or lift it: an admin's, PermissionDenied
        for others: a support desk records one, lifting it undoes the person's right, who is
        told first, art. 18(3); probe GH). Raises NotFound."""
        if lift and Scope.ADMIN not in principal.scopes:
            raise PermissionDenied("lifting a restriction needs a key with scope admin")
        now = self._clock()
        async with self._uow(principal.tenant_id, once) as uow:
            subject_id = await self._subjects.require(uow, principal.tenant_id, selector)
            await uow.consents.lock_subject(subject_id)
            await refuse_erased(uow, subject_id, "restrict")
            if lift:
                block = await uow.rights.lift_block(subject_id, BlockKind.RESTRICTED, now)
                action = Action.RESTRICTION_LIFTED
            else:
                block = await uow.rights.add_block(subject_id, BlockKind.RESTRICTED, now, None)
                action = Action.SUBJECT_RESTRICTED
            if block is not None:
                by = {"by": principal.caller}
                uow.audit.record(subject_record(action, subject_id, now, by, block))
            await uow.commit(subject_id)
        return subject_id

    async def object(
        self, principal: Principal, selector: SubjectSelector, once: Once | None = None
    ) -> UUID:
        """Record an objection to processing for marketing. A contact point nobody has recorded
        yet becomes a subject, so the objection is kept (as a withdrawal's is): a NOT_FOUND left
        a legitimate-interest purpose ALLOW for it. Raises NotFound for an unknown subject id."""
        tenant_id = principal.tenant_id
        async with self._uow(tenant_id, once) as uow:
            subject_id = await self._subjects.kept(uow, tenant_id, selector, self._clock())
            await block_subject(
                uow, subject_id, BlockKind.OBJECTED, self._clock, None, by=principal.caller
            )
            await uow.commit(subject_id)
        return subject_id

    async def rectify(
        self,
        principal: Principal,
        selector: SubjectSelector,
        value: Identifier | IdentifierKind,
        actor: str,
        once: Once | None = None,
    ) -> UUID:
        """Replace the subject's contact points of `value`'s kind by `value` — or, given a kind
        alone, take them away (a seat that changed hands, a number no longer theirs) — keeping
        the old ones (sealed) in the contact history. Raises NotFound, FailedPrecondition
        (erased subject, the value belongs to another subject, nothing of that kind to take)."""
        kind = value if isinstance(value, IdentifierKind) else value.kind
        now = self._clock()
        tenant_id = principal.tenant_id
        async with self._uow(tenant_id, once) as uow:
            subject_id = await self._subjects.require(uow, tenant_id, selector)
            key = await self._keys.existing(uow, tenant_id, subject_id)
            await uow.consents.lock_subject(subject_id)
            await refuse_erased(uow, subject_id, "rectify")
            if key is None:
                raise FailedPrecondition(
                    "the subject was erased: nothing to rectify", code="SUBJECT_ERASED"
                )
            now = await after_its_facts(uow, subject_id, now)
            digest = None if isinstance(value, IdentifierKind) else self._digest(tenant_id, value)
            changes = await _replace(uow, subject_id, (value, digest), key, now=now, actor=actor)
            if changes:
                await uow.rights.log_contact_changes(subject_id, changes)
                added = sum(c.action == "added" for c in changes)
                payload = {"kind": kind.value, "removed": len(changes) - added, "added": added}
                uow.audit.record(subject_record(Action.CONTACT_RECTIFIED, subject_id, now, payload))
            await uow.commit(subject_id)
        return subject_id

    def _digest(self, tenant_id: UUID, value: Identifier) -> Digest:
        return (value.kind, self._hasher.digest(tenant_id, value))

    async def export(self, principal: Principal, selector: SubjectSelector) -> dict[str, Any]:
        """Everything held about the subject, as a JSON-ready document (schema
        `consentd.subject-export/1`, see docs/subject-export.md). Raises NotFound."""
        now = self._clock()
        tenant_id = principal.tenant_id
        async with self._uow(tenant_id) as uow:
            await self._subjects.guard(uow, principal, selector)  # a portal caller: itself only
            subject_id = await self._subjects.require(uow, tenant_id, selector)
            key = await self._keys.existing(uow, tenant_id, subject_id)
            records = await read_records(uow, subject_id, self._sections)
            document = export_document(principal, now, subject_id, key, records)
            # What was handed over, provable (an access or portability request answered left
            # no trace; probe CD): who asked and the document's digest, never its content.
            digest = hashlib.sha256(canonical(document)).hexdigest()
            shown = {"by": principal.caller, "document_sha256": digest}
            uow.audit.record(subject_record(Action.SUBJECT_EXPORTED, subject_id, now, shown))
            await uow.commit()
        return document


async def _erased_before(
    uow: UnitOfWork, subjects: SubjectResolver, tenant_id: UUID, selector: Identifier
) -> Erasure:
    erased = await subjects.erased_at(uow, tenant_id, selector)
    if erased is None:
        raise NotFound("subject not found", code="SUBJECT_NOT_FOUND")
    return Erasure(None, erased, 0, 0)


async def _replace(
    uow: UnitOfWork,
    subject_id: UUID,
    named: tuple[Identifier | IdentifierKind, Digest | None],
    key: SubjectKey,
    *,
    now: datetime,
    actor: str,
) -> list[ContactChange]:
    """rectify()'s changes: the subject's other points of the kind removed, `value` added
    unless held already; none for a value held alone (probe CA: a CRM sending the same address
    again wrote a removal and an addition that never happened, restarting the holding)."""
    value, digest = named
    kind = value if isinstance(value, IdentifierKind) else value.kind
    owners = await uow.subjects.owners([digest]) if digest else {}
    held = digest is not None and owners.get(digest) == subject_id
    keep = digest[1] if held and digest else b""
    removed = await uow.rights.detach(subject_id, kind, now, keep)
    changes = [
        ContactChange(uuid4(), r.kind, "removed", r.sealed_value, now, actor) for r in removed
    ]
    if isinstance(value, Identifier) and digest is not None and not held:
        sealed = key.seal(kind.value, value.value)
        if await uow.subjects.attach(subject_id, digest, now, sealed) != subject_id:
            raise FailedPrecondition(
                f"this {kind.value} {_HELD_BY_ANOTHER}", code="HELD_BY_ANOTHER_SUBJECT"
            )
        changes.append(ContactChange(uuid4(), kind, "added", sealed, now, actor))
    elif not removed and not held:
        raise FailedPrecondition(
            f"the subject holds no {kind.value}: nothing to remove", code="NOTHING_TO_REMOVE"
        )
    return changes
