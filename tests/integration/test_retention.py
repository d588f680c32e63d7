"""The retention job on a database of its own: a dry run changes nothing, a second run at the
same time is locked out, and a run killed with SIGKILL mid-way then run again leaves exactly the
right rows: the ended tenant's data gone, the held tenant untouched, the active tenant's audit
log cut at its year-old checkpoint, and every chain still verifying."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from structlog.testing import capture_logs

from consentd.app.cookie_choices import RecordCookieChoice
from consentd.app.retention import FAILED, LOCK_NAME
from consentd.bootstrap import App, bootstrap, derived_signing_key
from consentd.config import Settings
from consentd.domain import merkle
from consentd.domain.cookie_policy import DEFAULT_POLICY
from consentd.domain.cookies import ChoiceMethod
from consentd.domain.errors import NotFound
from consentd.domain.model import Notice
from consentd.domain.retention import TenantRetention
from consentd.domain.rights import RequestKind
from consentd.domain.tenancy import Tenant
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store.database import migrate
from consentd.store.locks import AdvisoryLock
from consentd.store.retention import PURGE_ORDER
from consentd.store.tables import audit_entries, subject_blocks, subjects, tenant_retention
from tests.conftest import TEST_SECRET, TestClock, owner
from tests.integration.helpers import (
    B2B,
    NEWSLETTER,
    catalogue,
    email,
    ended_long_ago,
    grant,
    principal,
)

TABLES = (*PURGE_ORDER, audit_entries)
SUBJECTS = 150


@dataclass
class World:
    app: App
    url: str  # the owner's
    runtime_url: str
    active: Tenant
    ended: Tenant
    held: Tenant
    old_checkpoint: int


@pytest.fixture(scope="module")
async def world(
    postgres: EmbeddedPostgres, database_url: str, clock: TestClock
) -> AsyncIterator[World]:
    """A fresh database: `a-active` with a 14-month-old signed segment of audit log,
    `b-ended` (contract ended 3 months ago, many rows), `c-held` (ended, under legal hold).
    Shared by this module's tests, which run in file order: the purge comes last."""
    name = f"retention_{uuid4().hex[:12]}"
    await asyncio.to_thread(postgres.create_database, name)
    url = postgres.url(name)
    await migrate(url)
    runtime_url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    app = bootstrap(Settings(), runtime_url, TEST_SECRET, clock, owner_url=url)
    assert app.admin is not None
    now = datetime.now(UTC)
    made = {}
    # Made 430 days ago too: a prune keeps every entry after the first younger than a year.
    clock.pinned = now - timedelta(days=430)
    for slug in ("a-active", "b-ended", "c-held"):
        made[slug] = await app.admin.create_tenant(slug)
    active, ended, held = made["a-active"], made["b-ended"], made["c-held"]
    await catalogue(app, active)
    await grant(app, active, email("old@example.fr"))
    await _standing_words(app, active)
    checkpoint = await app.audit.checkpoint(active)
    assert checkpoint is not None
    clock.pinned = None
    await grant(app, active, email("new@example.fr"))
    for tenant, count in ((ended, SUBJECTS), (held, 5)):
        await catalogue(app, tenant)
        for index in range(count):
            await grant(app, tenant, email(f"s{index}@example.fr"), targets=(NEWSLETTER, B2B))
        await app.rights.restrict(principal(tenant), email("s1@example.fr"))
    # Issue #3's and #4's rows go with the ended tenant too (cookie tables reference subjects).
    who = principal(ended)
    await app.cookies.put_cookie_policy(who, DEFAULT_POLICY)
    for index in range(3):
        visitor = f"ended-visitor-{index:04d}"
        choice = RecordCookieChoice(visitor, ChoiceMethod.ACCEPT_ALL, policy_revision=1)
        await app.cookies.record_cookie_choice(who, choice)
        await app.cookies.link_visitor(who, visitor, email(f"s{index}@example.fr"))
    await app.admin.issue_key(ended.slug, ["consent:check"], name="ended sender")
    await app.requests.submit(who, RequestKind.ACCESS, email("s2@example.fr"), None)
    ended_at = now - timedelta(days=92)
    await ended_long_ago(app, ended, ended_at)
    await ended_long_ago(app, held, ended_at)
    await app.retention_settings.put(
        held,
        TenantRetention(contract_ended_at=ended_at, legal_hold=True, legal_hold_reason="litige"),
    )
    try:
        yield World(app, url, runtime_url, active, ended, held, checkpoint.seq)
    finally:
        await app.aclose()


