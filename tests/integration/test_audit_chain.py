"""The audit chain on real PostgreSQL: appended in the writer's transaction, gap-free under
concurrency, append-only, and every direct edit by a superuser is detected."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.app.commands import Choice, RecordConsent
from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.domain.audit import AuditRecord, chain
from consentd.domain.errors import FailedPrecondition, InvalidInput
from consentd.domain.model import ConsentState, Notice, Source
from consentd.domain.rights import RequestKind
from consentd.domain.tenancy import Tenant
from consentd.store.tables import audit_entries, audit_heads, audit_tree_heads
from tests.conftest import TEST_SECRET, TestClock, command_env, owner
from tests.integration.helpers import (
    B2B,
    NEWSLETTER,
    catalogue,
    email,
    grant,
    phone,
    principal,
    withdraw,
)

_E = audit_entries


async def _actions(app: App, tenant: Tenant) -> list[tuple[int, str]]:
    """The log's (seq, action) once the sequencer integrated what was queued."""
    await app.sequencer.drain(tenant.tenant_id)
    async with owner(app).connect() as conn:
        rows = await conn.execute(
            sa.select(_E.c.seq, _E.c.action)
            .where(_E.c.tenant_id == tenant.tenant_id)
            .order_by(_E.c.seq)
        )
        return [(seq, action) for seq, action in rows]


async def _build_chain(app: App, tenant: Tenant) -> None:
    """A varied chain: tenant, catalogue, grants, withdrawal, restriction, objection, erasure."""
    await catalogue(app, tenant)
    who = principal(tenant)
    for index in range(3):
        await grant(app, tenant, email(f"p{index}@example.fr"), phone(f"+3361234567{index}"))
    await withdraw(app, tenant, email("p0@example.fr"), NEWSLETTER)
    await app.rights.restrict(who, email("p1@example.fr"))
    await app.rights.object(who, email("p2@example.fr"))
    await app.rights.erase(who, email("p0@example.fr"), "dpo")


async def test_every_change_is_one_audit_entry_in_order(app: App, tenant: Tenant) -> None:
    """Tenant creation, catalogue, each consent event (the erasure's too), withdrawal and rights
    changes each append an entry, seq 1, 2, 3... with no gap, and the chain verifies."""
    await _build_chain(app, tenant)
    actions = await _actions(app, tenant)
    assert [seq for seq, _ in actions] == list(range(1, len(actions) + 1))
    assert [a for _, a in actions] == [
        "tenant.created",
        *["catalog.purpose_put"] * 3,
        *["consent.recorded"] * 6,
        "consent.withdrawn",
        "subject.restricted",
        "subject.objected",
        *["consent.recorded"] * 2,  # the erased events of p0's newsletter and offers
        "subject.erased",
    ]
    report = await app.audit.verify(tenant)
    assert (report.ok, report.entries_checked, report.last_seq) == (True, 16, 16)


async def test_a_failed_write_leaves_no_audit_entry(app: App, tenant: Tenant) -> None:
    """The entry is written in the change's transaction: a refused write appends nothing."""
    await catalogue(app, tenant)
    before = await _actions(app, tenant)
    bad = RecordConsent(
        identifiers=(email("x@example.fr"),),
        choices=(Choice(NEWSLETTER, ConsentState.GRANTED, notice_version=7),),
        source=Source.API,
        actor="t",
    )
    with pytest.raises(InvalidInput):
        await app.consents.record_consent(principal(tenant), bad)
    assert await _actions(app, tenant) == before


async def test_concurrent_writers_get_gap_free_sequences(app: App, tenant: Tenant) -> None:
    """40 concurrent writes to one tenant: 40 more entries, seq contiguous, chain verifies."""
    await catalogue(app, tenant)
    before = len(await _actions(app, tenant))
    await asyncio.gather(
        *(grant(app, tenant, email(f"c{i}@example.fr"), targets=(B2B,)) for i in range(40))
    )
    actions = await _actions(app, tenant)
    assert [seq for seq, _ in actions] == list(range(1, before + 41))
    assert (await app.audit.verify(tenant)).ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'x'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
    ],
    ids=["update", "delete", "truncate"],
)
async def test_audit_entries_refuse_update_delete_truncate(
    app: App, tenant: Tenant, statement: str
) -> None:
    """The trigger guard refuses every change but INSERT, even to the table's owner."""
    async with owner(app).connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="audit_entries is append-only"):
            await conn.execute(sa.text(statement))
        await conn.rollback()


