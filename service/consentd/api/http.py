"""The HTTP side of the browser port: an ASGI app (tenant prefix, CORS, demo page) and the
uvicorn server that runs it in the serve process's event loop beside grpcio."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import grpc
import uvicorn

from consentd.api.browser import (
    ALLOWED_HEADERS,
    EXPOSED_HEADERS,
    PREFLIGHT_MAX_AGE,
    BrowserRequest,
    browser_request,
)
from consentd.api.calls import metadata_of
from consentd.app.cookies import CookieUseCases
from consentd.domain.errors import ConsentError, Unauthenticated

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Authenticate = Callable[[Mapping[str, str]], Awaitable[None]]

# `/t/<tenant id>/<service>/<method>`: the tenant of a cross-origin page (a preflight carries no
# credential, so the URL names the tenant whose allowed origins answer it).
TENANT_PREFIX = re.compile(r"/t/([^/]{1,64})(/.*)")
# The demo page's files, by URL path: nothing else under the demo folder is ever served.
DEMO_FILES = {
    "/demo/": ("index.html", "text/html; charset=utf-8"),
    "/demo/banner.js": ("dist/banner.js", "text/javascript; charset=utf-8"),
}
# The preference centre's files (CONSENTD_PREFERENCES only). The person's portal token never
# reaches the server in the URL: the portal puts it in the fragment (#token=...).
PREFERENCES_FILES = {
    "/preferences/": ("index.html", "text/html; charset=utf-8"),
    "/preferences/preferences.js": ("dist/preferences.js", "text/javascript; charset=utf-8"),
}
# Framing is the portal's choice (it embeds the page); the page itself loads nothing else.
PREFERENCES_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; style-src 'self' 'unsafe-inline'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]
# Where the demo page receives its key: the served index.html gets the key in this meta tag.
DEMO_KEY_TAG = '<meta name="consentd-key" content="">'


@dataclass(frozen=True)
class DemoPage:
    """The demo banner (CONSENTD_DEMO only): its folder, and the publishable key (scope
    cookies:write alone) written into the page for the tenant it records choices for."""

    folder: Path
    key: str

    def __repr__(self) -> str:
        return f"DemoPage(folder={self.folder!s}, key=<redacted>)"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


# Native gRPC sent to the browser port: a trailers-only answer (status in the headers, which
# every gRPC client reads), since this port has no HTTP/2 trailers to send one in.
NATIVE_GRPC_REFUSAL = [
    (b"content-type", b"application/grpc"),
    (b"grpc-status", b"12"),
    (
        b"grpc-message",
        b"this is the browser port (Connect, gRPC-Web); send native gRPC to the gRPC port",
    ),
]


async def _refuse_unauthenticated(scope: Scope, send: Send) -> None:
    """UNAUTHENTICATED before the body is read: in gRPC-Web's form (status in the headers) or
    Connect's (401, a JSON error), as the Connect app would answer it."""
    kind = (_header(scope, b"content-type") or "").lower()
    message = Unauthenticated().message
    if kind.startswith("application/grpc-web"):
        headers = [
            (b"content-type", kind.encode()),
            (b"grpc-status", str(grpc.StatusCode.UNAUTHENTICATED.value[0]).encode()),
            (b"grpc-message", message.encode()),
        ]
        await _respond(send, 200, headers=headers)
        return
    body = json.dumps({"code": "unauthenticated", "message": message}).encode()
    await _respond(send, 401, body, [(b"content-type", b"application/json")])


def _native_grpc(scope: Scope) -> bool:
    kind = (_header(scope, b"content-type") or "").lower()
    return kind.startswith("application/grpc") and not kind.startswith("application/grpc-web")


def _same_origin(scope: Scope, origin: str | None) -> bool:
    """No Origin (not a cross-site browser call) or the page is served from this very host."""
    return origin is None or origin == f"{scope.get('scheme', 'http')}://{_header(scope, b'host')}"


