"""Use cases of the catalogue: purposes and notices."""

from __future__ import annotations

from dataclasses import replace

from consentd.app.commands import MAX_PAGE_SIZE
from consentd.app.idempotency import Once
from consentd.app.paging import Page, decode_token, encode_token, is_cursor_value, page_size
from consentd.app.ports import Clock, UnitOfWorkFactory
from consentd.domain.audit import Action, AuditRecord
from consentd.domain.catalog import content_sha256
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.model import LawfulBasis, Notice, Purpose
from consentd.domain.tenancy import Principal

_PURPOSES = "purposes"
_NOTICES = "notices"


class CatalogUseCases:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def put_purpose(
        self, principal: Principal, purpose: Purpose, once: Once | None = None
    ) -> tuple[Purpose, bool]:
        """Create or update a purpose; True when created. Raises InvalidInput for an unknown
        notice, FailedPrecondition when the lawful basis or the notice (once set) would
        change."""
        now = self._clock()
        async with self._uow(principal.tenant_id, once) as uow:
            if purpose.requires_confirmation and purpose.lawful_basis is not LawfulBasis.CONSENT:
                raise InvalidInput(
                    "purpose.requires_confirmation",
                    "only a consent purpose can require confirmation (double opt-in)",
                )
            if purpose.notice_id and not await uow.catalog.notice_versions(purpose.notice_id):
                raise InvalidInput("purpose.notice_id", "no such notice: publish it first")
            before = (await uow.catalog.purposes([purpose.purpose_id])).get(purpose.purpose_id)
            if before and before.notice_id and before.notice_id != purpose.notice_id:
                # Its grants were given on that notice's text (a check compares their version
                # with the notice's): leaving or replacing it would revive the outdated ones.
                raise FailedPrecondition(
                    f"purpose {purpose.purpose_id!r} is bound to notice {before.notice_id!r}, "
                    "which never changes (send it again with its other fields); publish a new "
                    "version of that notice, or create a new purpose for another notice",
                    code="NOTICE_FIXED",
                )
            stored = await uow.catalog.put_purpose(purpose, now)
            if stored is None:
                raise FailedPrecondition(
                    f"purpose {purpose.purpose_id!r} exists with another lawful basis, which never "
                    "changes; create a new purpose instead",
                    code="LAWFUL_BASIS_FIXED",
                )
            saved, created = stored
            payload = {
                "purpose": saved.purpose_id,
                "lawful_basis": saved.lawful_basis.value,
                "notice_id": saved.notice_id,
                "max_validity_days": saved.max_validity_days,
                "requires_confirmation": saved.requires_confirmation,
                "display_name": saved.display_name,
                "description": saved.description,
                "created": created,
            }
            uow.audit.record(AuditRecord(Action.PURPOSE_PUT, now, payload))
            await uow.commit(stored)
        return stored

    async def get_purpose(self, principal: Principal, purpose_id: str) -> Purpose:
        """Raises NotFound."""
        async with self._uow(principal.tenant_id) as uow:
            found = await uow.catalog.purposes([purpose_id])
        if purpose_id not in found:
            raise NotFound(
                f"purpose {purpose_id!r} is not in this tenant's catalogue",
                code="PURPOSE_NOT_FOUND",
            )
        return found[purpose_id]

    async def list_purposes(self, principal: Principal, size: int, token: str) -> Page[Purpose]:
        limit = page_size(size, 100, MAX_PAGE_SIZE)
        after = decode_token(_PURPOSES, token, tenant=principal.tenant_id)
        if after is not None and not (isinstance(after, str) and is_cursor_value(after)):
            raise InvalidInput("page_token", "is not a page token issued for this list")
        async with self._uow(principal.tenant_id) as uow:
            items = await uow.catalog.list_purposes(after, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return Page(
            items,
            encode_token(_PURPOSES, items[-1].purpose_id, tenant=principal.tenant_id)
            if more
            else "",
        )

    async def publish_notice(
        self, principal: Principal, notice: Notice, once: Once | None = None
    ) -> Notice:
        """Store the next version, stamped and fingerprinted by the server."""
        stamped = replace(
            notice, content_sha256=content_sha256(notice.content), published_at=self._clock()
        )
        async with self._uow(principal.tenant_id, once) as uow:
            stored = await uow.catalog.publish_notice(stamped)
            payload = {
                "notice_id": stored.notice_id,
                "version": stored.version,
                "content_sha256": stored.content_sha256,
                "requires_reconsent": stored.requires_reconsent,
                "title": stored.title,
                "language": stored.language,
            }
            uow.audit.record(AuditRecord(Action.NOTICE_PUBLISHED, stamped.published_at, payload))
            await uow.commit(stored)
        return stored

    async def list_notices(
        self, principal: Principal, notice_id: str | None, size: int, token: str
    ) -> Page[Notice]:
        limit = page_size(size, 100, MAX_PAGE_SIZE)
        after = decode_token(_NOTICES, token, scope=notice_id or "", tenant=principal.tenant_id)
        if after is not None and not (
            isinstance(after, list)
            and len(after) == 2
            and isinstance(after[0], str)
            and is_cursor_value(after[0])
            and isinstance(after[1], int)
            and not isinstance(after[1], bool)
            and 0 <= after[1] < 2**31  # notices.version is an int4
        ):
            raise InvalidInput("page_token", "is not a page token issued for this list")
        async with self._uow(principal.tenant_id) as uow:
            items = await uow.catalog.list_notices(
                notice_id, (after[0], after[1]) if after else None, limit + 1
            )
        more = len(items) > limit
        items = items[:limit]
        last = [items[-1].notice_id, items[-1].version] if more else None
        return Page(
            items,
            encode_token(_NOTICES, last, notice_id or "", tenant=principal.tenant_id)
            if last
            else "",
        )