async def test_pruning_needs_a_signed_checkpoint_older_than_a_year(
    app: App, tenant: Tenant
) -> None:
    """consentd_prune_audit refuses a seq with no checkpoint, and a recent checkpoint."""
    await catalogue(app, tenant)
    await app.audit.checkpoint(tenant)
    async with owner(app).connect() as conn:
        await conn.execute(
            sa.select(sa.func.set_config("consentd.tenant_id", str(tenant.tenant_id), True))
        )
        with pytest.raises(sa.exc.DBAPIError, match="no checkpoint at seq 2"):
            await conn.execute(sa.select(sa.func.consentd_prune_audit(tenant.tenant_id, 2)))
        await conn.rollback()
        await conn.execute(
            sa.select(sa.func.set_config("consentd.tenant_id", str(tenant.tenant_id), True))
        )
        with pytest.raises(sa.exc.DBAPIError, match="younger than 12 months"):
            await conn.execute(sa.select(sa.func.consentd_prune_audit(tenant.tenant_id, 4)))
        await conn.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="not this transaction's tenant"):
            await conn.execute(sa.select(sa.func.consentd_prune_audit(tenant.tenant_id, 4)))
        await conn.rollback()


# Tampering by a superuser --------------------------------------------------------------------

TAMPERS = (
    "payload",
    "entry_hash",
    "prev_hash",
    "time",
    "action",
    "subject_id",
    "fact_id",
    "format",
    "delete",
    "swap",
    "insert",
)


async def _as_superuser(conn: AsyncConnection) -> None:
    """Triggers off for this transaction (only a superuser may): the edit goes through."""
    await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))


def _flip(data: bytes, rng: random.Random) -> bytes:
    index = rng.randrange(len(data))
    return data[:index] + bytes([data[index] ^ (1 << rng.randrange(8))]) + data[index + 1 :]


def _edit_payload(payload: dict[str, object], rng: random.Random) -> dict[str, object]:
    """Flip one bit of one character of the payload's JSON text, keeping it valid JSON."""
    text = json.dumps(payload, sort_keys=True)
    while True:
        flipped = _flip(text.encode(), rng)
        try:
            edited = json.loads(flipped.decode())
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(edited, dict) and edited != payload:
            return edited


async def _tamper(conn: AsyncConnection, tenant: Tenant, kind: str, rng: random.Random) -> int:
    """Make one edit of `kind` at a random entry; the seq edited."""
    mine = _E.c.tenant_id == tenant.tenant_id
    rows = (await conn.execute(sa.select(_E).where(mine).order_by(_E.c.seq))).mappings().all()
    row = rng.choice(rows)
    at = _E.c.seq == row["seq"]
    await _as_superuser(conn)
    if kind == "payload":
        payload = _edit_payload(dict(row["payload"]), rng)
        await conn.execute(_E.update().where(mine, at).values(payload=payload))
    elif kind in ("entry_hash", "prev_hash"):
        values = {kind: _flip(row[kind], rng)}
        await conn.execute(_E.update().where(mine, at).values(**values))
    elif kind == "time":
        moved = row["recorded_at"].replace(microsecond=(row["recorded_at"].microsecond + 1) % 10**6)
        await conn.execute(_E.update().where(mine, at).values(recorded_at=moved))
    elif kind == "action":
        await conn.execute(_E.update().where(mine, at).values(action=row["action"] + "x"))
    elif kind in ("subject_id", "fact_id"):
        await conn.execute(_E.update().where(mine, at).values(**{kind: uuid4()}))
    elif kind == "format":
        await conn.execute(_E.update().where(mine, at).values(format=1))
    elif kind == "delete":
        await conn.execute(_E.delete().where(mine, at))
    elif kind == "swap":
        other = rng.choice([r for r in rows if r["seq"] != row["seq"]])
        fields = (
            "prev_hash",
            "entry_hash",
            "recorded_at",
            "action",
            "subject_id",
            "payload",
            "format",
            "fact_id",
        )
        for source, target in ((row, other), (other, row)):
            await conn.execute(
                _E.update()
                .where(mine, _E.c.seq == target["seq"])
                .values(**{f: source[f] for f in fields})
            )
    else:  # a forged entry, correctly chained after the last one, the head left alone
        last = rows[-1]
        forged = chain(
            tenant.tenant_id,
            last["seq"],
            last["entry_hash"],
            AuditRecord("consent.recorded", datetime.now(UTC), {"forged": True}),
        )
        await conn.execute(
            _E.insert().values(
                tenant_id=tenant.tenant_id,
                seq=forged.seq,
                prev_hash=forged.prev_hash,
                entry_hash=forged.entry_hash,
                recorded_at=forged.recorded_at,
                action=forged.action,
                payload=dict(forged.payload),
            )
        )
        return forged.seq
    return int(row["seq"])


