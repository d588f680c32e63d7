"""The runtime role check at start: a role that could read around row-level security is refused,
and so is one without the grants the migrations give (a dump restored before the role existed):
it said SERVING and answered every call INTERNAL, withdrawals included."""

from __future__ import annotations

from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from consentd.config import UnsafeRuntimeRole
from consentd.store.database import check_runtime_role


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
