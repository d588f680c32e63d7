"""The HTTP side of the browser port: an ASGI app that routes `/[t/<tenant id>/]<service>/...`
to the Connect apps (api/browser.py) or to the pages (api/pages.py), with CORS (api/cors.py),
and the uvicorn server that runs it in the serve process's event loop beside grpcio."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import grpc
import uvicorn

from consentd.api.asgi import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    Started,
    closed_by_the_server,
    header,
    lifespan,
    respond,
    with_safe_headers,
)
from consentd.api.browser_gate import (
    BrowserRequest,
    browser_request,
    path_origins,
)
from consentd.api.calls import ADMITTING, UNKNOWN_METHOD, count_refused
from consentd.api.cors import (
    answer_preflight,
    exposing_to_origin,
    is_same_origin,
    two_origins_refused,
)
from consentd.api.head_refusals import Authenticate, head_refusal
from consentd.api.http_guard import ConnectionGuard
from consentd.api.http_protocol import guarded_protocol
from consentd.api.link_pages import LinkPage, page_for
from consentd.api.pages import DemoPage, Pages
from consentd.api.refusals import (
    NOT_A_TENANT_ID,
    UNIMPLEMENTED,
    answer_internal,
    closing,
    discard_body,
    is_method,
    is_native_grpc,
    refuse_native_grpc,
    refuse_unread,
    refuse_unserved,
)
from consentd.app.cookies import CookieUseCases
from consentd.domain.tenancy import tenant_id_of
from consentd.telemetry import Telemetry

# `/t/<tenant id>/<service>/<method>`: the tenant of a cross-origin page (a preflight carries no
# credential, so the URL names the tenant whose allowed origins answer it).
TENANT_PREFIX = re.compile(r"/t/([^/]{1,64})(/.*)")
# A method of a consent.v1 service this port does not serve (answered UNIMPLEMENTED).
_SERVICE_PATH = re.compile(r"/(consent\.v1\.[A-Za-z]{1,64})/([A-Za-z]{1,64})\Z")


def _routed_path(scope: Scope) -> str:
    """The path a call is routed by: as sent when it percent-encodes a method's (the server
    decodes `%2F`, and `/consent.v1.ConsentService%2FCheckConsent` reached CheckConsent past a
    proxy's rule on its path; probe TC), else as decoded."""
    path: str = scope["path"]
    raw = scope.get("raw_path") or b""
    if b"%" in raw and "consent.v1." in path:
        return raw.decode("latin-1")
    return path


