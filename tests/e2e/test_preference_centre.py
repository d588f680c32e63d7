"""The preference centre in headless Chromium, opened with a person's portal token: it lists
their consents with the notice text, confirms a pending opt-in (with the code mailed through a
real SMTP server), withdraws one (by keyboard) and then everything, shows the history, files an
export request; each step is checked over native gRPC. A token of another person or tenant sees
none of it. Screenshots go to build/artifacts/preference-centre/ (or CONSENTD_E2E_SCREENSHOTS)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from consent.v1 import catalog_pb2, consent_pb2, rights_pb2, rights_pb2_grpc, types_pb2

from consentd.api.http import HttpServer
from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.identifiers import normalise_email
from tests.conftest import Stubs, TestClock
from tests.e2e.conftest import mailing_service
from tests.e2e.helpers import ALLOW, DENY, check, grant, history, record, target
from tests.e2e.mailbox import LINK, Mailbox, new_tenant, token_of
from tests.e2e.security_helpers import register_portal

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("preference_centre.mjs")
CHROMIUM = Path("/usr/bin/chromium")
STEP_TIMEOUT = 60
# Jeanne's portal id has an accent: the page read the token's UTF-8 payload as Latin-1.
JEANNE, PAUL = "crm-jeanne-élodie", "crm-paul"
JEANNE_EMAIL = "jeanne.preferences@example.fr"
MARIE = "marie.preferences@example.fr"
NOTICE_TEXT = "Nous vous écrivons une fois par mois."


class Driver:
    """The node script as a child process: one JSON line per step, a line back to go on.

    The line back is sent when the next step is asked for, once the test has checked the last
    one: sent at once, the browser's next click raced the test's checks of the step before (CI
    saw "offers" withdrawn by the next step's "withdraw all" while checking the SMS stop).
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


PAGE = "https://consent.example.fr/preferences/#token={token}"


@pytest.fixture(scope="module")
async def mailing_app(
    mail: tuple[Mailbox, int], database_url: str, owner_url: str, clock: TestClock
) -> AsyncIterator[App]:
    """The mailing app (tests/e2e/conftest.py) whose links have a page's address too: the
    page that mails a person their link is served, so the preference centre offers it (it
    offered it unserved too, answered "not found"; probe UB)."""
    async with mailing_service(
        mail, database_url, owner_url, clock, confirm_url=LINK, preferences_url=PAGE
    ) as app:
        yield app


@pytest.fixture
async def page_port(mailing_app: App) -> AsyncIterator[int]:
    """The browser port of the mailing app, preference centre on (CONSENTD_PREFERENCES)."""
    server = HttpServer(mailing_app.browser_app(), grace=1)
    port = await server.start("127.0.0.1:0")
    yield port
    await server.stop()


async def _people(stubs: Stubs) -> None:
    """Jeanne: newsletter by email and SMS (with a notice), offers and surveys pending
    confirmation (one mail); Paul: newsletter by SMS."""
    notice = await stubs.catalog.PublishNotice(
        catalog_pb2.PublishNoticeRequest(
            notice_id="newsletter-notice", title="Lettre", language="fr", content=NOTICE_TEXT
        ),
        metadata=stubs.metadata,
    )
    # The English text, a version of its own (a language is one): the French page shows and
    # grants to the French one (probe IC: it granted to the latest, English, and called it the
    # text presented).
    await stubs.catalog.PublishNotice(
        catalog_pb2.PublishNoticeRequest(
            notice_id="newsletter-notice", title="Newsletter", language="en", content="In English."
        ),
        metadata=stubs.metadata,
    )
    for purpose in (
        catalog_pb2.Purpose(
            purpose_id="newsletter",
            display_name="Lettre d'information",
            lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
            notice_id="newsletter-notice",
        ),
        catalog_pb2.Purpose(
            purpose_id="offers",
            display_name="Offres produits",
            lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
            requires_confirmation=True,
        ),
        # Never asked of anyone: the page offers it (probe KC: out of the person's reach).
        catalog_pb2.Purpose(
            purpose_id="research",
            display_name="Études",
            description="Deux questionnaires par an.",
            lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        ),
        # Needs no consent: not offered (objecting to it is "withdraw everything").
        catalog_pb2.Purpose(
            purpose_id="service-info",
            display_name="Informations de service",
            lawful_basis=types_pb2.LAWFUL_BASIS_LEGITIMATE_INTEREST,
        ),
        catalog_pb2.Purpose(
            purpose_id="surveys",
            display_name="Sondages",
            lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
            requires_confirmation=True,
        ),
    ):
        await stubs.catalog.PutPurpose(
            catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
        )
    version = notice.notice.version
    jeanne = types_pb2.SubjectIdentity(external_id=JEANNE, email=JEANNE_EMAIL)
    await record(
        stubs,
        jeanne,
        grant(target("newsletter", types_pb2.CHANNEL_EMAIL), version),
        grant(target("newsletter", types_pb2.CHANNEL_SMS), version),
        grant(target("offers")),
        grant(target("surveys")),  # the same mail's code confirms both
    )
    paul = types_pb2.SubjectIdentity(external_id=PAUL, email="paul.preferences@example.fr")
    await record(stubs, paul, grant(target("newsletter", types_pb2.CHANNEL_SMS), version))
    # Known by her e-mail address alone: reached by a preference link, not a portal token.
    marie = types_pb2.SubjectIdentity(email=MARIE)
    await record(stubs, marie, grant(target("newsletter", types_pb2.CHANNEL_SMS), version))


def _shots() -> Path:
    shots = Path(
        os.environ.get("CONSENTD_E2E_SCREENSHOTS") or ROOT / "build/artifacts/preference-centre"
    )
    shots.mkdir(parents=True, exist_ok=True)  # build/ is gitignored
    return shots


async def _browser(urls: list[str]) -> asyncio.subprocess.Process:
    if not await asyncio.to_thread(CHROMIUM.exists):
        pytest.fail("/usr/bin/chromium is missing: apt-get install chromium")
    node = shutil.which("node")
    assert node, "node is missing"
    return await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        *urls,
        str(_shots()),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


def _jeanne(stubs: Stubs, purpose: str, channel: int = types_pb2.CHANNEL_EMAIL) -> Any:
    return check(stubs, types_pb2.SubjectRef(external_id=JEANNE), target(purpose, channel))


async def test_preference_centre_end_to_end(
    mailing_app: App,
    mailing_channel: grpc.aio.Channel,
    mail: tuple[Mailbox, int],
    page_port: int,
) -> None:
    """List (with the notice), keyboard order, confirm, withdraw one, export request, withdraw
    all, English; native checks DENY after each withdrawal; others see nothing of Jeanne."""
    admin = mailing_app.admin
    assert isinstance(admin, AdminUseCases)
    stubs, tenant = await new_tenant(mailing_app, mailing_channel)
    await _people(stubs)
    (message,) = await mail[0].wait_for(JEANNE_EMAIL)
    portal = await register_portal(admin, tenant)
    _, elsewhere = await new_tenant(mailing_app, mailing_channel)
    other_portal = await register_portal(admin, elsewhere)
    base = f"http://127.0.0.1:{page_port}/preferences/#token="
    urls = [
        f"{base}{portal.token(JEANNE)}&confirm={token_of(message)}",
        f"{base}{portal.token(PAUL)}",
        f"{base}{other_portal.token(JEANNE)}",
        f"{base}{portal.token(JEANNE, exp=int(time.time()) - 3600)}",
        f"{base}{mailing_app.preference_links.token(tenant.tenant_id, normalise_email(MARIE))[0]}",
        f"http://127.0.0.1:{page_port}/preferences/#tenant={tenant.tenant_id}",
    ]
    process = await _browser(urls)
    try:
        rights = rights_pb2_grpc.RightsServiceStub(mailing_channel)
        await _walk(Driver(process), stubs, rights, str(tenant.tenant_id), mail[0])
        assert process.stdin is not None
        process.stdin.close()
        assert await asyncio.wait_for(process.wait(), STEP_TIMEOUT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _walk(
    browser: Driver,
    stubs: Stubs,
    rights: rights_pb2_grpc.RightsServiceStub,
    tenant_id: str,
    mailbox: Mailbox,
) -> None:
    loaded = await browser.step("loaded")
    assert loaded["errors"] == []
    assert loaded["error"] == ""
    assert "#token" not in loaded["url"]  # the token left the address bar
    assert sorted((r["purpose"], r["channel"], r["state"]) for r in loaded["rows"]) == [
        ("newsletter", "EMAIL", "GRANTED"),
        ("newsletter", "SMS", "GRANTED"),
        ("offers", "EMAIL", "PENDING"),
        ("surveys", "EMAIL", "PENDING"),
    ]
    assert loaded["notices"] == [NOTICE_TEXT, NOTICE_TEXT]
    assert len(loaded["history"]) == 4

    keyboard = await browser.step("keyboard")
    assert keyboard["order"][:3] == ["lang-fr", "lang-en", "SUMMARY"]
    assert keyboard["unnamed"] == 0

    narrow = await browser.step("narrow")
    assert narrow["scroll"] <= narrow["client"] == 320, narrow
    assert narrow["labels"][:5] == ["Finalité", "Canal", "État", "Depuis le", "Action"], narrow
    mistyped = await browser.step("mistyped")
    assert mistyped["error"] == "Ce code n'est pas valable : vérifiez le code reçu par e-mail."
    confirmed = await browser.step("confirmed")
    for purpose in ("offers", "surveys"):
        allowed = await _jeanne(stubs, purpose)
        assert (allowed.decision, allowed.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    # What the code confirmed, both rows, not only the one clicked (probe HD).
    assert confirmed["status"] == (
        "Merci, votre accord est confirmé : Offres produits — E-mail, Sondages — E-mail."
    ), confirmed

    withdrawn = await browser.step("withdrawn-one")
    assert withdrawn["focused"] == "status"  # the outcome is announced where focus went
    denied = await _jeanne(stubs, "newsletter")
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    assert (await _jeanne(stubs, "newsletter", types_pb2.CHANNEL_SMS)).decision == ALLOW
    assert withdrawn["history"][0] == "WITHDRAWN"

    # The person opts back in from the page, to the notice it shows: the person's own grant,
    # the check ALLOW at once (the page could only take consent back; probe GG).
    again = await browser.step("granted-again")
    assert again["status"] == (
        "C'est noté, vous acceptez à nouveau : Lettre d'information — E-mail."
    ), again
    allowed = await _jeanne(stubs, "newsletter")
    assert (allowed.decision, allowed.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    regranted = await history(stubs, types_pb2.SubjectRef(external_id=JEANNE), page_size=1)
    assert regranted.events[0].source == types_pb2.SOURCE_PORTAL
    assert regranted.events[0].notice_version == 1  # the text the page showed, in French

    requested = await browser.step("export-requested")
    assert requested["error"] == ""
    # The person's data at once, the document ExportSubject answers (they could only file a
    # request for a DPO to answer within the month).
    downloaded = await browser.step("downloaded")
    assert downloaded["error"] == ""
    assert downloaded["file"].startswith("mes-donnees-")
    native = await history(stubs, types_pb2.SubjectRef(external_id=JEANNE), page_size=500)
    assert downloaded["history"] == len(native.events) > 0
    assert downloaded["status"].startswith("Vos données sont téléchargées")
    listed = await rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(), metadata=stubs.metadata
    )
    assert [r.kind for r in listed.requests] == [rights_pb2.RIGHTS_REQUEST_KIND_PORT]

    stopped = await browser.step("stopped-sms")
    assert ("", "SMS", "WITHDRAWN") in [
        (r["purpose"], r["channel"], r["state"]) for r in stopped["rows"]
    ]
    assert stopped["status"].startswith("C'est enregistré : plus rien par SMS")
    assert (await _jeanne(stubs, "newsletter", types_pb2.CHANNEL_SMS)).decision == DENY
    assert (await _jeanne(stubs, "offers")).decision == ALLOW

    everything = await browser.step("withdrawn-all")
    assert {r["state"] for r in everything["rows"]} == {"WITHDRAWN"}
    # Opting back in is offered where it can work: not for the double opt-in purposes (the
    # code goes to an address a portal grant does not name; the click failed for good, probe
    # HH), nor for the stop of SMS.
    assert sorted(everything["grantable"]) == ["newsletter/EMAIL", "newsletter/SMS"], everything
    for purpose, channel in (
        ("newsletter", types_pb2.CHANNEL_SMS),
        ("offers", types_pb2.CHANNEL_EMAIL),
    ):
        assert (await _jeanne(stubs, purpose, channel)).decision == DENY

    # A restriction asked for: filed, its answer due in a month that may be extended, shown to
    # the minute (probe HD: "at the latest", to the second).
    restricted = await browser.step("restriction-requested")
    assert (restricted["requested"], restricted["error"]) == ("RESTRICT", "")
    assert "prolongé de deux mois au plus" in restricted["status"], restricted
    assert re.search(r"d'ici le \d\d/\d\d/\d{4} \d\d:\d\d ;", restricted["status"]), restricted
    listed = await rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(), metadata=stubs.metadata
    )
    filed = sorted([rights_pb2.RIGHTS_REQUEST_KIND_PORT, rights_pb2.RIGHTS_REQUEST_KIND_RESTRICT])
    assert sorted(r.kind for r in listed.requests) == filed

    # Erasure asked for: nothing filed until the second button confirms it.
    asked = await browser.step("erasure-asked")
    assert (asked["requested"], asked["confirmShown"]) == ("RESTRICT", True)
    assert asked["focused"] == "erasure-warning"  # Enter twice filed nothing (probe ZD)
    assert (asked["closedByEscape"], asked["focusBack"]) == (True, "request-erasure")
    listed = await rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(), metadata=stubs.metadata
    )
    assert sorted(r.kind for r in listed.requests) == filed
    erasure = await browser.step("erasure-requested")
    assert (erasure["requested"], erasure["error"]) == ("ERASE", "")
    listed = await rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(), metadata=stubs.metadata
    )
    kinds = sorted(r.kind for r in listed.requests)
    assert kinds == sorted([*filed, rights_pb2.RIGHTS_REQUEST_KIND_ERASE])

    english = await browser.step("english")
    assert english["title"] == "My contact preferences"
    assert english["states"] == ["Withdrawn"] * 5  # four targets and the stop of SMS
    assert english["status"] == "Your preferences are up to date."

    # Framed by another origin of the site in the same tab: the kept token is not used.
    framed = await browser.step("framed")
    assert (framed["ready"], framed["rows"]) == ("error", 0)
    # In English: the person chose it above, and the tab keeps it (probe FH: lost on reload).
    assert framed["error"].startswith("Open this page from your customer portal")
    # Opened from that page in a popup, or the tab sent there: not the person's page either.
    elsewhere = await browser.step("opened-elsewhere")
    assert elsewhere["popup"] == {"ready": "error", "rows": 0, "opener": False}, elsewhere
    assert (elsewhere["sent"]["ready"], elsewhere["sent"]["rows"]) == ("error", 0), elsewhere

    other_person = await browser.step("other-person")
    assert (other_person["rows"], other_person["error"]) == (["newsletter"], "")
    other_tenant = await browser.step("other-tenant")
    assert (other_tenant["rows"], other_tenant["history"], other_tenant["error"]) == ([], 0, "")
    # In the person's words, not the client's English error text.
    expired = await browser.step("expired")
    assert expired["error"].startswith("Ce lien a expiré"), expired
    # No button offers to act, and the dead token is not kept for a reload (probe HD).
    assert (expired["enabled"], expired["kept"]) == (0, False), expired
    # Nor any empty table, and the error has the focus (probe ZD: a dead page read as working).
    assert (expired["sectionsShown"], expired["focused"]) == (0, "error"), expired
    assert other_person["sectionsShown"] > 0
    # ... and the page mailing a new link is offered (probe MA: only without a token).
    assert expired["ask"] == f"/preferences/link/{tenant_id}", expired
    assert other_person["ask"] == ""
    assert other_person["enabled"] > 0
    await _opt_in(browser, stubs)
    # A preference link (consentd's own, `p1.`) of a person no portal knows (probe KC).
    by_link = await browser.step("by-link")
    assert (by_link["rows"], by_link["error"]) == (["newsletter/SMS/GRANTED"], ""), by_link
    opted = await browser.step("link-opted-in")
    assert "research/EMAIL/GRANTED" in opted["rows"], opted
    marie = types_pb2.SubjectRef(email=MARIE)
    allowed = await check(stubs, marie, target("research"))
    assert (allowed.decision, allowed.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    assert (await history(stubs, marie, page_size=1)).events[0].source == types_pb2.SOURCE_PORTAL
    # A double opt-in purpose, offered to a person the page names by e-mail: pending, and the
    # code mailed to her (a portal token's person, named by external id, is not offered one).
    pending = await browser.step("link-pending")
    assert "offers/EMAIL/PENDING" in pending["rows"], pending
    assert pending["status"].startswith("Presque fini"), pending
    (mailed,) = await mailbox.wait_for(MARIE)
    assert token_of(mailed)
    # Without a token, a page naming its tenant offers to mail the person their link.
    asked = await browser.step("ask-link")
    assert asked["href"] == f"/preferences/link/{tenant_id}", asked
    # Probes FH, FJ: without JavaScript, empty headings and seven nameless buttons.
    nojs = await browser.step("nojs")
    assert nojs["shown"] == 0, nojs
    assert nojs["text"].startswith("Cette page a besoin de JavaScript"), nojs


async def _opt_in(browser: Driver, stubs: Stubs) -> None:
    """Paul opts in to a purpose on a channel he was never asked about: offered are the consent
    purposes a portal grant can record (not a double opt-in's, not a legitimate interest's), on
    each channel he has made no choice on; the grant is his, to the French text shown."""
    offers = await browser.step("offers")
    assert offers["shown"], offers
    assert sorted(offers["offers"]) == [
        "newsletter/EMAIL",
        "newsletter/VOICE_CALL",
        "research/EMAIL",
        "research/SMS",
        "research/VOICE_CALL",
    ], offers
    assert "Accepter : Études — SMS" in offers["labels"], offers
    assert offers["notices"] == [NOTICE_TEXT], offers
    paul = types_pb2.SubjectRef(external_id=PAUL)
    assert (await check(stubs, paul, target("newsletter"))).decision == DENY
    opted = await browser.step("opted-in")
    assert (opted["status"], opted["error"]) == (
        "C'est noté, vous acceptez : Lettre d'information — E-mail.",
        "",
    ), opted
    assert "newsletter/EMAIL" not in opted["offers"]
    allowed = await check(stubs, paul, target("newsletter"))
    assert (allowed.decision, allowed.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    event = (await history(stubs, paul, page_size=1)).events[0]
    assert (event.source, event.notice_version) == (types_pb2.SOURCE_PORTAL, 1)

    # A new French text asking everyone again: Paul's grants to the old one stop counting; the
    # page says so and offers to accept the new text (it offered only "withdraw"; probe KC).
    renewal = await stubs.catalog.PublishNotice(
        catalog_pb2.PublishNoticeRequest(
            notice_id="newsletter-notice",
            title="Lettre",
            language="fr",
            content="Nous vous écrivons deux fois par mois.",
            requires_reconsent=True,
        ),
        metadata=stubs.metadata,
    )
    assert (await check(stubs, paul, target("newsletter"))).decision == DENY
    outdated = await browser.step("outdated")
    assert sorted(outdated["caveats"]) == ["EMAIL/NOTICE_OUTDATED", "SMS/NOTICE_OUTDATED"]
    assert outdated["buttons"] == ["Accepter le nouveau texte"] * 2, outdated
    renewed = await browser.step("renewed")
    assert renewed["error"] == "", renewed
    allowed = await check(stubs, paul, target("newsletter"))
    assert (allowed.decision, allowed.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    event = (await history(stubs, paul, page_size=1)).events[0]
    assert event.notice_version == renewal.notice.version
