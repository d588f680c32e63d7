"""Builders shared by the integration tests of proof and rights."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from consentd.app.commands import Choice, Evidence, RecordConsent, WithdrawConsent
from consentd.app.consents import Written
from consentd.bootstrap import App
from consentd.domain.identifiers import (
    Identifier,
    normalise_email,
    normalise_external_id,
    normalise_phone,
)
from consentd.domain.model import (
    Channel,
    ConsentState,
    LawfulBasis,
    PartyScope,
    Purpose,
    Source,
    Target,
)
from consentd.domain.retention import TenantRetention
from consentd.domain.tenancy import Principal, Scope, Tenant
from consentd.postgres.embedded import EmbeddedPostgres

NEWSLETTER = Target("newsletter", Channel.EMAIL, PartyScope.FIRST_PARTY)
SMS_OFFERS = Target("offers", Channel.SMS, PartyScope.FIRST_PARTY)
B2B = Target("b2b", Channel.EMAIL, PartyScope.FIRST_PARTY)
NO_EVIDENCE = Evidence()


def principal(tenant: Tenant) -> Principal:
    return Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))


def email(value: str) -> Identifier:
    return normalise_email(value)


def phone(value: str) -> Identifier:
    return normalise_phone(value, "FR")


def external(value: str) -> Identifier:
    return normalise_external_id(value)


async def catalogue(app: App, tenant: Tenant) -> None:
    """newsletter and offers (consent), b2b (legitimate interest)."""
    who = principal(tenant)
    await app.catalog.put_purpose(who, Purpose("newsletter", LawfulBasis.CONSENT))
    await app.catalog.put_purpose(who, Purpose("offers", LawfulBasis.CONSENT))
    await app.catalog.put_purpose(who, Purpose("b2b", LawfulBasis.LEGITIMATE_INTEREST))


async def grant(
    app: App,
    tenant: Tenant,
    *identifiers: Identifier,
    targets: tuple[Target, ...] = (NEWSLETTER, SMS_OFFERS),
    evidence: Evidence = NO_EVIDENCE,
) -> Written:
    command = RecordConsent(
        identifiers=identifiers,
        choices=tuple(Choice(t, ConsentState.GRANTED) for t in targets),
        source=Source.PORTAL,
        actor="self",
        evidence=evidence,
    )
    return await app.consents.record_consent(principal(tenant), command)


async def withdraw(app: App, tenant: Tenant, who: Identifier, target: Target) -> Written:
    command = WithdrawConsent(
        subject=who, targets=(target,), withdraw_all=False, source=Source.PORTAL, actor="self"
    )
    return await app.consents.withdraw_consent(principal(tenant), command)


async def ended_long_ago(app: App, tenant: Tenant, ended: datetime) -> None:
    """The tenant's contract ended at `ended` and was recorded then (a purge a month after it):
    an end put now is recorded now, and the purge waits a month from now (migration 0027)."""
    await app.retention_settings.put(tenant, TenantRetention(contract_ended_at=ended))
    assert app.owner_engine is not None
    async with app.owner_engine.begin() as conn:
        tenant_id = {"t": str(tenant.tenant_id)}
        await conn.execute(sa.text("SELECT set_config('consentd.tenant_id', :t, true)"), tenant_id)
        await conn.execute(
            sa.text(
                "UPDATE tenant_retention SET contract_end_recorded_at = contract_ended_at "
                "WHERE tenant_id = CAST(:t AS uuid)"
            ),
            tenant_id,
        )


async def restore_feed_to(engine: AsyncEngine, tenant_id: UUID, position: int) -> None:
    """What a restore from an earlier backup leaves of a tenant's change feed, done as the owner
    (`engine`, a superuser): the changes after `position` gone, the head back at it."""
    async with engine.begin() as conn:
        await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        where = {"t": tenant_id, "p": position}
        await conn.execute(
            sa.text("DELETE FROM consent_changes WHERE tenant_id = :t AND position > :p"), where
        )
        await conn.execute(
            sa.text("UPDATE consent_change_heads SET last_position = :p WHERE tenant_id = :t"),
            where,
        )


async def as_superuser(postgres: EmbeddedPostgres, *statements: str) -> None:
    """Run `statements` as the cluster's superuser, each in its own transaction (CREATE
    DATABASE, roles)."""
    engine = create_async_engine(postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()
