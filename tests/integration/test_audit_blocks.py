"""A restriction or an objection decides every check of its subject, so `audit verify` compares
its row with its log entries as it does events (since 0028 a block's entries carry its id as
their fact): the owner deleting an objection (ALLOW again), moving it, changing its kind,
forging or undoing a lift, or adding one behind the log's back is named; blocks logged before
0028 (entries without a fact id) are matched by subject, action and time."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from consentd.bootstrap import App
from consentd.domain.audit import Action, AuditRecord
from consentd.domain.rights import BlockKind
from consentd.domain.tenancy import Tenant
from consentd.store.uow import SqlUnitOfWork
from tests.conftest import owner
from tests.integration.helpers import catalogue, email, grant, principal

_EDITS = {
    # the objection gone (and its feed position with it): the check says ALLOW again
    "deleted": (
        "DELETE FROM consent_changes WHERE tenant_id = :t AND block_id = :b;"
        "DELETE FROM subject_blocks WHERE tenant_id = :t AND block_id = :b",
        "its log entry has no block (deleted?)",
    ),
    "moved": (
        "UPDATE subject_blocks SET since = since + interval '1 day' "
        "WHERE tenant_id = :t AND block_id = :b",
        "differs from its log entry",
    ),
    "kind changed": (
        "UPDATE subject_blocks SET kind = 'restricted' WHERE tenant_id = :t AND block_id = :b",
        "differs from its log entry",
    ),
    "lift forged": (
        "UPDATE subject_blocks SET lifted_at = since + interval '1 second' "
        "WHERE tenant_id = :t AND block_id = :b;"
        # with its log entry forged too (queued for the sequencer): still no call lifts one
        "INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload) "
        "SELECT tenant_id, 'subject.restriction_lifted', lifted_at, subject_id, block_id, "
        "jsonb_build_object('subject_id', subject_id::text, 'by', 'x') FROM subject_blocks "
        "WHERE tenant_id = :t AND block_id = :b",
        "is an objection marked lifted (none is ever lifted)",
    ),
    "request forged": (
        "UPDATE subject_blocks SET request_id = gen_random_uuid() "
        "WHERE tenant_id = :t AND block_id = :b",
        "differs from its log entry",
    ),
}


async def _blocks(app: App, tenant: Tenant) -> list[tuple[UUID, str, bool]]:
    query = sa.text(
        "SELECT block_id, kind, lifted_at IS NOT NULL FROM subject_blocks "
        "WHERE tenant_id = :t ORDER BY since"
    )
    async with owner(app).connect() as conn:
        return [tuple(r) for r in (await conn.execute(query, {"t": tenant.tenant_id})).all()]


async def _edit(app: App, statements: str, keys: dict[str, object]) -> None:
    async with owner(app).begin() as conn:
        await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for statement in statements.split(";"):
            await conn.execute(sa.text(statement), keys)


async def _problems(app: App, tenant: Tenant) -> list[tuple[str, UUID, str]]:
    report = await app.audit.verify(tenant)
    assert report.bad_seq is None  # the chain itself is sound
    return [(p.table, p.fact_id, p.problem) for p in report.facts.problems]


@pytest.mark.parametrize("kind", list(_EDITS))
async def test_an_edited_objection_is_named(app: App, tenant: Tenant, kind: str) -> None:
    await catalogue(app, tenant)
    who = email("objector@example.fr")
    await grant(app, tenant, who)
    await app.rights.object(principal(tenant), who)
    assert (await app.audit.verify(tenant)).ok
    [(block_id, _, _)] = await _blocks(app, tenant)
    statements, problem = _EDITS[kind]
    await _edit(app, statements, {"t": tenant.tenant_id, "b": block_id})
    expected = [("subject_blocks", block_id, problem)]
    if kind == "deleted":  # its feed position went with it: the feed has a gap
        expected += [
            ("consent_changes", None, "positions 1 to 3 hold 2 changes, the last at 2"),
            ("consent_changes", block_id, "is not on the change feed"),
        ]
    assert sorted(await _problems(app, tenant), key=str) == sorted(expected, key=str)


async def test_a_lift_undone_or_a_block_added_behind_the_log_is_named(
    app: App, tenant: Tenant
) -> None:
    await catalogue(app, tenant)
    who = email("restricted@example.fr")
    written = await grant(app, tenant, who)
    await app.rights.restrict(principal(tenant), who)
    await app.rights.restrict(principal(tenant), who, lift=True)
    assert (await app.audit.verify(tenant)).ok
    [(block_id, kind, lifted)] = await _blocks(app, tenant)
    assert (kind, lifted) == ("restricted", True)
    keys = {"t": tenant.tenant_id, "b": block_id, "s": written.subject_id, "n": uuid4()}
    await _edit(
        app,
        "UPDATE subject_blocks SET lifted_at = NULL WHERE tenant_id = :t AND block_id = :b;"
        "INSERT INTO subject_blocks (tenant_id, block_id, subject_id, kind, since) "
        "VALUES (:t, :n, :s, 'objected', now())",
        keys,
    )
    assert sorted(await _problems(app, tenant)) == sorted(
        [
            ("subject_blocks", block_id, "its log entry has no block (deleted?)"),
            ("subject_blocks", keys["n"], "is not in the log"),
        ]
    )


async def test_a_block_logged_before_0028_is_matched_by_subject_action_and_time(
    app: App, tenant: Tenant
) -> None:
    """Its entry has no fact id (as every block entry written before 0028): it still counts,
    and its row moved away from the entry's time is named."""
    await catalogue(app, tenant)
    written = await grant(app, tenant, email("old@example.fr"))
    subject_id = written.subject_id
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        now = written.events[0].recorded_at + timedelta(seconds=1)
        block_id = await uow.rights.add_block(subject_id, BlockKind.OBJECTED, now, None)
        payload = {"subject_id": str(subject_id), "request_id": None}
        uow.audit.record(AuditRecord(Action.SUBJECT_OBJECTED, now, payload, subject_id))
        await uow.commit()
    await app.sequencer.drain(tenant.tenant_id)
    assert (await app.audit.verify(tenant)).ok
    await _edit(
        app,
        "UPDATE subject_blocks SET since = since + interval '1 second' "
        "WHERE tenant_id = :t AND block_id = :b",
        {"t": tenant.tenant_id, "b": block_id},
    )
    assert await _problems(app, tenant) == [("subject_blocks", block_id, "is not in the log")]


