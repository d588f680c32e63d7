"""CatalogService messages <-> domain types."""

from __future__ import annotations

from datetime import UTC, datetime

from consent.v1 import catalog_pb2 as pb

from consentd.api.converters import BASES, enum_in, enum_out, time_out
from consentd.api.limits import MAX_VALIDITY_DAYS
from consentd.app.paging import Page
from consentd.domain.catalog import MAX_NOTICE_CONTENT, check_key, check_language, check_text
from consentd.domain.errors import InvalidInput
from consentd.domain.model import Notice, Purpose


def purpose_in(request: pb.PutPurposeRequest) -> Purpose:
    message = request.purpose
    for stamped in ("created_at", "updated_at"):
        if message.HasField(stamped):
            raise InvalidInput(f"purpose.{stamped}", "is set by the server and must be left empty")
    if message.max_validity_days > MAX_VALIDITY_DAYS:
        raise InvalidInput("purpose.max_validity_days", f"must be at most {MAX_VALIDITY_DAYS}")
    return Purpose(
        purpose_id=check_key("purpose.purpose_id", message.purpose_id),
        lawful_basis=enum_in(BASES, message.lawful_basis, "purpose.lawful_basis"),
        # One line: it is quoted in the double opt-in mail (lines of its own there let a
        # catalogue editor write a fake header or link into a mail sent in the tenant's name).
        display_name=check_text("purpose.display_name", message.display_name, 200, one_line=True),
        description=check_text("purpose.description", message.description),
        notice_id=check_key("purpose.notice_id", message.notice_id) if message.notice_id else None,
        max_validity_days=message.max_validity_days,
        requires_confirmation=message.requires_confirmation,
    )


def purpose_out(purpose: Purpose) -> pb.Purpose:
    return pb.Purpose(
        purpose_id=purpose.purpose_id,
        display_name=purpose.display_name,
        description=purpose.description,
        lawful_basis=enum_out(BASES, purpose.lawful_basis),
        notice_id=purpose.notice_id or "",
        max_validity_days=purpose.max_validity_days,
        created_at=time_out(purpose.created_at),
        updated_at=time_out(purpose.updated_at),
        requires_confirmation=purpose.requires_confirmation,
    )


def purposes_out(page: Page[Purpose]) -> pb.ListPurposesResponse:
    return pb.ListPurposesResponse(
        purposes=[purpose_out(p) for p in page.items], next_page_token=page.next_page_token
    )


def notice_in(request: pb.PublishNoticeRequest) -> Notice:
    """The notice to publish; version, fingerprint and time are the server's."""
    return Notice(
        notice_id=check_key("notice_id", request.notice_id),
        version=0,
        title=check_text("title", request.title, 200, required=True, one_line=True),
        language=check_language("language", request.language),
        content=check_text("content", request.content, MAX_NOTICE_CONTENT, required=True),
        content_sha256="",
        requires_reconsent=request.requires_reconsent,
        published_at=datetime.min.replace(tzinfo=UTC),
    )


def notice_out(notice: Notice) -> pb.Notice:
    return pb.Notice(
        notice_id=notice.notice_id,
        version=notice.version,
        title=notice.title,
        language=notice.language,
        content=notice.content,
        content_sha256=notice.content_sha256,
        requires_reconsent=notice.requires_reconsent,
        published_at=time_out(notice.published_at),
    )


def notices_out(page: Page[Notice]) -> pb.ListNoticesResponse:
    return pb.ListNoticesResponse(
        notices=[notice_out(n) for n in page.items], next_page_token=page.next_page_token
    )
