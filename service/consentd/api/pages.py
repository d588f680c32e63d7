"""The pages the browser port serves itself, outside the tenant prefix: the demo banner
(CONSENTD_DEMO) and the preference centre (CONSENTD_PREFERENCES). Only the files named here are
ever served from their folders."""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from pathlib import Path

from consentd.api.asgi import Scope, Send, respond

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
# Framing is the portal's choice (it embeds the page); the page itself loads nothing else. A
# page of another origin that opens it in a popup keeps no hold on it (no `window.opener`, no
# navigating it later; probe QB).
PREFERENCES_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; style-src 'self' 'unsafe-inline'"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]
# The demo page loads its own script and calls its own origin; nothing may frame it.
DEMO_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
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


class Pages:
    """The demo banner when `demo` is given, the preference centre when `preferences` (its
    folder) is; 404 for any other path."""

    def __init__(self, demo: DemoPage | None, preferences: Path | None) -> None:
        self._demo = demo
        self._preferences = preferences

    async def serve(self, scope: Scope, send: Send, path: str) -> None:
        if path == "/favicon.ico" and scope["method"] in ("GET", "HEAD"):
            # Every page's browser asks for one: none, kept a day (a 404 at each page, probe EA).
            await respond(send, 204, headers=[(b"cache-control", b"public, max-age=86400")])
            return
        if self._preferences is not None and path in ("/preferences", *PREFERENCES_FILES):
            await self._preference_file(scope, send, path, self._preferences)
            return
        if self._demo is None or scope["method"] not in ("GET", "HEAD"):
            await respond(send, 404, b"not found")
            return
        if path in ("/", "/demo"):
            await respond(send, 307, headers=[(b"location", b"/demo/")])
            return
        if path not in DEMO_FILES:
            await respond(send, 404, b"not found")
            return
        await self._demo_file(scope, send, path, self._demo)

    async def _demo_file(self, scope: Scope, send: Send, path: str, demo: DemoPage) -> None:
        """One of DEMO_FILES; the page with the publishable key written into it."""
        name, kind = DEMO_FILES[path]
        body = await asyncio.to_thread((demo.folder / name).read_bytes)
        if name == "index.html":
            filled = f'<meta name="consentd-key" content="{html.escape(demo.key)}">'
            body = body.replace(DEMO_KEY_TAG.encode(), filled.encode(), 1)
        headers = [(b"content-type", kind.encode()), (b"cache-control", b"no-store")]
        await respond(send, 200, body if scope["method"] == "GET" else b"", headers + DEMO_HEADERS)

    async def _preference_file(self, scope: Scope, send: Send, path: str, folder: Path) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await respond(send, 404, b"not found")
            return
        if path == "/preferences":
            await respond(send, 307, headers=[(b"location", b"/preferences/")])
            return
        name, kind = PREFERENCES_FILES[path]
        body = await asyncio.to_thread((folder / name).read_bytes)
        headers = [(b"content-type", kind.encode()), (b"cache-control", b"no-store")]
        await respond(
            send, 200, body if scope["method"] == "GET" else b"", headers + PREFERENCES_HEADERS
        )