class BrowserApp:
    """Routes `/[t/<tenant id>/]<service>/<method>` to the Connect apps, answers CORS preflights
    from the tenant's allowed origins, and serves the demo banner page when `demo` is given."""

    def __init__(
        self,
        services: list[Any],
        cookies: CookieUseCases,
        demo: DemoPage | None = None,
        preferences: Path | None = None,
        authenticate: Authenticate | None = None,
        *,
        tenant_exists: Callable[[UUID], Awaitable[bool]],
        telemetry: Telemetry | None = None,
        links: Sequence[LinkPage] = (),
    ) -> None:
        """`authenticate`: the credential, tenant and scope check run before a body is read (a
        caller without a valid credential, or calling a method its scopes do not allow, never
        reaches the decoder); the Gate admits the call afterwards.
        `telemetry` counts the calls refused here; `links`, the pages a message's link opens."""
        self._services = {f"{app.path}/": app for app in services}
        self._cookies = cookies
        self._pages = Pages(demo, preferences)
        self._authenticate = authenticate
        self._exists = tenant_exists
        self._telemetry = telemetry
        self._links = links

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        send = with_safe_headers(send)
        if scope["type"] != "http":
            return
        if await two_origins_refused(scope, send):  # counted, as every refusal (probe YB)
            self._count(_routed_path(scope), grpc.StatusCode.INVALID_ARGUMENT)
            return
        started = Started(send)
        try:
            await self._route(scope, receive, started)
        except Exception as error:
            if closed_by_the_server(error):
                # A malformed body (a bad chunk): the HTTP layer answered 400 and closed while
                # the app wrote: each logged a traceback a keyless client could repeat (TA).
                return
            if started.started:
                raise
            await answer_internal(send, error)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, tenant = _routed_path(scope), None
        if match := TENANT_PREFIX.fullmatch(path):
            tenant, path = match.group(1), match.group(2)
            scope = {**scope, "path": path, "raw_path": path.encode(), "root_path": ""}
            if tenant_id_of(tenant) is None:  # a slug: preflight "origin not allowed" (QC)
                await self._not_a_tenant_id(scope, send)
                return
        app, origin = self._app_of(path), header(scope, b"origin")
        # Any service of the contract is preflighted (AuditService's was a bare 404: probe OA).
        if (app or _SERVICE_PATH.match(path)) and scope["method"] == "OPTIONS":
            allowed = await path_origins(self._cookies, tenant, self._exists)
            await answer_preflight(scope, send, origin, allowed)
        elif app is not None and is_native_grpc(scope):
            await discard_body(receive)
            await refuse_native_grpc(send)
        elif app is not None and not (_SERVICE_PATH.match(path) and is_method(path)):
            # Only a method of the contract reaches a Connect app (`.../RecordCookieChoice/../
            # PutCookiePolicy` reached PutCookiePolicy, probe BQ; with a key, connectrpc's own
            # 404 for no method went uncounted, YB), key or not, as on the gRPC port.
            await discard_body(receive)
            exposed = self._exposing(send, tenant, origin)
            no_such = (UNIMPLEMENTED, f"{app.path[1:]} has no such method")
            await refuse_unread(scope, exposed, no_such)
            self._count(path, UNIMPLEMENTED)
        elif app is not None and (refused := await self._refused(scope, path, tenant)) is not None:
            # Answered before its body is read, and the connection closed after: waiting for
            # the body held a caller without a key 30 s, one that never sent it (probe O).
            refusal, whose = refused
            exposed = self._exposing(send, tenant, origin)
            await refuse_unread(scope, closing(exposed), refusal)
            self._count(path, refusal[0], whose)
        elif app is not None and path in app.unserved:  # left to the gRPC port: from the head,
            exposed = closing(self._exposing(send, tenant, origin))  # readable by the origin
            await refuse_unserved(scope, exposed, *path[1:].rsplit("/", 1))
            self._count(path, UNIMPLEMENTED)
        elif app is not None:
            state = BrowserRequest(tenant, origin, same_origin=is_same_origin(scope, origin))
            await self._call(app, scope, receive, send, state=state)
        elif tenant is None and (page := page_for(self._links, path)) is not None:
            await page.serve(scope, receive, send, path[len(page.prefix) :])
        elif (service := _SERVICE_PATH.match(path)) and scope["method"] in ("POST", "GET"):
            # From the head, the connection closed after (a body never sent held it 30 s).
            exposed = closing(self._exposing(send, tenant, origin))
            await refuse_unserved(scope, exposed, service.group(1), service.group(2))
            self._count(path, grpc.StatusCode.UNIMPLEMENTED)
        elif tenant is None:
            await self._pages.serve(scope, send, path)
        else:
            await respond(send, 404, b"not found")

    def _app_of(self, path: str) -> Any:
        return next((a for p, a in self._services.items() if path.startswith(p)), None)

    async def _refused(
        self, scope: Scope, method: str, tenant: str | None
    ) -> tuple[tuple[grpc.StatusCode, str], str] | None:
        if self._authenticate is None:
            return None
        return await head_refusal(self._authenticate, self._cookies, scope, method, tenant)

    async def _not_a_tenant_id(self, scope: Scope, send: Send) -> None:
        """A `/t/<slug>/...` path: said to the page whatever its origin (a fixed text, nothing
        of a tenant), its preflight let through so the call reads why (it read "CORS error",
        the 400 without CORS headers; probe RA)."""
        origin = header(scope, b"origin")
        if scope["method"] == "OPTIONS":
            await answer_preflight(scope, send, origin, frozenset({origin or ""}))
            return
        state = BrowserRequest(None, origin, same_origin=False, cors_allowed=True)
        anyone = exposing_to_origin(send, state, self._origins(None))  # allowed: not asked
        await refuse_unread(scope, closing(anyone), NOT_A_TENANT_ID)
        self._count(scope["path"], NOT_A_TENANT_ID[0])

    def _exposing(self, send: Send, tenant: str | None, origin: str | None) -> Send:
        """`send`, its answer readable by a page of an allowed origin (a revoked key read as
        "Failed to fetch"; a path naming no method too, probe BR)."""
        exposed = BrowserRequest(tenant, origin, same_origin=False)
        return exposing_to_origin(send, exposed, self._origins(tenant))

    def _origins(self, tenant: str | None) -> Callable[[], Awaitable[frozenset[str]]]:
        """The origins the path's tenant allows, read when an answer starts."""
        return lambda: path_origins(self._cookies, tenant, self._exists)

    def _count(self, path: str, code: grpc.StatusCode, tenant: str = "") -> None:
        """A call refused here, before the gate (see api/calls.count_refused)."""
        if self._telemetry is not None:
            method = path if is_method(path) else UNKNOWN_METHOD
            count_refused(method, self._telemetry, {}, code, tenant=tenant, started=ADMITTING.get())

    async def _call(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, state: BrowserRequest
    ) -> None:
        """Run the Connect app with `state` visible to its interceptor; add CORS headers to the
        response when the interceptor admitted the origin, or, for a refusal, when the path's
        tenant allows it."""
        token = browser_request.set(state)
        try:
            exposed = exposing_to_origin(send, state, self._origins(state.path_tenant))
            await app(scope, receive, exposed)
        finally:
            browser_request.reset(token)


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: `consentd serve` owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """uvicorn serving the browser app on one socket, as a task of the current event loop, with
    read deadlines and a connection limit (api/http_guard.py)."""

    def __init__(self, app: ASGIApp, grace: float, *, guard: ConnectionGuard | None = None) -> None:
        self._app = app
        self._grace = grace
        self.guard = guard or ConnectionGuard()
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self, address: str, *, reuse_port: bool = False) -> int:
        """Listen on host:port (0 for any free port); returns the port. `reuse_port`: several
        processes may listen on it (SO_REUSEPORT, as the gRPC port with CONSENTD_REUSE_PORT)."""
        host, port = address.rsplit(":", 1)
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, int(port)))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            http=guarded_protocol(self.guard),
            ws="none",
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=True,
            timeout_graceful_shutdown=int(self._grace) or 1,
        )
        self._server = _Uvicorn(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self.port

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (within the grace), then close."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None
