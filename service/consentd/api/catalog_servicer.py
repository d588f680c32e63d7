"""consent.v1.CatalogService over grpc.aio."""

from __future__ import annotations

from typing import Any

import grpc
from consent.v1 import catalog_pb2 as pb
from consent.v1 import catalog_pb2_grpc

from consentd.api import catalog_converters as conv
from consentd.api.context import once, principal
from consentd.app.catalog import CatalogUseCases
from consentd.domain.catalog import check_key
from consentd.domain.model import Notice, Purpose

Context = grpc.aio.ServicerContext[Any, Any]


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, catalog: CatalogUseCases) -> None:
        self._catalog = catalog

    async def PutPurpose(
        self, request: pb.PutPurposeRequest, context: Context
    ) -> pb.PutPurposeResponse:
        purpose = conv.purpose_in(request)
        return _put(await self._catalog.put_purpose(principal(), purpose, once(_put)))

    async def GetPurpose(
        self, request: pb.GetPurposeRequest, context: Context
    ) -> pb.GetPurposeResponse:
        purpose_id = check_key("purpose_id", request.purpose_id)
        purpose = await self._catalog.get_purpose(principal(), purpose_id)
        return pb.GetPurposeResponse(purpose=conv.purpose_out(purpose))

    async def ListPurposes(
        self, request: pb.ListPurposesRequest, context: Context
    ) -> pb.ListPurposesResponse:
        page = await self._catalog.list_purposes(principal(), request.page_size, request.page_token)
        return conv.purposes_out(page)

    async def PublishNotice(
        self, request: pb.PublishNoticeRequest, context: Context
    ) -> pb.PublishNoticeResponse:
        notice = conv.notice_in(request)
        return _published(await self._catalog.publish_notice(principal(), notice, once(_published)))

    async def ListNotices(
        self, request: pb.ListNoticesRequest, context: Context
    ) -> pb.ListNoticesResponse:
        notice_id = check_key("notice_id", request.notice_id) if request.notice_id else None
        page = await self._catalog.list_notices(
            principal(), notice_id, request.page_size, request.page_token
        )
        return conv.notices_out(page)


def _put(stored: tuple[Purpose, bool]) -> pb.PutPurposeResponse:
    purpose, created = stored
    return pb.PutPurposeResponse(purpose=conv.purpose_out(purpose), created=created)


def _published(notice: Notice) -> pb.PublishNoticeResponse:
    return pb.PublishNoticeResponse(notice=conv.notice_out(notice))
