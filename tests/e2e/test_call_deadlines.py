"""A caller's deadline, however long the gRPC wire allows it (grpc-timeout takes 8 digits of
hours), bounds the call without breaking it: 25 days made every read INTERNAL, PostgreSQL's
statement_timeout being a 32-bit count of milliseconds (probe O)."""

from __future__ import annotations

from consent.v1 import catalog_pb2, consent_pb2, types_pb2

from tests.conftest import Stubs
from tests.e2e.helpers import by_email, grant, put_purpose, record, target

DAYS = 86400


async def test_reads_with_a_deadline_of_weeks_are_answered(stubs: Stubs) -> None:
    await put_purpose(stubs, "newsletter")
    identity = types_pb2.SubjectIdentity(email="long-deadline@example.fr")
    await record(stubs, identity, grant(target("newsletter")))
    for days in (24, 25, 30, 365 * 11):
        timeout = float(days * DAYS)
        purposes = await stubs.catalog.ListPurposes(
            catalog_pb2.ListPurposesRequest(), metadata=stubs.metadata, timeout=timeout
        )
        assert [p.purpose_id for p in purposes.purposes] == ["newsletter"], days
        consents = await stubs.consent.GetSubjectConsents(
            consent_pb2.GetSubjectConsentsRequest(subject=by_email("long-deadline@example.fr")),
            metadata=stubs.metadata,
            timeout=timeout,
        )
        assert len(consents.consents) == 1, days