async def _standing_words(app: App, tenant: Tenant) -> None:
    """What the year-old segment says that still stands besides consents: a cookie policy, a
    notice, an objection, an erasure, a rights request; and a restriction since lifted."""
    who = principal(tenant)
    await app.cookies.put_cookie_policy(who, DEFAULT_POLICY)
    notice = Notice("terms", 0, "Conditions", "fr", "Texte", "", False, datetime.now(UTC))
    await app.catalog.publish_notice(who, notice)
    for name in ("objector", "erased", "lifted"):
        await grant(app, tenant, email(f"{name}@example.fr"))
    await app.rights.object(who, email("objector@example.fr"))
    await app.rights.erase(who, email("erased@example.fr"), "dpo")
    await app.rights.restrict(who, email("lifted@example.fr"))
    await app.rights.restrict(who, email("lifted@example.fr"), lift=True)
    await app.requests.submit(who, RequestKind.ACCESS, email("objector@example.fr"), None)


async def _counts(app: App, tenant: Tenant) -> dict[str, int]:
    """Rows per table of the tenant, once what its writes queued for the audit log is in it
    (the sequencer integrates in the background: counting earlier would race it)."""
    await app.sequencer.drain(tenant.tenant_id)
    async with owner(app).connect() as conn:
        counts = {}
        for table in TABLES:
            query = sa.select(sa.func.count()).where(table.c.tenant_id == tenant.tenant_id)
            counts[table.name] = int((await conn.execute(query)).scalar_one())
        return counts


async def _first_audit_seq(app: App, tenant: Tenant) -> int:
    async with owner(app).connect() as conn:
        query = sa.select(sa.func.min(audit_entries.c.seq)).where(
            audit_entries.c.tenant_id == tenant.tenant_id
        )
        return int((await conn.execute(query)).scalar_one())


def _job(world: World, *extra: str) -> subprocess.Popen[str]:
    """`consentd retention run` as deployed: the owner lists tenants, the runtime role works."""
    env = {
        **os.environ,
        "DATABASE_URL": world.runtime_url,
        "CONSENTD_MIGRATION_DATABASE_URL": world.url,
        "CONSENTD_MIGRATE_ON_START": "false",
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(derived_signing_key(TEST_SECRET)).decode(),
        "CONSENTD_LOG_FORMAT": "json",
    }
    argv = [sys.executable, "-m", "consentd", "retention", "run", *extra]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


async def test_dry_run_reports_and_changes_nothing(world: World) -> None:
    """The dry run names what would go per tenant and category; every row is still there."""
    app = world.app
    before = {t.slug: await _counts(app, t) for t in (world.active, world.ended, world.held)}
    with capture_logs() as logs:
        report = await app.retention.run(dry_run=True)
    # The warning names whose requests (probe IF: a run over tenants could not tell).
    warned = [e for e in logs if e["event"] == "purge_deletes_open_rights_requests"]
    assert [(e["tenant"], e["open"]) for e in warned] == [("b-ended", 1)]
    by_slug = {t.tenant: t for t in report.tenants}
    assert by_slug["a-active"].status == "kept"
    assert by_slug["a-active"].deleted == {"audit_entries": world.old_checkpoint}
    assert by_slug["b-ended"].status == "purged"
    ended = before["b-ended"]
    assert by_slug["b-ended"].deleted == {name: n for name, n in ended.items() if n}
    assert by_slug["c-held"].status == "held"
    assert by_slug["c-held"].deleted == {}
    assert any("recordings" in note for note in by_slug["a-active"].notes)
    # Probe DM: open rights requests went with the tenant without a word.
    assert "rights requests: 1 still open (0 past their due date)" in " ".join(
        by_slug["b-ended"].notes
    )
    assert not any("cookie_choices" in note for note in by_slug["a-active"].notes)
    after = {t.slug: await _counts(app, t) for t in (world.active, world.ended, world.held)}
    assert after == before


