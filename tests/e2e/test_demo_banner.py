"""The demo banner in headless Chromium: accept all, reload (no banner), expiry (banner again),
refuse all, custom; every choice and its expiry checked over native gRPC."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from consent.v1 import cookies_pb2 as pb

from consentd.api.http import HttpServer
from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.months import add_months
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs, TestClock

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("demo_banner.mjs")
CHROMIUM = Path("/usr/bin/chromium")
T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
STEP_TIMEOUT = 60


class Driver:
    """The node script as a child process: one JSON line per step, a line back to go on.

    The line back is sent when the next step is asked for, once the test has checked the last
    one (and moved its clock where it must): sent only at the clock step, the browser's next
    clicks raced the test's checks (CI saw "custom" stored while checking the refusal).
    """

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.waiting = False

    async def step(self, name: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        assert self.process.stdin is not None
        if self.waiting:
            self.process.stdin.write(b"go\n")
            await self.process.stdin.drain()
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), STEP_TIMEOUT)
            assert line, f"the browser script ended before step {name!r}"
            if line.startswith(b"{"):
                report: dict[str, Any] = json.loads(line)
                assert report["step"] == name, report
                self.waiting = True
                return report


def _folders() -> tuple[Path, Path]:
    """A fresh Chromium profile, and where screenshots go (CONSENTD_E2E_SCREENSHOTS to keep)."""
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run `make setup` (tools/ensure-test-tools)")
    profile = Path(tempfile.mkdtemp(prefix="consentd-chromium-"))
    shots = Path(os.environ.get("CONSENTD_E2E_SCREENSHOTS") or tempfile.mkdtemp(prefix="shots-"))
    shots.mkdir(parents=True, exist_ok=True)
    return profile, shots


@pytest.fixture
async def demo_port(app: App, admin: AdminUseCases, tenant: Tenant) -> AsyncIterator[int]:
    """A browser port whose demo page carries a cookies:write key of this test's tenant, as
    `CONSENTD_DEMO=true consentd serve` does for the default tenant."""
    key, _ = await admin.issue_key(tenant.slug, [Scope.COOKIES.value], name="demo page")
    server = HttpServer(app.browser_app(demo_key=key.token), grace=1)
    port = await server.start("127.0.0.1:0")
    yield port
    await server.stop()


@pytest.fixture
async def browser(demo_port: int) -> AsyncIterator[Driver]:
    """Chromium through playwright-core, a fresh profile, the demo page of this test's tenant."""
    node = shutil.which("node")
    assert node, "node is missing"
    profile, shots = _folders()
    url = f"http://127.0.0.1:{demo_port}/demo/"
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        url,
        str(profile),
        str(shots),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield Driver(process)
        assert process.stdin is not None
        process.stdin.close()
        assert await asyncio.wait_for(process.wait(), STEP_TIMEOUT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        shutil.rmtree(profile, ignore_errors=True)


async def stored(stubs: Stubs, visitor_id: str) -> pb.GetCookieChoiceResponse:
    return await stubs.cookies.GetCookieChoice(
        pb.GetCookieChoiceRequest(visitor_id=visitor_id), metadata=stubs.metadata
    )


async def test_banner_records_choices_and_comes_back_only_after_expiry(
    browser: Driver, stubs: Stubs, clock: TestClock
) -> None:
    """Accept all in the browser is stored for 12 months and hides the banner on reload; past
    the expiry the banner is back; refuse all is stored for 6 months; custom keeps analytics.
    "Tout refuser" looks as "Tout accepter" does (colours, weight, size: the CNIL asks for
    refusing to be as easy; it was an outline beside a filled button)."""
    clock.pinned = T0
    first = await browser.step("first-visit")
    assert (first["status"], first["banner"]) == ("NONE", True)
    assert first["refuse"] == first["accept"]
    # Probe UB: what each kind of cookie is for, before any button; nothing stored before a
    # choice (the visitor id was written at the first load).
    assert "Mesure d'audience : Statistiques de fréquentation." in first["purposes"], first
    assert first["cookies"] == ""
    visitor = first["visitor"]

    accepted = await browser.step("accepted")
    assert (accepted["status"], accepted["banner"], accepted["error"]) == ("VALID", False, "")
    assert accepted["cookies"] == f"consentd_visitor={visitor}"
    native = await stored(stubs, visitor)
    assert native.status == pb.COOKIE_CHOICE_STATUS_VALID
    assert native.choice.method == pb.COOKIE_CHOICE_METHOD_ACCEPT_ALL
    assert native.choice.recorded_at.ToDatetime(tzinfo=UTC) == T0
    assert native.choice.expires_at.ToDatetime(tzinfo=UTC) == add_months(T0, 12)
    assert native.choice.page_url.endswith("/demo/")

    reloaded = await browser.step("reloaded")
    assert (reloaded["status"], reloaded["banner"], reloaded["visitor"]) == (
        "VALID",
        False,
        visitor,
    )

    await browser.step("waiting")
    clock.pinned = add_months(T0, 12)
    expired = await browser.step("expired")
    assert (expired["status"], expired["banner"]) == ("EXPIRED", True)

    refused = await browser.step("refused")
    assert (refused["status"], refused["banner"]) == ("VALID", False)
    native = await stored(stubs, visitor)
    assert native.choice.method == pb.COOKIE_CHOICE_METHOD_REFUSE_ALL
    assert list(native.choice.granted_categories) == ["necessary"]
    assert native.choice.expires_at.ToDatetime(tzinfo=UTC) == add_months(add_months(T0, 12), 6)

    custom = await browser.step("custom")
    assert custom["errors"] == []
    assert custom["focused"] == "analytics"  # "Personnaliser" by keyboard lands on the options
    native = await stored(stubs, visitor)
    assert native.choice.method == pb.COOKIE_CHOICE_METHOD_CUSTOM
    assert list(native.choice.granted_categories) == ["analytics", "necessary"]
    assert native.consent_mode["analytics_storage"] == "granted"
    assert native.consent_mode["ad_storage"] == "denied"

    # Probe VB: reopened after refusing all, the custom options still showed analytics ticked,
    # and one click granted it again.
    reopened = await browser.step("reopened")
    assert (reopened["optionsOpen"], reopened["ticked"]) == (False, [])

    # Probe UF: the policy changes while the tab is open; the tab's next click is told
    # REVISION_OUTDATED, and its click after that is a choice on the new revision (it asked
    # again and again at the old one until a reload).
    read = await stubs.cookies.GetCookiePolicy(pb.GetCookiePolicyRequest(), metadata=stubs.metadata)
    policy = pb.CookiePolicy()
    policy.CopyFrom(read.policy)
    policy.revision += 1
    policy.ClearField("updated_at")
    await stubs.cookies.PutCookiePolicy(
        pb.PutCookiePolicyRequest(policy=policy), metadata=stubs.metadata
    )
    stale = await browser.step("stale-tab")
    assert (stale["status"], stale["banner"], stale["errors"]) == ("VALID", False, [])
    native = await stored(stubs, visitor)
    assert (native.choice.method, native.choice.policy_revision) == (
        pb.COOKIE_CHOICE_METHOD_ACCEPT_ALL,
        policy.revision,
    )

    # Probe FH: a browser sending GPC was shown the same banner; its refusal is recorded.
    gpc = await browser.step("gpc")
    assert (gpc["status"], gpc["banner"], gpc["error"]) == ("VALID", False, "")
    assert gpc["visitor"] != visitor
    native = await stored(stubs, gpc["visitor"])
    assert (native.choice.method, native.choice.gpc) == (pb.COOKIE_CHOICE_METHOD_GPC, True)
    assert native.consent_mode["ad_storage"] == "denied"
