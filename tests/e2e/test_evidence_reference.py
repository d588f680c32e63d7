"""The evidence reference outlives an erasure (on the history and the change feed, readable by
a marketing tool's key): an e-mail address in it became `(email)`, but a phone number stayed in
clear, after the erasure too (probe T). Both are markers, as in every free-text field."""

from __future__ import annotations

from consent.v1 import types_pb2

from consentd.bootstrap import App
from consentd.domain.identifiers import normalise_email
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import by_email, grant, history, put_purpose, record, target
from tests.integration.helpers import principal


async def test_contacts_in_an_evidence_reference_are_never_kept(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    await put_purpose(stubs, "newsletter")
    address = "called@example.fr"
    evidence = types_pb2.Evidence(
        reference="appel du 06 12 34 56 78 / +33612345679, mail jean.d@example.org, ticket 2024-118"
    )
    await record(
        stubs,
        types_pb2.SubjectIdentity(email=address),
        grant(target("newsletter")),
        evidence=evidence,
    )
    expected = "appel du (phone) / (phone), mail (email), ticket 2024-118"
    (event,) = (await history(stubs, by_email(address))).events
    assert event.evidence_reference == expected
    await app.rights.erase(principal(tenant), normalise_email(address), "dpo")
    assert all(
        "06 12" not in e.evidence_reference and "+336" not in e.evidence_reference
        for e in (await history(stubs, types_pb2.SubjectRef(subject_id=event.subject_id))).events
    )