async def _respond(
    send: Send, status: int, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body})


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
    ) -> None:
        """`authenticate`: the credential check run before a body is read (a caller without a
        valid credential never reaches the decoder); the Gate admits the call afterwards."""
        self._services = {f"{app.path}/": app for app in services}
        self._cookies = cookies
        self._demo = demo
        self._preferences = preferences
        self._authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, tenant = scope["path"], None
        if match := TENANT_PREFIX.fullmatch(path):
            tenant, path = match.group(1), match.group(2)
            scope = {**scope, "path": path, "raw_path": path.encode(), "root_path": ""}
        app = next((a for p, a in self._services.items() if path.startswith(p)), None)
        origin = _header(scope, b"origin")
        if app is not None and scope["method"] == "OPTIONS":
            await self._preflight(scope, send, tenant, origin)
        elif app is not None and _native_grpc(scope):
            await _respond(send, 200, headers=NATIVE_GRPC_REFUSAL)
        elif app is not None and not await self._authenticated(scope):
            await _refuse_unauthenticated(scope, send)
        elif app is not None:
            state = BrowserRequest(tenant, origin, same_origin=_same_origin(scope, origin))
            await self._call(app, scope, receive, send, state=state)
        elif tenant is None:
            await self._static(scope, send, path)
        else:
            await _respond(send, 404, b"not found")

    async def _authenticated(self, scope: Scope) -> bool:
        if self._authenticate is None:
            return True
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        try:
            await self._authenticate(metadata_of(pairs))
        except Unauthenticated:
            return False
        except Exception:  # noqa: BLE001 - the database is down, say: the gate's answer says so
            return True
        return True

    async def _call(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, state: BrowserRequest
    ) -> None:
        """Run the Connect app with `state` visible to its interceptor; add CORS headers to the
        response when the interceptor admitted the origin."""
        origin = state.origin
        token = browser_request.set(state)

        async def cors_send(message: Message) -> None:
            if message["type"] == "http.response.start" and state.cors_allowed and origin:
                headers = list(message.get("headers", []))
                headers += [
                    (b"access-control-allow-origin", origin.encode()),
                    (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, cors_send)
        finally:
            browser_request.reset(token)

    async def _preflight(
        self, scope: Scope, send: Send, tenant: str | None, origin: str | None
    ) -> None:
        """204 with CORS headers for an origin the tenant of the path allows; 403 (no CORS
        headers) otherwise, and for a path that names no tenant."""
        allowed: frozenset[str] = frozenset()
        with contextlib.suppress(ConsentError, ValueError, TypeError):
            allowed = await self._cookies.allowed_origins(UUID(tenant))
        if origin is None or origin not in allowed:
            await _respond(send, 403, b"origin not allowed", [(b"vary", b"Origin")])
            return
        asked = (_header(scope, b"access-control-request-headers") or "").lower()
        granted = [h.strip() for h in asked.split(",") if h.strip() in ALLOWED_HEADERS]
        await _respond(
            send,
            204,
            headers=[
                (b"access-control-allow-origin", origin.encode()),
                (b"access-control-allow-methods", b"GET, POST"),
                (b"access-control-allow-headers", ", ".join(granted).encode()),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
                (b"vary", b"Origin"),
            ],
        )

    async def _static(self, scope: Scope, send: Send, path: str) -> None:
        if self._preferences is not None and path in ("/preferences", *PREFERENCES_FILES):
            await self._preference_file(scope, send, path, self._preferences)
            return
        if self._demo is None or scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 404, b"not found")
            return
        if path in ("/", "/demo"):
            await _respond(send, 307, headers=[(b"location", b"/demo/")])
            return
        if path not in DEMO_FILES:
            await _respond(send, 404, b"not found")
            return
        name, kind = DEMO_FILES[path]
        body = await asyncio.to_thread((self._demo.folder / name).read_bytes)
        if name == "index.html":
            filled = f'<meta name="consentd-key" content="{html.escape(self._demo.key)}">'
            body = body.replace(DEMO_KEY_TAG.encode(), filled.encode(), 1)
        headers = [(b"content-type", kind.encode()), (b"cache-control", b"no-store")]
        await _respond(send, 200, body if scope["method"] == "GET" else b"", headers)

    async def _preference_file(self, scope: Scope, send: Send, path: str, folder: Path) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 404, b"not found")
            return
        if path == "/preferences":
            await _respond(send, 307, headers=[(b"location", b"/preferences/")])
            return
        name, kind = PREFERENCES_FILES[path]
        body = await asyncio.to_thread((folder / name).read_bytes)
        headers = [(b"content-type", kind.encode()), (b"cache-control", b"no-store")]
        await _respond(
            send, 200, body if scope["method"] == "GET" else b"", headers + PREFERENCES_HEADERS
        )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: `consentd serve` owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """uvicorn serving the browser app on one socket, as a task of the current event loop."""

    def __init__(self, app: ASGIApp, grace: float) -> None:
        self._app = app
        self._grace = grace
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
