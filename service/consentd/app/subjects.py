"""Finding the subject a request names, and creating it when a write needs it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from consentd.app.commands import SubjectSelector
from consentd.app.keys import SubjectKeys
from consentd.app.ports import Digest, NewSubject, UnitOfWork
from consentd.domain.errors import FailedPrecondition, NotFound, PermissionDenied
from consentd.domain.identifiers import Identifier, IdentifierHasher
from consentd.domain.rights import BlockKind
from consentd.domain.sealing import SubjectKey
from consentd.domain.tenancy import Principal


class LinkRaced(FailedPrecondition):
    """A contact point of the call was linked by another write between the read of its owners
    and its own link (a first write of one contact point takes no lock): the call runs again
    once (app/grouped_writes.py), reading what that write committed, as in sequence. A second
    race answers as a conflict."""


CONFLICT = (
    "the identifiers given belong to different subjects (the person was recorded twice, e.g. "
    "once by email and once by phone, or a STOP came from a number nobody knew): send each "
    "identifier in a call of its own; to make them one person's, move the contact point with "
    "RectifyContact (remove it from the subject holding it, then give it to the other: any "
    '"no" on it stays on it)'
)


class SubjectResolver:
    """Turns selectors and identifiers into subject ids inside one tenant."""

    def __init__(self, hasher: IdentifierHasher, keys: SubjectKeys) -> None:
        self._hasher = hasher
        self._keys = keys

    def digests(self, tenant_id: UUID, identifiers: Sequence[Identifier]) -> list[Digest]:
        return [(i.kind, self._hasher.digest(tenant_id, i)) for i in identifiers]

    async def find(
        self, uow: UnitOfWork, tenant_id: UUID, selector: SubjectSelector
    ) -> UUID | None:
        """The subject the selector names, or None when it names nobody."""
        if isinstance(selector, UUID):
            return selector if await uow.subjects.exists(selector) else None
        owners = await uow.subjects.owners(self.digests(tenant_id, [selector]))
        return next(iter(owners.values()), None)

    async def find_or_create(
        self, uow: UnitOfWork, tenant_id: UUID, identifiers: Sequence[Identifier], now: datetime
    ) -> UUID:
        """The one subject the identifiers name, linking any new ones; a new subject if none.

        Raises FailedPrecondition when they name different subjects. Safe against a concurrent
        creation: identifiers are linked with ON CONFLICT and the winner's subject is kept; with
        several, some new, the writers take each one's lock and read their owners again (three
        first writes of one person naming two of e-mail, phone and id each split them between
        three new subjects: IDENTIFIERS_OF_TWO_SUBJECTS, FAILED_PRECONDITION; probe DV).
        """
        named = sorted(
            (((i.kind, self._hasher.digest(tenant_id, i)), i) for i in identifiers),
            key=lambda pair: pair[0],
        )
        digests = [digest for digest, _ in named]
        linked = await uow.subjects.owners(digests)
        if len(named) > 1 and len(linked) < len(named):
            await uow.subjects.lock_points(digests)
            linked = await uow.subjects.owners(digests)
        if not linked and len(named) == 1:
            made = await self._create_linked(uow, tenant_id, named[0], now)
            if made is not None:
                return made
            linked = await uow.subjects.owners(digests)  # the request that linked it first
        owners = set(linked.values())
        if len(owners) > 1:
            raise FailedPrecondition(CONFLICT, code="IDENTIFIERS_OF_TWO_SUBJECTS")
        if owners:
            # Identifiers linked already need nothing: no key, no attach, no owner read.
            new = [pair for pair in named if pair[0] not in linked]
            return await self._attach_all(uow, tenant_id, owners.pop(), new, now)
        subject_id = uuid4()
        await uow.subjects.create(subject_id, now)
        return await self._attach_all(uow, tenant_id, subject_id, named, now, created=True)

    async def _create_linked(
        self, uow: UnitOfWork, tenant_id: UUID, named: tuple[Digest, Identifier], now: datetime
    ) -> UUID | None:
        """A new subject for one new identifier (most writes name one): subject, key, identifier
        and holding in one statement, not three. None when another request linked the
        identifier meanwhile: nothing of ours is linked, our subject and key are removed."""
        subject_id = uuid4()
        key, wrapped = self._keys.made(tenant_id, subject_id)
        digest, identifier = named
        sealed = key.seal(identifier.kind.value, identifier.value)
        made = NewSubject(subject_id, wrapped, [(digest, sealed)])
        if await uow.subjects.create_many([made], now):
            return subject_id
        await uow.subjects.delete_unreferenced(subject_id)
        return None

    async def _attach_all(
        self,
        uow: UnitOfWork,
        tenant_id: UUID,
        subject_id: UUID,
        named: Sequence[tuple[Digest, Identifier]],
        now: datetime,
        *,
        created: bool = False,
    ) -> UUID:
        """Link each identifier with its value sealed under the owner's key (`created`: the
        subject was made in this unit of work)."""
        chosen = subject_id
        key: SubjectKey | None = None
        for index, (digest, identifier) in enumerate(named):
            if key is None or key.subject_id != chosen:
                fresh = created and chosen == subject_id
                key = await self._keys.key(uow, tenant_id, chosen, now, created=fresh)
            sealed = key.seal(identifier.kind.value, identifier.value)
            owner = await uow.subjects.attach(chosen, digest, now, sealed)
            if owner != chosen:
                # Linked by another write since the owners were read. Only a subject made here
                # joins it, on its first link; else nothing is kept (probe ED: a subject held
                # one of the call's contact points, joining left it there, and a CRM's grant
                # landed beside the person's "no") and the call reads again (LinkRaced).
                if not created or chosen != subject_id or index != 0:
                    raise LinkRaced(CONFLICT, code="IDENTIFIERS_OF_TWO_SUBJECTS")
                chosen = owner  # another request created this subject first: join it
        if chosen != subject_id:
            await uow.subjects.delete_unreferenced(subject_id)
        return chosen

    async def erased_at(
        self, uow: UnitOfWork, tenant_id: UUID, identifier: Identifier
    ) -> datetime | None:
        """When the contact point was last erased at the person's request, if nobody took it
        back in person since (its suppression entry; store/closed_points.py); else None."""
        closed = await uow.rights.closed_contact_points(self.digests(tenant_id, [identifier]))
        erased = [c.at for c in closed.values() if c.reason is BlockKind.ERASED]
        return max(erased, default=None)

    async def linkable(
        self, uow: UnitOfWork, tenant_id: UUID, selector: SubjectSelector, now: datetime
    ) -> UUID:
        """The subject something of the person's is linked to (a visitor, a cookie choice),
        made for a contact point nobody holds; never an erased subject nor a contact point
        erased at the person's request that nobody holds since: LinkVisitor by an erased
        address made a new subject holding it again (probe V). Raises NotFound (unknown id),
        FailedPrecondition (SUBJECT_ERASED, CONTACT_POINT_ERASED)."""
        found = await self.find(uow, tenant_id, selector)
        if found is None:
            if isinstance(selector, UUID):
                raise NotFound("subject not found", code="SUBJECT_NOT_FOUND")
            erased = await self.erased_at(uow, tenant_id, selector)
            if erased is not None:
                raise FailedPrecondition(
                    # No time: the erasure's instant matched the subject's in the change
                    # feed (probe XA).
                    f"this {selector.kind.value} was erased: a visitor or "
                    "a cookie choice does not bring the person back",
                    code="CONTACT_POINT_ERASED",
                )
            return await self.find_or_create(uow, tenant_id, [selector], now)
        # Its write lock, as an erasure takes it: a link racing one landed after it, on the
        # erased subject (probe Y).
        await uow.consents.lock_subject(found)
        if await uow.rights.erased_at(found) is not None:
            raise FailedPrecondition(
                "the subject was erased: nothing is linked to it any more", code="SUBJECT_ERASED"
            )
        return found

    async def refuse_erased(
        self, uow: UnitOfWork, tenant_id: UUID, own: Identifier, *, hold: bool = False
    ) -> None:
        """NotFound (SUBJECT_ERASED) when the person a portal token names was erased and nobody
        holds their contact point since (a link still valid made them anew; probe HD). `hold`
        (a write): their subject held under its write lock, so that an erasure under way ends
        first and is seen (a grant racing one made them anew; probe HJ)."""
        found = await self.find(uow, tenant_id, own)
        if found is None:
            erased = await self.erased_at(uow, tenant_id, own)
        elif hold:
            await uow.consents.lock_subject(found)
            erased = await uow.rights.erased_at(found)
        else:
            return
        if erased is not None:
            raise _erased_person(erased)

    async def kept(
        self, uow: UnitOfWork, tenant_id: UUID, selector: SubjectSelector, now: datetime
    ) -> UUID:
        """The subject a "no" or a request is kept for: an id must name one (NotFound), a
        contact point nobody has recorded yet becomes one (a withdrawal, an objection, a rights
        request from an unknown address is never lost)."""
        if isinstance(selector, UUID):
            return await self.require(uow, tenant_id, selector)
        return await self.find_or_create(uow, tenant_id, [selector], now)

    async def require(self, uow: UnitOfWork, tenant_id: UUID, selector: SubjectSelector) -> UUID:
        subject_id = await self.find(uow, tenant_id, selector)
        if subject_id is None:
            raise NotFound("subject not found", code="SUBJECT_NOT_FOUND")
        return subject_id

    async def guard(self, uow: UnitOfWork, principal: Principal, selector: SubjectSelector) -> None:
        """A portal caller may name only its own subject, by identifier or by id.

        Raises PermissionDenied otherwise, before anything about the other subject is read;
        NotFound (SUBJECT_ERASED) for a person erased (refuse_erased)."""
        own = principal.subject
        if own is None:
            return
        if selector == own:
            await self.refuse_erased(uow, principal.tenant_id, own)
            return
        if (
            isinstance(selector, UUID)
            and await self.find(uow, principal.tenant_id, own) == selector
        ):
            return
        raise PermissionDenied("a portal token or preference link may act only for its own subject")


def _erased_person(erased: datetime) -> NotFound:
    return NotFound(
        # The day only (its holder is the person): the instant named their subject (XA).
        f"nothing is held about this person any more: erased on {erased:%Y-%m-%d}",
        code="SUBJECT_ERASED",
    )