async def test_a_run_on_a_clock_ahead_of_the_databases_does_nothing(
    world: World, clock: TestClock
) -> None:
    """Probe CD: a run on a host a year ahead decided on its own clock, marked the ended
    tenant purged, then had its rows refused by the database's guard (its own clock): the
    tenant locked out, its data all there, `purged_at` wrong. A clock over CLOCK_MARGIN ahead
    fails every tenant saying so, and nothing changes."""
    app, tenants = world.app, (world.active, world.ended, world.held)
    before = {t.slug: await _counts(app, t) for t in tenants}
    clock.pinned = datetime.now(UTC) + timedelta(days=400)
    try:
        report = await app.retention.run()
    finally:
        clock.pinned = None
    assert {t.tenant: t.status for t in report.tenants} == dict.fromkeys(before, FAILED)
    assert all("ahead of the database's" in t.notes[0] for t in report.tenants)
    assert {t.slug: await _counts(app, t) for t in tenants} == before
    async with owner(app).connect() as conn:
        purged = await conn.execute(sa.select(tenant_retention.c.purged_at))
        assert set(purged.scalars()) == {None}


async def test_a_second_run_at_the_same_time_does_nothing(world: World) -> None:
    """While another process holds the advisory lock, a run is locked out and changes nothing."""
    before = await _counts(world.app, world.ended)
    async with AdvisoryLock(world.app.engine).hold(LOCK_NAME) as held:
        assert held
        report = await world.app.retention.run()
    assert report.locked_out
    assert report.tenants == []
    assert await _counts(world.app, world.ended) == before


async def test_a_run_killed_mid_way_then_rerun_leaves_exactly_the_right_rows(
    world: World,
) -> None:
    """`consentd retention run` (a real process) is killed with SIGKILL while it deletes the
    ended tenant's rows; run again, it finishes: only the right rows are left, and every
    tenant's chain verifies."""
    app = world.app
    held_before = await _counts(app, world.held)
    active_before = await _counts(app, world.active)
    ended_before = await _counts(app, world.ended)
    assert ended_before["consent_events"] == 2 * SUBJECTS
    assert ended_before["cookie_choices"] == 3
    assert ended_before["api_keys"] == 1

    job = _job(world, "--batch-size", "20", "--pause", "0.05")
    try:
        deadline = time.monotonic() + 60
        while True:
            events = (await _counts(app, world.ended))["consent_events"]
            if 0 < events < ended_before["consent_events"]:
                break
            assert job.poll() is None, job.communicate()[1]
            assert time.monotonic() < deadline, "the job never started deleting"
            await asyncio.sleep(0.02)
        job.send_signal(signal.SIGKILL)
        job.communicate(timeout=30)
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    assert job.returncode == -signal.SIGKILL
    partial = await _counts(app, world.ended)
    assert 0 < partial["consent_events"] < ended_before["consent_events"]  # killed mid-way

    rerun = await asyncio.to_thread(_job(world, "--batch-size", "20").communicate, timeout=120)
    assert '"status": "purged"' in rerun[0], rerun

    ended_after = await _counts(app, world.ended)
    assert {k: v for k, v in ended_after.items() if k != "audit_entries"} == dict.fromkeys(
        (t.name for t in PURGE_ORDER), 0
    )
    assert ended_after["audit_entries"] == 1  # only `retention.purged`, anchored by a checkpoint
    assert await _counts(app, world.held) == held_before
    active_after = await _counts(app, world.active)
    assert {k: v for k, v in active_after.items() if k != "audit_entries"} == {
        k: v for k, v in active_before.items() if k != "audit_entries"
    }
    # The year-old segment went; what came after stays, plus one `audit.pruned` entry and what
    # still stands logged again: the grants and erased states of old@, objector@, erased@ and
    # lifted@ (two targets each, `consent.carried`), and (`audit.entry_carried`) the
    # objection, the erasure, three purposes, the notice, the cookie policy, the request.
    kept = active_before["audit_entries"] - world.old_checkpoint
    assert active_after["audit_entries"] == kept + 1 + 8 + 8
    assert await _first_audit_seq(app, world.active) == world.old_checkpoint + 1

    for tenant in (world.active, world.ended, world.held):
        report = await app.audit.verify(tenant)
        assert report.ok, (tenant.slug, report)
    async with owner(app).connect() as conn:
        purged = await conn.execute(
            sa.select(tenant_retention.c.purged_at).where(
                tenant_retention.c.tenant_id == world.ended.tenant_id
            )
        )
        assert purged.scalar_one() is not None

    third = await asyncio.to_thread(_job(world).communicate, timeout=120)
    assert '"status": "already_purged"' in third[0], third
    assert await _counts(app, world.ended) == ended_after
    assert await _counts(app, world.held) == held_before


