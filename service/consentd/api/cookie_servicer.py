"""consent.v1.CookieService: convert, call one use case, convert back.

The same servicer answers native gRPC (grpc.aio) and the browser port (Connect and gRPC-Web,
see api/browser.py): it reads the caller from the principal context variable and never touches
its transport context, which is typed `object` for that reason.
"""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from consent.v1 import cookies_pb2 as pb
from consent.v1 import cookies_pb2_grpc

from consentd.api import cookie_converters as conv
from consentd.api.context import once, principal
from consentd.app.cookies import CookieUseCases
from consentd.domain.cookie_policy import CookiePolicy
from consentd.domain.tenancy import Scope


class CookieServicer(cookies_pb2_grpc.CookieServiceServicer):
    def __init__(self, cookies: CookieUseCases, phone_region: str) -> None:
        self._cookies = cookies
        self._region = phone_region

    async def RecordCookieChoice(
        self, request: pb.RecordCookieChoiceRequest, context: object
    ) -> pb.RecordCookieChoiceResponse:
        command = conv.record_in(request, self._region)
        keyed = once(conv.record_out)
        answer = conv.record_out(
            await self._cookies.record_cookie_choice(principal(), command, keyed)
        )
        return _for_the_page(answer)

    async def GetCookieChoice(
        self, request: pb.GetCookieChoiceRequest, context: object
    ) -> pb.GetCookieChoiceResponse:
        visitor_id = conv.get_in(request)
        answer = conv.get_out(await self._cookies.get_cookie_choice(principal(), visitor_id))
        return _for_the_page(answer)

    async def ListCookieChoices(
        self, request: pb.ListCookieChoicesRequest, context: object
    ) -> pb.ListCookieChoicesResponse:
        owner, size, token = conv.list_in(request, self._region)
        page = await self._cookies.list_cookie_choices(principal(), owner, size, token)
        return conv.list_out(page)

    async def LinkVisitor(
        self, request: pb.LinkVisitorRequest, context: object
    ) -> pb.LinkVisitorResponse:
        visitor_id, subject = conv.link_in(request, self._region)
        keyed = once(_linked)
        return _linked(await self._cookies.link_visitor(principal(), visitor_id, subject, keyed))

    async def PutCookiePolicy(
        self, request: pb.PutCookiePolicyRequest, context: object
    ) -> pb.PutCookiePolicyResponse:
        policy = conv.policy_in(request)
        return _policy_put(
            await self._cookies.put_cookie_policy(principal(), policy, once(_policy_put))
        )

    async def GetCookiePolicy(
        self, request: pb.GetCookiePolicyRequest, context: object
    ) -> pb.GetCookiePolicyResponse:
        policy = await self._cookies.get_cookie_policy(principal())
        return pb.GetCookiePolicyResponse(policy=conv.policy_out(policy))


def _linked(linked: tuple[UUID, int]) -> pb.LinkVisitorResponse:
    subject_id, count = linked
    return pb.LinkVisitorResponse(subject_id=str(subject_id), choices_linked=count)


def _policy_put(stored: CookiePolicy) -> pb.PutCookiePolicyResponse:
    return pb.PutCookiePolicyResponse(policy=conv.policy_out(stored))


_Answer = TypeVar("_Answer", pb.RecordCookieChoiceResponse, pb.GetCookieChoiceResponse)


def _for_the_page(answer: _Answer) -> _Answer:
    """The subject id only for a caller that may link visitors and list a person's choices
    (consent:write, admin): a publishable key sits in web pages (anyone who knew a visitor id
    read whom it was linked to), and a campaign tool's consent:check key turned a browsing
    visitor into a person (probe FN)."""
    if answer.HasField("choice") and not principal().scopes & {Scope.WRITE, Scope.ADMIN}:
        answer.choice.subject_id = ""
    return answer