@pytest.mark.parametrize("kind", TAMPERS)
async def test_random_superuser_edits_are_all_detected(
    app: App, kind: str, request: pytest.FixtureRequest
) -> None:
    """For each kind of edit, five random edits on fresh chains: every one is detected and the
    first bad entry named is the edited one or the next (a swap: the first of the two)."""
    rng = random.Random(f"{kind}-{request.node.name}")  # noqa: S311 - reproducible, not secret
    for _ in range(5):
        slug = f"t-{uuid4().hex[:12]}"
        assert app.admin is not None
        tenant = await app.admin.create_tenant(slug)
        await _build_chain(app, tenant)
        assert (await app.audit.verify(tenant)).ok
        async with owner(app).begin() as conn:
            edited = await _tamper(conn, tenant, kind, rng)
        report = await app.audit.verify(tenant)
        assert not report.ok, kind
        assert report.bad_seq is not None
        if kind != "swap":
            assert report.bad_seq in (edited, edited + 1), (kind, edited, report)


async def test_a_forged_tail_with_a_forged_head_is_caught_by_the_signed_checkpoint(
    app: App, tenant: Tenant
) -> None:
    """Rewriting a signed entry and every hash after it, head included, is still caught: the
    checkpoint's signature needs a key the database never holds."""
    await _build_chain(app, tenant)
    checkpoint = await app.audit.checkpoint(tenant)
    assert checkpoint is not None
    async with owner(app).begin() as conn:
        mine = _E.c.tenant_id == tenant.tenant_id
        rows = (await conn.execute(sa.select(_E).where(mine).order_by(_E.c.seq))).mappings().all()
        await _as_superuser(conn)
        last_seq, last_hash = 0, bytes(32)
        for row in rows:
            payload = dict(row["payload"])
            if row["seq"] == 5:
                payload["forged"] = True
            entry = chain(
                tenant.tenant_id,
                last_seq,
                last_hash,
                AuditRecord(
                    row["action"], row["recorded_at"], payload, row["subject_id"], row["fact_id"]
                ),
            )
            await conn.execute(
                _E.update()
                .where(mine, _E.c.seq == entry.seq)
                .values(prev_hash=entry.prev_hash, entry_hash=entry.entry_hash, payload=payload)
            )
            last_seq, last_hash = entry.seq, entry.entry_hash
        await conn.execute(
            audit_heads.update()
            .where(audit_heads.c.tenant_id == tenant.tenant_id)
            .values(last_hash=last_hash)
        )
    report = await app.audit.verify(tenant)
    assert (report.ok, report.bad_seq) == (False, checkpoint.seq)


async def test_cli_verify_names_the_first_bad_entry(
    database_url: str, owner_url: str, app: App, tenant: Tenant
) -> None:
    """`consentd audit verify --tenant` exits 0 on a sound chain, and 1 naming the first bad
    entry once a row is deleted."""
    await _build_chain(app, tenant)
    env = command_env(database_url, owner_url)
    argv = [sys.executable, "-m", "consentd", "audit", "verify", "--tenant", tenant.slug]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    done = await asyncio.to_thread(run)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    async with owner(app).begin() as conn:
        await _as_superuser(conn)
        await conn.execute(_E.delete().where(_E.c.tenant_id == tenant.tenant_id, _E.c.seq == 6))
    done = await asyncio.to_thread(run)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert (report["ok"], report["bad_seq"]) == (False, 6)


