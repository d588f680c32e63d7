"""A caller's deadline, however long the gRPC wire allows it (grpc-timeout takes 8 digits of
hours), bounds the call without breaking it: 25 days made every read INTERNAL, PostgreSQL's
statement_timeout being a 32-bit count of milliseconds (probe O)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import catalog_pb2, consent_pb2, types_pb2
from structlog.testing import capture_logs

from consentd.api import outages
from consentd.api.outages import CALL_DEADLINE_MESSAGE, DEADLINE_MESSAGE
from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from consentd.store.tables import tenants
from tests.conftest import Stubs, owner
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


@contextlib.asynccontextmanager
async def _tenant_row_held(app: App, tenant: Tenant) -> AsyncIterator[None]:
    """A DBA's transaction holding the tenant's row, as long as the block runs."""
    async with owner(app).connect() as conn, conn.begin():
        await conn.execute(
            sa.text("SELECT set_config('consentd.tenant_id', :t, true)"),
            {"t": str(tenant.tenant_id)},
        )
        await conn.execute(
            sa.select(tenants.c.tenant_id)
            .where(tenants.c.tenant_id == tenant.tenant_id)
            .with_for_update()
        )
        yield


async def test_a_write_waiting_on_a_lock_past_the_callers_deadline_is_answered_as_one(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """A DBA's transaction holding the tenant's row: a write with a 2 s deadline waited on it,
    grpc's own deadline cancelled the call first (logged CANCELLED, no warning; the caller read
    grpc's "Deadline Exceeded"). The statements' bound ends a little earlier: the server
    answers DEADLINE_EXCEEDED in its own words, and logs the database wait (probe HA)."""
    await put_purpose(stubs, "newsletter")
    identity = types_pb2.SubjectIdentity(email="waits-on-a-lock@example.fr")
    async with _tenant_row_held(app, tenant):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stubs.consent.RecordConsent(
                consent_pb2.RecordConsentRequest(
                    subject=identity,
                    choices=[grant(target("newsletter"))],
                    source=types_pb2.SOURCE_API,
                    actor="crm",
                ),
                metadata=stubs.metadata,
                timeout=2.0,
            )
    assert refused.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert refused.value.details() == CALL_DEADLINE_MESSAGE  # its deadline bounded it
    consents = await stubs.consent.GetSubjectConsents(
        consent_pb2.GetSubjectConsentsRequest(subject=by_email("waits-on-a-lock@example.fr")),
        metadata=stubs.metadata,
    )
    # Whole or not at all: the group commit it joined may go on once the lock goes (a write
    # answered DEADLINE_EXCEEDED may have committed: retry it with its idempotency key).
    assert len(consents.consents) <= 1


async def test_the_ceiling_and_a_callers_deadline_are_told_apart_and_each_warned(
    app: App, stubs: Stubs, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe VA: a call with 5.8 s ended by the 5 s ceiling was told to give itself more time,
    and a short deadline's warning (`bound: call_deadline`) hid the ceiling's for 10 s: the
    operator read a DBA's lock as the callers' doing."""
    fresh = {bound: [float("-inf")] for bound in outages._timed_out_warned}
    monkeypatch.setattr(outages, "_timed_out_warned", fresh)
    await put_purpose(stubs, "newsletter")
    identity = types_pb2.SubjectIdentity(email="ceiling-or-caller@example.fr")
    ask = consent_pb2.RecordConsentRequest(
        subject=identity, choices=[grant(target("newsletter"))], source=types_pb2.SOURCE_API,
        actor="crm",
    )  # fmt: skip
    async with _tenant_row_held(app, tenant):
        told = []
        with capture_logs() as entries:
            for timeout in (1.0, 5.8):  # the caller's bound, then the ceiling's (5 s) first
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stubs.consent.RecordConsent(ask, metadata=stubs.metadata, timeout=timeout)
                told.append(refused.value.details())
    assert told == [CALL_DEADLINE_MESSAGE, DEADLINE_MESSAGE]
    warned = [e["bound"] for e in entries if e["event"] == "database_statement_timed_out"]
    assert warned == ["call_deadline", "database"]
