"""The runtime role check at start: a role that could read around row-level security is refused,
and so is one without the grants the migrations give (a dump restored before the role existed):
it said SERVING and answered every call INTERNAL, withdrawals included."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from consentd.config import UnsafeRuntimeRole
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store.database import migrate
from consentd.store.runtime_role import check_runtime_role


async def test_the_runtime_role_passes(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        await check_runtime_role(engine)
    finally:
        await engine.dispose()


async def test_a_role_without_the_grants_is_refused(owner_url: str) -> None:
    name, password = f"restored_{uuid4().hex[:8]}", "restored-role-password"
    owner = create_async_engine(owner_url)
    try:
        async with owner.begin() as conn:
            await conn.execute(sa.text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
        url = make_url(owner_url).set(username=name, password=password)
        bare = create_async_engine(url)
        try:
            with pytest.raises(UnsafeRuntimeRole, match="has not been granted the tables"):
                await check_runtime_role(bare)
        finally:
            await bare.dispose()
    finally:
        async with owner.begin() as conn:
            await conn.execute(sa.text(f"DROP ROLE {name}"))
        await owner.dispose()


async def test_a_member_of_the_owner_or_of_a_superuser_is_refused(
    postgres: EmbeddedPostgres, database_url: str
) -> None:
    """Probe EB: a login role that is a member of the tables' owner passed the check (it owns
    no table itself), served, and could turn row-level security off; one that is a member of a
    superuser too. Roles held count as its own."""
    suffix = uuid4().hex[:8]
    # A database of its own: a table of another owner in the shared one is seen by other tests.
    await asyncio.to_thread(postgres.create_database, f"members_{suffix}")
    owner_url = postgres.url(f"members_{suffix}")
    await migrate(owner_url)
    holder, table = f"holder_{suffix}", f"zz_owned_{suffix}"
    via_owner, via_super = f"member_{suffix}", f"super_member_{suffix}"
    owner = create_async_engine(owner_url)
    try:
        async with owner.begin() as conn:
            await conn.execute(sa.text(f"CREATE ROLE {holder} NOLOGIN"))
            await conn.execute(sa.text(f"CREATE TABLE public.{table} (x int)"))
            await conn.execute(sa.text(f"ALTER TABLE public.{table} OWNER TO {holder}"))
            await conn.execute(
                sa.text(
                    f"CREATE ROLE {via_owner} LOGIN PASSWORD 'pw' IN ROLE {holder}, consentd_app"
                )
            )
            await conn.execute(
                sa.text(
                    f"CREATE ROLE {via_super} LOGIN PASSWORD 'pw' "
                    "IN ROLE current_user, consentd_app"
                )
            )
        # Before PostgreSQL 16, CREATEROLE grants itself the owner (probe EC).
        creates = f"creates_{suffix}"
        async with owner.begin() as conn:
            await conn.execute(
                sa.text(
                    f"CREATE ROLE {creates} LOGIN PASSWORD 'pw' CREATEROLE IN ROLE consentd_app"
                )
            )
        # Each refusal says why (probe EB: the same line for every cause).
        for name, why in (
            (via_owner, f"it owns tables, or is a member of their owner ({table})"),
            (via_super, "(superuser or BYPASSRLS)"),
            (creates, f"{creates} may CREATEROLE"),
        ):
            member = create_async_engine(make_url(owner_url).set(username=name, password="pw"))
            try:
                with pytest.raises(UnsafeRuntimeRole, match="owning no table") as refused:
                    await check_runtime_role(member)
                assert why in str(refused.value)
            finally:
                await member.dispose()
        # A grant lost on one table (probe EB: `purposes`; serve said SERVING, every check was
        # INTERNAL): named.
        async with owner.begin() as conn:
            await conn.execute(sa.text(f"DROP TABLE public.{table}"))
            await conn.execute(sa.text("REVOKE SELECT ON purposes FROM consentd_app"))
        # The runtime role (cluster-wide, its password the session's: setting another broke
        # every other test's logins) in this database.
        partial = create_async_engine(make_url(database_url).set(database=f"members_{suffix}"))
        try:
            with pytest.raises(UnsafeRuntimeRole, match=r"not been granted the tables \(purposes;"):
                await check_runtime_role(partial)
        finally:
            await partial.dispose()
    finally:
        async with owner.begin() as conn:
            await conn.execute(sa.text(f"DROP TABLE IF EXISTS public.{table}"))
            for name in (via_owner, via_super, holder, f"creates_{suffix}"):
                await conn.execute(sa.text(f"DROP ROLE IF EXISTS {name}"))
        await owner.dispose()