_RIGHTS_TAMPERING = {
    "state": "UPDATE rights_requests SET state = 'refused', closed_at = now() WHERE {mine}",
    # Probe GA: verified ok. The deadline of GDPR art. 12(3), its receipt, the row itself.
    "due date": "UPDATE rights_requests SET due_at = due_at + interval '60 days' WHERE {mine}",
    "receipt": "UPDATE rights_requests SET received_at = received_at + interval '20 days', "
    "due_at = due_at + interval '20 days' WHERE {mine}",
    "deleted": "DELETE FROM rights_requests WHERE {mine}",
    # Probe GE: an extension the person was not told of: its date moved, a told time forged.
    "extended date": "UPDATE rights_requests SET extended_due_at = extended_due_at "
    "+ interval '60 days' WHERE {mine}",
    "told time": "UPDATE rights_requests SET person_told_at = received_at + interval '1 hour' "
    "WHERE {mine}",
    # Probe ID: a request closed late, its close moved before its due date (closed_late false),
    # when and how its identity was verified, the first due date of an extended one.
    "closed time": "UPDATE rights_requests SET closed_at = closed_at - interval '3 days' "
    "WHERE {mine}",
    "verified time": "UPDATE rights_requests SET verified_at = verified_at - interval '5 days' "
    "WHERE {mine}",
    "verification method": "UPDATE rights_requests SET verification_method = 'one_time_code' "
    "WHERE {mine}",
    "first due date": "UPDATE rights_requests SET due_at = due_at - interval '20 days' "
    "WHERE {mine}",
}


@pytest.mark.parametrize("tampering", _RIGHTS_TAMPERING)
async def test_a_rights_request_that_is_not_its_latest_transition_is_named(
    app: App, tenant: Tenant, tampering: str
) -> None:
    """A submitted and verified request verifies; once the owner changes its row behind the
    log's back (its state, its due date, its receipt) or deletes it, verify names it."""
    await catalogue(app, tenant)
    await grant(app, tenant, email("r@example.fr"))
    submitted = await app.requests.submit(
        principal(tenant), RequestKind.ACCESS, email("r@example.fr"), None
    )
    request_id = submitted.request.request_id
    await app.requests.attest_identity(principal(tenant), request_id, "dpo")
    if tampering in ("extended date", "told time", "first due date"):
        await app.requests.extend(principal(tenant), request_id, 1, "many records")
    if tampering == "first due date":  # told: the extended date is the one in force
        await app.requests.told(principal(tenant), request_id)
    if tampering == "closed time":
        await app.requests.refuse(principal(tenant), request_id, "manifestly unfounded")
    assert (await app.audit.verify(tenant)).ok
    mine = "tenant_id = :t AND request_id = :r"
    async with owner(app).begin() as conn:
        await _as_superuser(conn)
        await conn.execute(
            sa.text(_RIGHTS_TAMPERING[tampering].format(mine=mine)),
            {"t": tenant.tenant_id, "r": request_id},
        )
    report = await app.audit.verify(tenant)
    assert not report.ok
    assert report.bad_seq is None  # the chain itself is sound
    assert [(p.table, p.fact_id) for p in report.facts.problems] == [
        ("rights_requests", request_id)
    ]


@pytest.mark.parametrize("where", ["signed tree head", "head's root", "frontier"])
async def test_the_merkle_tree_is_recomputed_against_its_signed_heads_and_stored_root(
    app: App, tenant: Tenant, where: str
) -> None:
    """A signed tree head's root, the head's stored root or its frontier edited by the
    superuser verified ok (and an edited frontier then had a root of one's choosing signed):
    verify recomputes the tree from the leaves and names the disagreement."""
    await _build_chain(app, tenant)
    size = (await app.audit.tree_head(tenant)).tree_size
    mine = audit_heads.c.tenant_id == tenant.tenant_id
    async with owner(app).begin() as conn:
        await _as_superuser(conn)
        if where == "signed tree head":
            await conn.execute(
                audit_tree_heads.update()
                .where(audit_tree_heads.c.tenant_id == tenant.tenant_id)
                .values(root_hash=bytes(32))
            )
        elif where == "head's root":
            await conn.execute(audit_heads.update().where(mine).values(root_hash=bytes(32)))
        else:
            frontier = (
                await conn.execute(sa.select(audit_heads.c.tree_frontier).where(mine))
            ).scalar_one()
            await conn.execute(
                audit_heads.update().where(mine).values(tree_frontier=bytes(len(frontier)))
            )
    if where == "frontier":
        # Noticed at once (probe ID: it verified ok until consentd had signed a tree head
        # built on it), and still once the next write's root comes from it.
        early = await app.audit.verify(tenant)
        assert (early.ok, early.bad_seq) == (False, size)
        assert "frontier" in early.problem
        await _build_chain(app, tenant)
    report = await app.audit.verify(tenant)
    assert not report.ok
    assert "root" in report.problem
    assert report.bad_seq is not None
    assert report.bad_seq >= size


