"""A DPO answering an audit could not say who restricted, lifted, objected or erased: those
entries held the subject and a request id only, and an erasure's actor was kept only on the
ERASED events (none when the person had no consent on record; probe T). Each entry names the
caller (the key or portal token's name, never a secret) and the erasure its actor."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.conftest import owner
from tests.integration.helpers import catalogue, email, grant, principal


async def test_block_and_erasure_entries_name_who(app: App, tenant: Tenant) -> None:
    await catalogue(app, tenant)
    who = email("who-did-it@example.fr")
    await grant(app, tenant, who)
    await app.rights.restrict(principal(tenant), who)
    await app.rights.restrict(principal(tenant), who, lift=True)
    await app.rights.object(principal(tenant), who)
    nobody = email("no-consent@example.fr")
    await app.rights.object(principal(tenant), nobody)  # a subject with no consent on record
    await app.rights.erase(principal(tenant), nobody, "dpo-marie")
    await app.sequencer.drain(tenant.tenant_id)
    query = sa.text(
        "SELECT action, payload FROM audit_entries WHERE tenant_id = :t "
        "AND action LIKE 'subject.%' ORDER BY seq"
    )
    async with owner(app).connect() as conn:
        rows = (await conn.execute(query, {"t": tenant.tenant_id})).all()
    actions = [action for action, _ in rows]
    assert actions == [
        "subject.restricted",
        "subject.restriction_lifted",
        "subject.objected",
        "subject.objected",
        "subject.erased",
    ]
    assert all(payload["by"] == "test" for _, payload in rows), rows
    # The actor's digest, as consent entries keep it: the log is never edited (probe PC).
    assert "actor" not in rows[-1][1]
    assert rows[-1][1]["actor_sha256"] == hashlib.sha256(b"dpo-marie").hexdigest()