async def test_the_change_feed_is_checked_against_the_log(app: App, tenant: Tenant) -> None:
    """The feed is a promise too (gap-free, in the log's order, every change once), and the
    owner could delete or reorder its rows unnoticed (probe Y)."""
    await catalogue(app, tenant)
    for name in ("a", "b", "c"):
        await grant(app, tenant, email(f"{name}@example.fr"))
    assert (await app.audit.verify(tenant)).ok
    keys = {"t": tenant.tenant_id}
    await _edit(
        app,
        "UPDATE consent_changes SET position = 1000 WHERE tenant_id = :t AND position = 1;"
        "UPDATE consent_changes SET position = 1 WHERE tenant_id = :t AND position = 3;"
        "UPDATE consent_changes SET position = 3 WHERE tenant_id = :t AND position = 1000",
        keys,
    )
    swapped = await _problems(app, tenant)
    # positions 3, 2, 1 for the log's first, second and third: the second and third are early
    assert [p for _, _, p in swapped] == 2 * [
        "is on the change feed before a change logged earlier"
    ]
    await _edit(app, "DELETE FROM consent_changes WHERE tenant_id = :t AND position = 2", keys)
    problems = {p for _, _, p in await _problems(app, tenant)}
    assert "positions 1 to 6 hold 5 changes, the last at 6" in problems  # two events a grant
    assert "is not on the change feed" in problems