_BACKDATED_GRANT = """
WITH grant_ AS (
    SELECT * FROM consent_events WHERE tenant_id = :t AND subject_id = :s AND state = 'granted'
        AND purpose_id = 'newsletter'
), forged AS (
    INSERT INTO consent_events (tenant_id, event_id, subject_id, purpose_id, channel, scope,
        state, notice_id, notice_version, source, actor, processing_role, recorded_at,
        valid_until, evidence_reference)
    SELECT tenant_id, gen_random_uuid(), subject_id, purpose_id, channel, scope, state,
        notice_id, notice_version, source, actor, processing_role,
        recorded_at - interval '30 days', valid_until, evidence_reference
    FROM grant_ RETURNING *
), current_ AS (
    UPDATE current_consents c SET state = f.state, event_id = f.event_id,
        sequence = f.sequence, updated_at = f.recorded_at
    FROM forged f WHERE c.tenant_id = f.tenant_id AND c.subject_id = f.subject_id
        AND (c.purpose_id, c.channel, c.scope) = (f.purpose_id, f.channel, f.scope)
)
INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
SELECT tenant_id, 'consent.recorded', CASE WHEN :entry_now THEN now() ELSE recorded_at END,
    subject_id, event_id, consentd_event_payload(f::consent_events)
FROM forged f
"""


@pytest.mark.parametrize("entry_dated", ["as the grant", "now"])
async def test_a_backdated_grant_written_around_the_service_is_named(
    app: App, tenant: Tenant, entry_dated: str
) -> None:
    """Probe GA: as the runtime role (no trigger to get around), a grant dated a month back
    appended after the person's withdrawal, made current and queued for the log: the check
    said ALLOW and verify ok. Its entry dated as the grant or now, the projection names it (a
    key's latest event older than one before it: writers never append one). Entry times are
    not compared along the chain: a host's clock stepped back would fail verify for good."""
    await catalogue(app, tenant)
    written = await grant(app, tenant, email("late@example.fr"))
    subject_id = written.events[0].subject_id
    await withdraw(app, tenant, email("late@example.fr"), NEWSLETTER)
    assert (await app.audit.verify(tenant)).ok
    async with owner(app).begin() as conn:
        await conn.execute(
            sa.text(_BACKDATED_GRANT),
            {"t": tenant.tenant_id, "s": subject_id, "entry_now": entry_dated == "now"},
        )
    await app.sequencer.drain(tenant.tenant_id)
    report = await app.audit.verify(tenant)
    assert not report.ok
    assert report.bad_seq is None
    assert [p.problem for p in report.facts.problems] == [
        "its latest event is dated before an earlier one of its key (backdated?)"
    ]


_NOW = datetime.now(UTC)
_CATALOGUE_TAMPERING = {
    # Probe GA: every never-asked person's DENY became ALLOW, and verify said ok.
    "lawful basis": (
        "UPDATE purposes SET lawful_basis = 'legitimate_interest' "
        "WHERE tenant_id = :t AND purpose_id = 'newsletter'",
        "purpose newsletter differs from its latest log entry",
    ),
    "display name": (
        "UPDATE purposes SET display_name = 'Autre chose' "
        "WHERE tenant_id = :t AND purpose_id = 'offers'",
        "purpose offers differs from its latest log entry",
    ),
    # Probe GJ: dated before the log began, it escaped (and answered ALLOW).
    "purpose inserted, backdated": (
        "INSERT INTO purposes (tenant_id, purpose_id, display_name, description, lawful_basis, "
        "max_validity_days, requires_confirmation, created_at, updated_at) VALUES (:t, "
        "'forged', '', '', 'legitimate_interest', 365, false, '2020-01-01', '2020-01-01')",
        "purpose forged is not in the log",
    ),
    "purpose deleted": (
        "DELETE FROM purposes WHERE tenant_id = :t AND purpose_id = 'b2b'",
        "purpose b2b: its log entry has no purpose (deleted?)",
    ),
    "notice text": (
        "UPDATE notices SET content = 'Nous pouvons tout faire.' WHERE tenant_id = :t",
        "notice privacy version 1: its text is not the one its digest names (edited?)",
    ),
    "notice text and digest": (
        "UPDATE notices SET content = 'Tout.', content_sha256 = "
        "encode(sha256(convert_to('Tout.', 'UTF8')), 'hex') WHERE tenant_id = :t",
        "notice privacy version 1 differs from its log entry",
    ),
    "notice deleted": (
        "DELETE FROM notices WHERE tenant_id = :t",
        "notice privacy version 1: its log entry has no notice (deleted?)",
    ),
}


