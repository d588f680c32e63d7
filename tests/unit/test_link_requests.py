"""The page's mailing of preference links (app/link_requests.py): its limits spend nothing of a
tenant's for a client refused, and a send that failed lets the person ask again at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from structlog.testing import capture_logs

from consentd.app import link_requests
from consentd.app.link_requests import LinkRequests, client_network
from consentd.app.preference_links import PreferenceLinks
from consentd.domain.errors import ResourceExhausted
from consentd.domain.identifiers import IdentifierKind, normalise_email
from consentd.domain.model import ProcessingRole
from consentd.domain.tenancy import Tenant

TENANT = Tenant(uuid4(), "acme", ProcessingRole.PROCESSOR, "Acme")


class _Known:
    async def subject_consents(self, principal: Any, subject: Any) -> tuple[UUID, list[Any]]:
        return uuid4(), []


class _Relay:
    def __init__(self) -> None:
        self.fail = True
        self.sent: list[str] = []

    def delivers(self, kind: IdentifierKind) -> bool:
        return True

    async def send_link(self, tenant: Tenant, contact: Any, url: str, expires: datetime) -> None:
        if self.fail:
            raise ConnectionError("relay down")
        self.sent.append(url)


def _requests(relay: _Relay) -> LinkRequests:
    links = PreferenceLinks(b"s" * 32, lambda: datetime.now(UTC), "https://x/#token={token}")
    return LinkRequests(links, _Known(), relay, directory=None)  # type: ignore[arg-type]


def test_a_client_refused_spends_nothing_of_its_tenants_asks() -> None:
    """Probe MA: one client asking once a second kept its tenant's page at 429 for all."""
    requests = _requests(_Relay())
    for _ in range(10):
        requests.admit_client("203.0.113.7")
        requests.admit(TENANT)
    for _ in range(60):
        with pytest.raises(ResourceExhausted):
            requests.admit_client("203.0.113.7")
    requests.admit_client("198.51.100.1")  # another client of the tenant is still served
    requests.admit(TENANT)


async def test_past_the_tenants_mails_an_ask_is_dropped_and_may_come_again() -> None:
    """Probe PA: six clients asking for any address kept the tenant's page at 429 for all. The
    tenant's bound counts mails sent to people on record; past it a mail is dropped (logged
    `tenant_busy`), the address not remembered as sent: its person may ask again."""
    relay = _Relay()
    relay.fail = False
    requests = _requests(relay)
    with capture_logs() as logs:
        for n in range(61):
            requests.ask(TENANT, normalise_email(f"p{n}@example.fr"))
        await asyncio.sleep(0.1)
    assert len(relay.sent) == 60
    assert [e["outcome"] for e in logs].count("tenant_busy") == 1
    with capture_logs() as logs:
        requests.ask(TENANT, normalise_email("p60@example.fr"))  # not "sent_lately"
        await asyncio.sleep(0.05)
    assert [e["outcome"] for e in logs] == ["tenant_busy"]


async def test_a_send_that_failed_lets_the_person_ask_again() -> None:
    relay = _Relay()
    requests = _requests(relay)
    address = normalise_email("jeanne@example.fr")
    with capture_logs() as logs:
        requests.ask(TENANT, address)
        await asyncio.sleep(0.05)
        relay.fail = False
        requests.ask(TENANT, address)
        await asyncio.sleep(0.05)
    assert len(relay.sent) == 1
    events = [e.get("outcome", e["event"]) for e in logs]
    assert events == ["preference_link_failed", "sent"]


async def test_the_pages_tenant_is_read_once_in_a_while() -> None:
    """Probe PA: each GET of the public page was a query (~1,100 a second from one client)."""
    reads: list[UUID] = []

    class _Directory:
        async def tenant(self, tenant_id: UUID) -> Tenant:
            reads.append(tenant_id)
            return TENANT

    links = PreferenceLinks(b"s" * 32, lambda: datetime.now(UTC), "https://x/#token={token}")
    requests = LinkRequests(links, _Known(), _Relay(), _Directory())  # type: ignore[arg-type]
    for _ in range(100):
        assert await requests.tenant(TENANT.tenant_id) == TENANT
    assert reads == [TENANT.tenant_id]


def test_a_clients_ipv6_network_counts_as_one_client() -> None:
    """One host holds a whole IPv6 /64: counted by address, it asked without end (and 70 such
    addresses shut the tenant's page for everyone; probe QB). IPv4, mapped or not, by address."""
    requests = _requests(_Relay())
    for n in range(10):
        requests.admit_client(f"2001:db8:1:2::{n + 1:x}")
    with pytest.raises(ResourceExhausted):
        requests.admit_client("2001:db8:1:2:ffff::9")
    requests.admit_client("2001:db8:1:3::1")  # the next /64: another client
    assert client_network("::ffff:203.0.113.7") == client_network("203.0.113.7") == "203.0.113.7"
    assert client_network("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_network("") is client_network("not-an-ip-" * 1000) is None  # no bucket
    for _ in range(20):  # the tenant's limits alone
        requests.admit_client("unknown")


async def test_a_full_memory_of_mailed_addresses_forgets_only_the_old_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Forgotten all at once past REMEMBERED, asks spread over a few tenants' pages could mail
    an address again within minutes (probe QB). Those asked more than ADDRESS_SECONDS ago go;
    when every one is recent, a new ask mails nobody (logged), and a recent one stays known."""
    monkeypatch.setattr(link_requests, "REMEMBERED", 3)
    relay = _Relay()
    relay.fail = False
    requests = _requests(relay)
    for n in range(3):
        requests.ask(TENANT, normalise_email(f"p{n}@example.fr"))
    await asyncio.sleep(0.05)
    with capture_logs() as logs:
        requests.ask(TENANT, normalise_email("p3@example.fr"))  # all recent: not mailed
        requests.ask(TENANT, normalise_email("p0@example.fr"))  # still known as sent lately
        await asyncio.sleep(0.05)
    assert [e["outcome"] for e in logs] == ["too_many", "sent_lately"]
    assert len(relay.sent) == 3
    monkeypatch.setattr(link_requests, "ADDRESS_SECONDS", 0.01)
    requests.ask(TENANT, normalise_email("p3@example.fr"))  # the old ones go: mailed
    await asyncio.sleep(0.05)
    assert len(relay.sent) == 4