async def test_proofs_of_the_kept_entries_still_verify_once_retention_pruned_the_log(
    world: World,
) -> None:
    """After the run above pruned the active tenant's year-old segment (its Merkle compact range
    kept): the first and the last kept entries are proven in the current signed head, whose root
    the sequencer kept without the pruned leaves, and that head extends the one at the pruning
    point; a pruned entry has no proof."""
    app, tenant = world.app, world.active
    head = await app.audit.tree_head(tenant)
    for seq in (world.old_checkpoint + 1, head.tree_size):
        proof = await app.audit.prove_inclusion(tenant, seq, None)
        leaf = hashlib.sha256(b"\x00" + proof.leaf_input).digest()
        assert merkle.verify_inclusion(leaf, seq - 1, head.tree_size, proof.path, head.root_hash)
    consistency = await app.audit.prove_consistency(tenant, world.old_checkpoint)
    assert merkle.verify_consistency(
        world.old_checkpoint,
        head.tree_size,
        consistency.first.root_hash,
        head.root_hash,
        consistency.path,
    )
    with pytest.raises(NotFound):
        await app.audit.prove_inclusion(tenant, 1, None)


async def test_a_fact_in_force_stays_provable_after_its_segment_was_pruned(world: World) -> None:
    """old@'s grants were recorded in the pruned year-old segment and still decide ALLOW: they
    had no entry left (`audit prove` said "no audit entry"), and their rows could be edited as
    the database owner (source, actor, time backdated) with `audit verify` still ok. Retention
    logs them again before pruning: a proof names their new entry, and an edit is caught."""
    app, tenant = world.app, world.active
    _, events = await app.consents.subject_consents(principal(tenant), email("old@example.fr"))
    granted = next(e for e in events if e.target == NEWSLETTER)
    assert granted.recorded_at < datetime.now(UTC) - timedelta(days=400)
    await app.audit.checkpoint(tenant)  # a signed head past the carried entries
    proof = await app.audit.prove_inclusion(tenant, 0, granted.event_id)
    assert proof.seq > world.old_checkpoint
    leaf = hashlib.sha256(b"\x00" + proof.leaf_input).digest()
    head = proof.head
    assert merkle.verify_inclusion(leaf, proof.seq - 1, head.tree_size, proof.path, head.root_hash)
    async with owner(app).connect() as conn:
        action = await conn.execute(
            sa.select(audit_entries.c.action).where(
                audit_entries.c.tenant_id == tenant.tenant_id, audit_entries.c.seq == proof.seq
            )
        )
        assert action.scalar_one() == "consent.carried"
    assert (await app.audit.verify(tenant)).ok
    edit = sa.text(
        "UPDATE consent_events SET source = 'import', actor = 'someone else' "
        "WHERE tenant_id = :t AND event_id = :e"
    )
    undo = sa.text(
        "UPDATE consent_events SET source = :s, actor = :a WHERE tenant_id = :t AND event_id = :e"
    )
    keys = {"t": tenant.tenant_id, "e": granted.event_id}
    async with owner(app).begin() as conn:
        await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        await conn.execute(edit, keys)
    try:
        report = await app.audit.verify(tenant)
    finally:
        async with owner(app).begin() as conn:
            await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            await conn.execute(undo, {**keys, "s": granted.source.value, "a": granted.actor})
    assert not report.ok
    problems = [(p.fact_id, p.problem) for p in report.facts.problems]
    assert (granted.event_id, "differs from its log entry") in problems