@pytest.mark.parametrize("tampering", _CATALOGUE_TAMPERING)
async def test_a_catalogue_changed_behind_the_log_is_named(
    app: App, tenant: Tenant, tampering: str
) -> None:
    """Probe GA: the owner set a purpose's lawful basis to legitimate interest (DENY became
    ALLOW for everyone never asked), rewrote a notice's text, deleted a purpose: verify ok.
    Each row is compared with its latest log entry, a notice's text with its digest."""
    await catalogue(app, tenant)
    notice = Notice("privacy", 0, "Avis", "fr-FR", "Nous ne vendons rien.", "", False, _NOW)
    await app.catalog.publish_notice(principal(tenant), notice)
    assert (await app.audit.verify(tenant)).ok
    statement, problem = _CATALOGUE_TAMPERING[tampering]
    async with owner(app).begin() as conn:
        await _as_superuser(conn)
        await conn.execute(sa.text(statement), {"t": tenant.tenant_id})
    report = await app.audit.verify(tenant)
    assert not report.ok
    assert report.bad_seq is None
    table = "notices" if problem.startswith("notice") else "purposes"
    assert [(p.table, p.problem) for p in report.facts.problems] == [(table, problem)]


async def test_a_proof_over_deleted_entries_says_they_are_missing(app: App, tenant: Tenant) -> None:
    """Probe GA: with an entry deleted by the owner, a consistency proof was refused as if
    retention had pruned what it needs, which an auditor is told is normal. It says entries
    are missing."""
    await _build_chain(app, tenant)
    await app.sequencer.drain(tenant.tenant_id)
    size = (await app.audit.tree_head(tenant)).tree_size
    async with owner(app).begin() as conn:
        await _as_superuser(conn)
        await conn.execute(_E.delete().where(_E.c.tenant_id == tenant.tenant_id, _E.c.seq == 3))
    with pytest.raises(FailedPrecondition, match="entries are missing") as refused:
        await app.audit.prove_consistency(tenant, 2, size)
    assert refused.value.code == "ENTRIES_MISSING"


async def test_a_rotated_signing_key_verifies_with_the_old_one_retired(
    database_url: str, owner_url: str, app: App, tenant: Tenant, clock: TestClock
) -> None:
    """After a rotation, `audit verify` said "bad signature" at the first head signed before
    it and checked nothing after it: an edit further on went unnamed (probe QC). With the old
    key's public half retired, the log verifies and a proof of an old head gives that key;
    without it, the whole log is checked and the old head named last, after any edit."""
    await _build_chain(app, tenant)
    old_key = app.audit.public_key
    head = await app.audit.tree_head(tenant, 0)
    new_seed = bytes(range(7, 39))
    rotated = bootstrap(
        Settings(audit_retired_keys=(old_key,)), database_url, TEST_SECRET, clock,
        owner_url=owner_url, audit_key=new_seed,
    )  # fmt: skip
    unknown = bootstrap(
        Settings(), database_url, TEST_SECRET, clock, owner_url=owner_url, audit_key=new_seed
    )
    try:
        report = await rotated.audit.verify(tenant)
        assert report.ok, report
        proof = await rotated.audit.prove_inclusion(tenant, 3, None, head.tree_size)
        assert proof.head.key_id == head.key_id
        assert rotated.audit.public_key_of(proof.head.key_id) == old_key != rotated.audit.public_key
        assert unknown.audit.public_key_of(head.key_id) is None  # not the current key
        said = await unknown.audit.verify(tenant)
        assert (said.ok, said.bad_seq, said.entries_checked) == (
            False,
            head.tree_size,
            head.tree_size,
        )
        assert "neither this key" in said.problem
        async with owner(app).begin() as conn:
            await _as_superuser(conn)
            await conn.execute(
                _E.update()
                .where(_E.c.tenant_id == tenant.tenant_id, _E.c.seq == 2)
                .values(action="consent.withdrawn")
            )
        edited = await unknown.audit.verify(tenant)
        assert (edited.ok, edited.bad_seq) == (False, 2), edited  # the edit, not the head
    finally:
        await rotated.aclose()
        await unknown.aclose()