async def test_the_standing_words_stay_provable_after_their_segment_was_pruned(
    world: World,
) -> None:
    """Probe CD: a year on, the log proved only the consent facts still in force: the
    objection in force, the erasure, the request's handling, the notice's text hash, the
    purposes and the cookie policy had no entry left, `audit verify` still ok. Each is logged
    again before its segment is pruned (`audit.entry_carried`, holding the entry as it was);
    the lifted restriction is not. The objection is proven by its block id."""
    app, tenant = world.app, world.active
    async with owner(app).connect() as conn:
        rows = await conn.execute(
            sa.select(audit_entries.c.payload).where(
                audit_entries.c.tenant_id == tenant.tenant_id,
                audit_entries.c.action == "audit.entry_carried",
            )
        )
        carried = sorted(p["action"] for p in rows.scalars())
        block = await conn.execute(
            sa.select(subject_blocks.c.block_id).where(
                subject_blocks.c.tenant_id == tenant.tenant_id,
                subject_blocks.c.kind == "objected",
            )
        )
        objection = block.scalar_one()
    assert carried == [
        "catalog.notice_published",
        *["catalog.purpose_put"] * 3,
        "cookies.policy_put",
        "rights_request.transitioned",
        "subject.erased",
        "subject.objected",
    ]
    await app.audit.checkpoint(tenant)
    proof = await app.audit.prove_inclusion(tenant, 0, objection)
    assert proof.seq > world.old_checkpoint
    entry = json.loads(proof.leaf_input)
    held = entry["payload"]
    assert (entry["action"], held["action"]) == ("audit.entry_carried", "subject.objected")
    assert held["seq"] <= world.old_checkpoint
    leaf = hashlib.sha256(b"\x00" + proof.leaf_input).digest()
    head = proof.head
    assert merkle.verify_inclusion(leaf, proof.seq - 1, head.tree_size, proof.path, head.root_hash)
    assert (await app.audit.verify(tenant)).ok
    # Compared with its carried entry: the objection backdated as the owner is caught.
    moved = "UPDATE subject_blocks SET since = since - interval '{}' WHERE block_id = :b"
    for step in ("1 day", "-1 day"):
        async with owner(app).begin() as conn:
            await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            await conn.execute(sa.text(moved.format(step)), {"b": objection})
        report = await app.audit.verify(tenant)
        if step == "1 day":
            assert [(p.table, p.fact_id) for p in report.facts.problems] == [
                ("subject_blocks", objection)
            ]
    assert report.ok
    # Probe CE: the erasure undone as the owner (erased_at back to NULL) went unnoticed.
    async with owner(app).connect() as conn:
        found = await conn.execute(
            sa.select(subjects.c.subject_id, subjects.c.erased_at).where(
                subjects.c.tenant_id == tenant.tenant_id, subjects.c.erased_at.is_not(None)
            )
        )
        ((erased, at),) = found.all()
    undo = "UPDATE subjects SET erased_at = :at WHERE subject_id = :s"
    for value in (None, at):
        async with owner(app).begin() as conn:
            await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            await conn.execute(sa.text(undo), {"s": erased, "at": value})
        report = await app.audit.verify(tenant)
        if value is None:
            assert [(p.table, p.fact_id) for p in report.facts.problems] == [("subjects", erased)]
    assert report.ok
    # Probe IH: once a log was pruned, its Merkle tree was not recomputed at all: an edited
    # frontier (the base of the next signed root) went unseen again.
    frontier = "UPDATE audit_heads SET tree_frontier = :f WHERE tenant_id = :t"
    async with owner(app).connect() as conn:
        query = sa.text("SELECT tree_frontier FROM audit_heads WHERE tenant_id = :t")
        kept = (await conn.execute(query, {"t": tenant.tenant_id})).scalar_one()
    for value in (bytes(len(kept)), kept):
        async with owner(app).begin() as conn:
            await conn.execute(sa.text(frontier), {"f": value, "t": tenant.tenant_id})
        report = await app.audit.verify(tenant)
        assert report.ok is (value == kept), report.problem
        if value != kept:
            assert "frontier" in report.problem
    # Probe IJ: the pruned entries' range set to NULL (as a log pruned before 0009 has) made
    # verify skip the tree, and a forged root was signed.
    pruned = "UPDATE audit_heads SET pruned_frontier = :f WHERE tenant_id = :t"
    async with owner(app).connect() as conn:
        query = sa.text("SELECT pruned_frontier FROM audit_heads WHERE tenant_id = :t")
        range_kept = (await conn.execute(query, {"t": tenant.tenant_id})).scalar_one()
    assert range_kept is not None
    for value in (None, range_kept):
        async with owner(app).begin() as conn:
            await conn.execute(sa.text(pruned), {"f": value, "t": tenant.tenant_id})
        report = await app.audit.verify(tenant)
        assert report.ok is (value is not None), report.problem
        if value is None:
            assert "frontier is missing" in report.problem
    # Probe ID: the erasure's time moved (what a breach scope reports), and a contact point it
    # suppressed deleted (a system's grant then made the erased person ALLOW), verified ok.
    for value in (at - timedelta(days=300), at):
        async with owner(app).begin() as conn:
            await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            await conn.execute(sa.text(undo), {"s": erased, "at": value})
        report = await app.audit.verify(tenant)
        if value != at:
            assert [(p.table, p.fact_id) for p in report.facts.problems] == [("subjects", erased)]
    assert report.ok
    async with owner(app).begin() as conn:
        await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            sa.text("DELETE FROM suppressions WHERE tenant_id = :t AND reason = 'erased'"),
            {"t": tenant.tenant_id},
        )
    report = await app.audit.verify(tenant)
    assert [(p.table, p.fact_id) for p in report.facts.problems] == [("suppressions", erased)]
