"""`consentd import consents` as an operator runs it: a real subprocess against the test
database, checked through the use cases; killed with SIGKILL mid-way and rerun."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import sqlalchemy as sa

from consentd.app.commands import CheckConsent, Choice, RecordConsent, WithdrawConsent
from consentd.app.ports.imports import ImportFile, NewSubject, StagedEvent
from consentd.bootstrap import App
from consentd.domain.breach import Window
from consentd.domain.identifiers import Identifier, IdentifierHasher, IdentifierKind
from consentd.domain.model import (
    Channel,
    ConsentState,
    Decision,
    LawfulBasis,
    Notice,
    PartyScope,
    Purpose,
    Source,
)
from consentd.domain.sealing import Keyring
from consentd.domain.tenancy import Tenant
from consentd.store.driver import driver_of
from consentd.store.importing import SqlImportBatch
from consentd.store.uow import enter_tenant
from tests.conftest import TEST_SECRET, owner
from tests.integration.helpers import (
    B2B,
    NEWSLETTER,
    SMS_OFFERS,
    catalogue,
    email,
    external,
    grant,
    phone,
    principal,
    withdraw,
)

HEADER = "email,purpose,channel,state,recorded_at,source,evidence\n"


def _env(database_url: str, owner_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONSENTD_MIGRATION_DATABASE_URL": owner_url,
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(bytes(range(32, 64))).decode(),
        "CONSENTD_MIGRATE_ON_START": "false",
    }


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


async def _consentd(env: dict[str, str], *argv: str) -> Done:
    """Run the CLI without blocking this event loop: the app fixture's sequencer may be in the
    middle of a pass (holding the tenant's audit head) and must be able to finish it."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "consentd",
        *argv,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(), 300)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode is not None
    return Done(child.returncode, out.decode(), err.decode())


async def _import(env: dict[str, str], path: Path, slug: str, *extra: str) -> Done:
    return await _consentd(env, "import", "consents", str(path), "--tenant", slug, *extra)


async def _verify(env: dict[str, str], slug: str) -> Done:
    return await _consentd(env, "audit", "verify", "--tenant", slug)


_LAST_ANALYZE = "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'consent_changes'"


async def _count(app: App, tenant: Tenant, sql: str) -> int:
    async with owner(app).connect() as conn:
        value: int = (await conn.execute(sa.text(sql), {"t": tenant.tenant_id})).scalar_one()
    return value


async def _state(app: App, tenant: Tenant, address: str) -> dict[str, ConsentState]:
    _, events = await app.consents.subject_consents(principal(tenant), email(address))
    return {e.target.purpose: e.state for e in events}


async def test_import_writes_through_the_use_cases_and_a_rerun_adds_nothing(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Grants, refusals and withdrawals land as consent events with their dates, an audit entry
    and a change-feed row each; an older row than what is on record is superseded, not
    written; running the same file again imports nothing."""
    await catalogue(app, tenant)
    await grant(app, tenant, email("live@example.com"), targets=(NEWSLETTER,))  # today
    rows = [
        "a@example.com,newsletter,email,granted,2025-01-02T10:00:00Z,portal,form-17",
        "a@example.com,offers,sms,refused,2025-01-02T10:00:00Z,,",
        "b@example.com,newsletter,email,granted,2025-02-01T09:00:00+01:00,,",
        "b@example.com,newsletter,email,withdrawn,2025-03-01T09:00:00Z,,unsubscribe-link",
        "c@example.com,offers,sms,withdrawn,2025-03-01T09:00:00Z,,",
        "live@example.com,newsletter,email,withdrawn,2024-01-01T00:00:00Z,,",  # older than live
    ]
    path = tmp_path / "crm.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    env = _env(database_url, owner_url)
    started = datetime.now(UTC)
    done = await _import(env, path, tenant.slug, "--batch-size", "2")
    assert done.returncode == 0, done.stderr
    assert "5 imported, 1 superseded, through line 7" in done.stdout
    # Fresh planner statistics: right after 30,000 rows the suppression list's query ran on
    # stale ones and timed out for a minute and a half.
    async with owner(app).connect() as conn:
        analyzed = (await conn.execute(sa.text(_LAST_ANALYZE))).scalar_one()
    assert analyzed is not None
    assert analyzed >= started
    assert await _state(app, tenant, "a@example.com") == {
        "newsletter": ConsentState.GRANTED,
        "offers": ConsentState.REFUSED,
    }
    assert await _state(app, tenant, "b@example.com") == {"newsletter": ConsentState.WITHDRAWN}
    assert await _state(app, tenant, "live@example.com") == {"newsletter": ConsentState.GRANTED}
    _, a_events = await app.consents.subject_consents(principal(tenant), email("a@example.com"))
    first = next(e for e in a_events if e.target == NEWSLETTER)
    assert (first.recorded_at.isoformat(), first.source, first.evidence_reference) == (
        "2025-01-02T10:00:00+00:00",
        Source.PORTAL,
        "form-17",
    )
    check = await app.consents.check_consent(
        principal(tenant), CheckConsent(email("c@example.com"), SMS_OFFERS)
    )
    assert check.verdict.decision is Decision.DENY
    events = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    assert await _count(app, tenant, events) == 6  # the live grant + 5 imported
    changes = "SELECT count(*) FROM consent_changes WHERE tenant_id = :t"
    assert await _count(app, tenant, changes) == 6
    audited = (
        "SELECT count(*) FROM audit_entries WHERE tenant_id = :t "
        "AND action IN ('consent.recorded', 'consent.withdrawn')"
    )
    assert await _count(app, tenant, audited) == 6
    again = await _import(env, path, tenant.slug)
    assert again.returncode == 0, again.stderr
    assert "5 imported, 1 superseded" in again.stdout
    assert "(imported before, at " in again.stdout  # it read as if imported again
    assert "imported before" not in done.stdout
    assert await _count(app, tenant, events) == 6


async def test_bad_rows_are_named_by_line_and_column_and_nothing_is_written(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Every bad row is reported (line, column, what is wrong) without echoing its value, and
    one bad row stops the whole file before any write."""
    await catalogue(app, tenant)
    rows = [
        "ok@example.com,newsletter,email,granted,2025-01-02T10:00:00Z,,",
        "not-an-address,newsletter,email,granted,2025-01-02T10:00:00Z,,",
        "x@example.com,newsletter,fax,granted,2025-01-02T10:00:00Z,,",
        "y@example.com,nosuch,email,granted,2025-01-02T10:00:00Z,,",
        "z@example.com,newsletter,email,granted,2025-01-02 10:00,,",
        "w@example.com,newsletter,email,expired,2025-01-02T10:00:00Z,,",
        "v@example.com,newsletter,email,maybe,2025-01-02T10:00:00Z,,",
    ]
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    for expected in (
        "line 3, column email:",
        "line 4, column channel: must be one of",
        "line 5, column purpose: not in this tenant's catalogue",
        "line 6, column recorded_at: needs a time zone",
        "line 7, column state: must be granted, refused or withdrawn",
        # It listed every state consentd knows, expired and erased included, which line 7 gets
        # refused: one message for any value a file may not give.
        "line 8, column state: must be granted, refused or withdrawn",
    ):
        assert any(expected in line for line in lines), (expected, done.stderr)
    assert "not-an-address" not in done.stderr
    assert "6 error(s); nothing imported" in done.stderr
    events = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    assert await _count(app, tenant, events) == 0
    checked = await _import(_env(database_url, owner_url), path.with_name("ok.csv"), tenant.slug)
    assert checked.returncode != 0  # a missing file is an error too, not a traceback
    assert "Traceback" not in checked.stderr


async def test_a_double_opt_in_grant_without_evidence_or_a_time_before_1970_is_refused(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """A grant of a purpose that requires double opt-in imported ALLOW at once, with no
    confirmation (no pending state, no link); one dated 1900 too. Both are now line errors and
    nothing is written; with the evidence of the confirmation it had, the grant is imported."""
    await catalogue(app, tenant)
    confirmed = Purpose("letters", LawfulBasis.CONSENT, requires_confirmation=True)
    await app.catalog.put_purpose(principal(tenant), confirmed)
    rows = [
        "a@example.com,letters,email,granted,2025-01-02T10:00:00Z,,",
        "b@example.com,newsletter,email,granted,1900-01-02T10:00:00Z,,",
        "c@example.com,letters,email,refused,2025-01-02T10:00:00Z,,",
    ]
    path = tmp_path / "unconfirmed.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 1
    assert "line 2, column evidence: the purpose requires a double opt-in" in done.stderr
    assert "line 3, column recorded_at: must not be before 1970-01-01" in done.stderr
    assert "2 error(s); nothing imported" in done.stderr
    events = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    assert await _count(app, tenant, events) == 0
    evidenced = rows[0] + "doi:crm-4711"  # the evidence column
    path = tmp_path / "confirmed.csv"
    path.write_text(HEADER + evidenced + "\n" + rows[2] + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert await _state(app, tenant, "a@example.com") == {"letters": ConsentState.GRANTED}


async def test_a_killed_import_resumes_and_imports_every_row_exactly_once(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """SIGKILL during an import leaves whole batches and their checkpoint, or neither: the
    events committed equal the rows the checkpoint counts; the rerun resumes after it and ends
    with exactly one event per row."""
    await catalogue(app, tenant)
    total = 600
    rows = [
        f"p{n}@example.com,newsletter,email,granted,2025-01-02T10:00:00Z,,ref-{n}"
        for n in range(total)
    ]
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    env = _env(database_url, owner_url)
    argv = [sys.executable, "-m", "consentd", "import", "consents", str(path)]
    child = await asyncio.create_subprocess_exec(
        *argv,
        "--tenant",
        tenant.slug,
        "--batch-size",
        "20",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    checkpoint = "SELECT coalesce(max(imported), 0) FROM consent_imports WHERE tenant_id = :t"
    try:
        deadline = time.monotonic() + 120
        while await _count(app, tenant, checkpoint) < 100:
            assert child.returncode is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import did not get going in 120 s"
            await asyncio.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        await asyncio.wait_for(child.wait(), 30)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    events = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    killed_at = await _count(app, tenant, checkpoint)
    assert 100 <= killed_at < total, "killed too late to prove a resume"
    assert await _count(app, tenant, events) == killed_at
    rerun = await _import(env, path, tenant.slug, "--batch-size", "20")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{total} imported, 0 superseded, through line {total + 1}" in rerun.stdout
    assert await _count(app, tenant, events) == total
    per_subject = (
        "SELECT count(*) FROM (SELECT subject_id FROM consent_events WHERE tenant_id = :t "
        "GROUP BY subject_id HAVING count(*) <> 1) doubled"
    )
    assert await _count(app, tenant, per_subject) == 0
    assert await _count(app, tenant, "SELECT count(*) FROM subjects WHERE tenant_id = :t") == total
    _, sample = await app.consents.subject_consents(principal(tenant), email("p599@example.com"))
    assert [e.evidence_reference for e in sample] == ["ref-599"]
    # Every event is in the log and the feed once, the queue is empty and the log verifies.
    logged = (
        "SELECT count(DISTINCT fact_id) FROM audit_entries WHERE tenant_id = :t "
        "AND action = 'consent.recorded'"
    )
    assert await _count(app, tenant, logged) == total
    fed = "SELECT count(DISTINCT event_id) FROM consent_changes WHERE tenant_id = :t"
    assert await _count(app, tenant, fed) == total
    queued = "SELECT count(*) FROM audit_queue WHERE tenant_id = :t"
    assert await _count(app, tenant, queued) == 0
    verify = await _verify(env, tenant.slug)
    assert verify.returncode == 0, verify.stdout + verify.stderr


async def test_rows_of_one_batch_apply_in_file_order_and_an_older_row_is_superseded(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Within one batch (one set-based statement), a later line deciding the same target wins
    when it is more recent, and a line older than an earlier line of the file is superseded:
    the same outcome as importing the rows one by one."""
    await catalogue(app, tenant)
    rows = [
        "d@example.com,newsletter,email,granted,2025-01-02T10:00:00Z,,",
        "d@example.com,newsletter,email,withdrawn,2025-02-02T10:00:00Z,,",
        "d@example.com,newsletter,email,granted,2025-01-15T10:00:00Z,,",  # older: superseded
        "D@Example.com,offers,sms,refused,2025-01-02T10:00:00Z,,",  # same subject, normalised
    ]
    path = tmp_path / "order.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug, "--batch-size", "100")
    assert done.returncode == 0, done.stderr
    assert "3 imported, 1 superseded, through line 5" in done.stdout
    assert await _state(app, tenant, "d@example.com") == {
        "newsletter": ConsentState.WITHDRAWN,
        "offers": ConsentState.REFUSED,
    }
    subjects = "SELECT count(*) FROM subjects WHERE tenant_id = :t"
    assert await _count(app, tenant, subjects) == 1
    feed = (
        "SELECT string_agg(e.state, ',' ORDER BY c.position) FROM consent_changes c "
        "JOIN consent_events e USING (tenant_id, event_id) WHERE c.tenant_id = :t"
    )
    async with owner(app).connect() as conn:
        order = (await conn.execute(sa.text(feed), {"t": tenant.tenant_id})).scalar_one()
    assert order == "granted,withdrawn,refused"


async def test_a_no_at_the_same_instant_as_a_yes_is_never_dropped(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """CRM exports round their times: a grant and a withdrawal (or refusal) of one second, in
    either order, leave the person withdrawn (refused), in one batch or across two, and the
    check says DENY. The withdrawal after the grant was superseded (the time was not later) and
    the person ALLOWed; a grant repeated at the same instant is still superseded."""
    await catalogue(app, tenant)
    t = "2025-03-01T09:00:00Z"
    rows = [
        f"w@example.com,newsletter,email,granted,{t},,",
        f"w@example.com,newsletter,email,withdrawn,{t},,",
        f"r@example.com,newsletter,email,refused,{t},,",
        f"r@example.com,newsletter,email,granted,{t},,",  # a yes at a no's instant: dropped
        f"g@example.com,newsletter,email,granted,{t},,",
        f"g@example.com,newsletter,email,granted,{t},,",  # the same grant again: dropped
        f"x@example.com,newsletter,email,granted,{t},,",
        f"x@example.com,offers,sms,granted,{t},,",
        f"x@example.com,newsletter,email,refused,{t},,",  # in the next batch (size 2)
    ]
    path = tmp_path / "ties.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug, "--batch-size", "2")
    assert done.returncode == 0, done.stderr
    assert "7 imported, 2 superseded" in done.stdout
    assert await _state(app, tenant, "w@example.com") == {"newsletter": ConsentState.WITHDRAWN}
    assert await _state(app, tenant, "r@example.com") == {"newsletter": ConsentState.REFUSED}
    assert await _state(app, tenant, "g@example.com") == {"newsletter": ConsentState.GRANTED}
    assert await _state(app, tenant, "x@example.com") == {
        "newsletter": ConsentState.REFUSED,
        "offers": ConsentState.GRANTED,
    }
    assert (await _verify(_env(database_url, owner_url), tenant.slug)).returncode == 0


async def test_the_files_last_no_of_an_instant_counts_whatever_the_batch_size(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Probe FL: a withdrawal on record, then the file's refusal and withdrawal of that instant,
    left refused or withdrawn depending on --batch-size (the last row read as the one on
    record). Probe FM: a refusal on record, then the file's older withdrawal (superseded) and
    that refusal again: imported twice in one batch, not in two."""
    await catalogue(app, tenant)
    env = _env(database_url, owner_url)
    t, later = "2025-03-01T10:00:00Z", "2025-03-01T10:00:05Z"
    first = tmp_path / "on-record.csv"
    first.write_text(
        HEADER
        + f"t@example.com,newsletter,email,withdrawn,{t},,\n"
        + f"u@example.com,newsletter,email,refused,{later},,\n"
    )
    second = tmp_path / "crm.csv"
    second.write_text(
        HEADER
        + f"t@example.com,newsletter,email,refused,{t},,\n"
        + f"t@example.com,newsletter,email,withdrawn,{t},,\n"
        + f"u@example.com,newsletter,email,withdrawn,{t},,\n"
        + f"u@example.com,newsletter,email,refused,{later},,\n"
        # Probe FP: a fact repeated with a grant, or an older row, between: twice in one batch.
        + f"v@example.com,newsletter,email,withdrawn,{t},,\n"
        + f"v@example.com,newsletter,email,granted,{t},,\n"
        + f"v@example.com,newsletter,email,withdrawn,{t},,\n"
        + f"v@example.com,offers,sms,refused,{later},,\n"
        + f"v@example.com,offers,sms,refused,{t},,\n"
        + f"v@example.com,offers,sms,refused,{later},,\n"
    )
    events = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    counts = []
    for size in ("1", "100"):
        target = tenant if size == "1" else await _fresh_tenant(app)
        assert (await _import(env, first, target.slug)).returncode == 0
        done = await _import(env, second, target.slug, "--batch-size", size)
        assert done.returncode == 0, done.stderr
        assert "4 imported, 6 superseded" in done.stdout, (size, done.stdout)
        assert await _state(app, target, "t@example.com") == {"newsletter": ConsentState.WITHDRAWN}
        assert await _state(app, target, "u@example.com") == {"newsletter": ConsentState.REFUSED}
        assert await _state(app, target, "v@example.com") == {
            "newsletter": ConsentState.WITHDRAWN,
            "offers": ConsentState.REFUSED,
        }
        counts.append(await _count(app, target, events))
        assert (await _verify(env, target.slug)).returncode == 0
    assert counts == [6, 6]


_HISTORIES = """
SELECT array_agg(concat_ws(' ', purpose_id, channel, state, source, recorded_at)
    ORDER BY sequence)::text
FROM consent_events WHERE tenant_id = :t GROUP BY subject_id ORDER BY 1
"""


async def _histories(app: App, tenant: Tenant) -> list[str]:
    async with owner(app).connect() as conn:
        rows = await conn.execute(sa.text(_HISTORIES), {"t": tenant.tenant_id})
        return list(rows.scalars())


async def test_rows_of_one_batch_meet_what_they_would_meet_imported_alone(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Probe FP: in one batch, rows that were not written still steered later rows: a portal
    withdrawal, a grant skipped for it, then an older refusal: the refusal was superseded by
    the unwritten grant (imported at --batch-size 1); a grant, an older portal withdrawal
    (superseded), a later grant: the later grant was skipped as if the person objected, and the
    older one stood. Now each batch is applied in rounds: every file, random ones too, writes
    the same histories at every batch size."""
    env = _env(database_url, owner_url)
    await catalogue(app, tenant)
    hand = [
        "a@example.com,newsletter,email,withdrawn,2024-01-01T10:00:00Z,portal,",
        "a@example.com,newsletter,email,granted,2024-01-01T12:00:00Z,import,",
        "a@example.com,newsletter,email,refused,2024-01-01T11:00:00Z,import,",
        "b@example.com,newsletter,email,granted,2024-01-01T13:00:00Z,import,",
        "b@example.com,newsletter,email,withdrawn,2024-01-01T11:00:00Z,portal,",
        "b@example.com,newsletter,email,granted,2024-01-01T15:00:00Z,import,",
        "b@example.com,newsletter,email,refused,2024-01-01T14:00:00Z,import,",
    ]
    draw = random.Random(30)  # noqa: S311 - a test file, the same each run
    drawn = [
        f"r{draw.randrange(4)}@example.com,{draw.choice(('newsletter,email', 'offers,sms'))},"
        f"{draw.choice(('granted', 'granted', 'refused', 'withdrawn'))},"
        f"2024-02-01T1{draw.randrange(5)}:00:00Z,"
        f"{draw.choice(('import', 'import', 'portal', 'banner', 'support'))},"
        for _ in range(60)
    ]
    path = tmp_path / "steered.csv"
    path.write_text(HEADER + "\n".join(hand + drawn) + "\n")
    histories = []
    for size in ("1", "3", "2000"):
        target = tenant if size == "1" else await _fresh_tenant(app)
        done = await _import(env, path, target.slug, "--batch-size", size)
        assert done.returncode == 0, done.stderr
        histories.append(await _histories(app, target))
    assert histories[1] == histories[0]
    assert histories[2] == histories[0]
    day = "newsletter email {} 2024-01-01 {}:00:00+00"
    a = [day.format("withdrawn portal", 10), day.format("refused import", 11)]
    b = [day.format("granted import", 13), day.format("granted import", 15)]
    assert {'{"' + '","'.join(a) + '"}', '{"' + '","'.join(b) + '"}'} <= set(histories[0])
    assert (await _verify(env, target.slug)).returncode == 0


async def _fresh_tenant(app: App) -> Tenant:
    assert app.admin is not None
    made = await app.admin.create_tenant(f"t-{uuid4().hex[:12]}")
    await catalogue(app, made)
    return made


async def test_the_same_no_from_an_edited_or_re_encoded_file_is_not_imported_twice(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """An edited file (one character changed) or the same rows with CRLF line ends has another
    digest: each refusal at the same instant was appended again (128,000 events for 100,000
    people after an edited file was imported over a killed import). The same fact again, on
    record or the row before in the file, is superseded; a different one is imported."""
    await catalogue(app, tenant)
    t = "2025-03-01T09:00:00Z"
    rows = [f"n{i}@example.com,newsletter,email,refused,{t},," for i in range(3)]
    first = tmp_path / "refusals.csv"
    first.write_text(HEADER + "\n".join(rows) + "\n")
    env = _env(database_url, owner_url)
    assert "3 imported" in (await _import(env, first, tenant.slug)).stdout
    again = tmp_path / "refusals-crlf.csv"
    edited = [*rows, rows[-1], "n9@example.com,newsletter,email,refused,2025-03-01T09:00:00Z,,"]
    again.write_bytes((HEADER + "\n".join(edited) + "\n").replace("\n", "\r\n").encode())
    done = await _import(env, again, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "1 imported, 4 superseded" in done.stdout
    events = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    assert await _count(app, tenant, events) == 4
    assert (await _verify(env, tenant.slug)).returncode == 0


async def test_imported_contact_points_are_held_like_linked_ones(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """An imported identifier opens its holding (docs/contact-points.md), as a live write's
    does: a check in the past (`as_of`) resolves the contact point through the holdings, and an
    erasure or a rectification later ends the holding so that the person's "no" stays on it.
    (The import linked identifiers without holdings: an `as_of` check of an imported grant
    answered as if nobody held the address.)"""
    await catalogue(app, tenant)
    rows = [
        "held@example.com,newsletter,email,granted,2025-01-02T10:00:00Z,,",
        "other@example.com,newsletter,email,withdrawn,2025-01-02T10:00:00Z,,",
    ]
    path = tmp_path / "held.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    after = datetime.now(UTC)
    check = await app.consents.check_consent(
        principal(tenant), CheckConsent(email("held@example.com"), NEWSLETTER, as_of=after)
    )
    assert check.verdict.decision is Decision.ALLOW
    holdings = (
        "SELECT count(*) FROM contact_point_holdings h JOIN subject_identifiers i "
        "USING (tenant_id, kind, digest, subject_id) "
        "WHERE h.tenant_id = :t AND h.held_until IS NULL AND h.held_from = i.created_at"
    )
    assert await _count(app, tenant, holdings) == 2


async def test_rows_named_by_cal_id_are_imported_under_one_spelling(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """A `cal_id` column names the person by their seat's licence, compared without case; a
    malformed id is named by line and column, never echoed, and nothing is written."""
    await catalogue(app, tenant)
    header = "cal_id,purpose,channel,state,recorded_at\n"
    good = tmp_path / "seats.csv"
    good.write_text(
        header
        + "cal-7,newsletter,email,granted,2025-01-02T10:00:00Z\n"
        + "CAL-7,newsletter,email,withdrawn,2025-02-02T10:00:00Z\n"
    )
    env = _env(database_url, owner_url)
    done = await _import(env, good, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "2 imported" in done.stdout
    seat = Identifier(IdentifierKind.CAL_ID, "CAL-7")
    _, events = await app.consents.subject_consents(principal(tenant), seat)
    assert [e.state for e in events] == [ConsentState.WITHDRAWN]
    bad = tmp_path / "bad-seats.csv"
    bad.write_text(header + "CAL 8,newsletter,email,granted,2025-01-02T10:00:00Z\n")
    refused = await _import(env, bad, tenant.slug)
    assert refused.returncode != 0
    assert "line 2, column cal_id: must be ASCII letters and digits" in refused.stderr
    assert "CAL 8" not in refused.stderr + refused.stdout
    events_of_tenant = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    assert await _count(app, tenant, events_of_tenant) == 2


async def test_batches_in_flight_follow_each_other_in_file_order(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Batches are written two at a time: one naming the person the batch before it made (not
    yet committed) finds that subject instead of making a second, and one deciding a target
    the batch before it decided sees that decision (an older row is superseded). One row per
    batch: the same outcome as importing the rows one by one."""
    await catalogue(app, tenant)
    rows = [
        "e@example.com,newsletter,email,granted,2025-01-01T10:00:00Z,,",
        "e@example.com,newsletter,email,withdrawn,2025-02-01T10:00:00Z,,",
        "e@example.com,newsletter,email,granted,2025-01-15T10:00:00Z,,",  # older: superseded
        "E@example.com,newsletter,email,refused,2025-03-01T10:00:00Z,,",
        "f@example.com,offers,sms,granted,2025-03-01T10:00:00Z,,",
    ]
    path = tmp_path / "one-by-one.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    env = _env(database_url, owner_url)
    done = await _import(env, path, tenant.slug, "--batch-size", "1")
    assert done.returncode == 0, done.stderr
    assert "4 imported, 1 superseded, through line 6" in done.stdout
    assert await _state(app, tenant, "e@example.com") == {"newsletter": ConsentState.REFUSED}
    subjects = "SELECT count(*) FROM subjects WHERE tenant_id = :t"
    assert await _count(app, tenant, subjects) == 2
    feed = (
        "SELECT string_agg(e.state, ',' ORDER BY c.position) FROM consent_changes c "
        "JOIN consent_events e USING (tenant_id, event_id) WHERE c.tenant_id = :t"
    )
    async with owner(app).connect() as conn:
        order = (await conn.execute(sa.text(feed), {"t": tenant.tenant_id})).scalar_one()
    assert order == "granted,withdrawn,refused,granted"
    queued = "SELECT count(*) FROM audit_queue WHERE tenant_id = :t"
    assert await _count(app, tenant, queued) == 0
    verify = await _verify(env, tenant.slug)
    assert verify.returncode == 0, verify.stdout + verify.stderr


async def test_an_identifier_linked_meanwhile_joins_the_subject_that_linked_it(
    app: App, tenant: Tenant
) -> None:
    """A live write links an identifier after the batch looked it up: the batch links the
    others, joins that subject (its event is written to it) and drops the subject it made for
    it, key and all. (The import store's own transaction, as the import runs it.)"""
    await catalogue(app, tenant)
    live = await grant(app, tenant, email("taken@example.com"), targets=(NEWSLETTER,))
    hasher, keyring = IdentifierHasher(TEST_SECRET), Keyring(TEST_SECRET)
    made = []
    for address in ("taken@example.com", "fresh@example.com"):
        identifier, subject_id = email(address), uuid4()
        key, wrapped = keyring.new_key(tenant.tenant_id, subject_id)
        digest = (identifier.kind, hasher.digest(tenant.tenant_id, identifier))
        sealed = key.seal(identifier.kind.value, identifier.value)
        made.append(NewSubject(subject_id, digest, wrapped, sealed))
    now = datetime.now(UTC)
    source = ImportFile("0" * 64, "race.csv", 2)
    async with app.engine.connect() as conn:
        await enter_tenant(conn, tenant.tenant_id)
        batch = SqlImportBatch(conn, await driver_of(conn), tenant.tenant_id, source)
        taken = await batch.add_subjects(made, now)
        assert taken == {made[0].digest: live.subject_id}
        withdrawn = (Channel.EMAIL, PartyScope.FIRST_PARTY, ConsentState.WITHDRAWN, None, None)
        events = [
            StagedEvent(n, subject, "newsletter", *withdrawn, Source.IMPORT, now, None, "")
            for n, subject in ((2, live.subject_id), (3, made[1].subject_id))
        ]
        assert await batch.apply(events, "test", "controller", now) == 2
        await conn.commit()
    assert await _state(app, tenant, "taken@example.com") == {"newsletter": ConsentState.WITHDRAWN}
    dropped = "SELECT count(*) FROM subjects WHERE tenant_id = :t AND subject_id = :s"
    keys = "SELECT count(*) FROM subject_keys WHERE tenant_id = :t AND subject_id = :s"
    async with owner(app).connect() as conn:
        for sql, subject, expected in (
            (dropped, made[0].subject_id, 0),
            (keys, made[0].subject_id, 0),
            (dropped, made[1].subject_id, 1),
        ):
            found = await conn.execute(sa.text(sql), {"t": tenant.tenant_id, "s": subject})
            assert found.scalar_one() == expected


async def test_two_imports_of_one_file_at_once_import_each_row_once(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Two processes importing the same file at the same time (each with two batches in
    flight, making the same new subjects): one writes each batch, the other's batch finds the
    checkpoint moved and rolls back, with the batch after it ("another import of this file is
    running"), or finds the import done. Each row is imported once, each person one subject."""
    await catalogue(app, tenant)
    total = 400
    rows = [
        f"twice{n}@example.com,newsletter,email,granted,2025-01-02T10:00:00Z,,ref-{n}"
        for n in range(total)
    ]
    path = tmp_path / "twice.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    env = _env(database_url, owner_url)
    twice = (_import(env, path, tenant.slug, "--batch-size", "20") for _ in range(2))
    runs = await asyncio.gather(*twice)
    assert all(r.returncode == 0 or "another import of this file" in r.stderr for r in runs), runs
    assert any(f"{total} imported, 0 superseded" in r.stdout for r in runs), runs
    events = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    assert await _count(app, tenant, events) == total
    subjects = "SELECT count(*) FROM subjects WHERE tenant_id = :t"
    assert await _count(app, tenant, subjects) == total
    rerun = await _import(env, path, tenant.slug)
    assert f"{total} imported, 0 superseded, through line {total + 1}" in rerun.stdout
    verify = await _verify(env, tenant.slug)
    assert verify.returncode == 0, verify.stdout + verify.stderr


async def test_rows_decided_before_an_erasure_do_not_bring_the_person_back(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """An old CRM file naming a person erased since made a new subject with their address
    sealed (ExportSubject showed it in clear) and their old grants on record. Rows decided
    before the erasure are superseded and make no subject; another person's row is imported."""
    await catalogue(app, tenant)
    await grant(app, tenant, email("gone@example.com"), targets=(NEWSLETTER,))
    await app.rights.erase(principal(tenant), email("gone@example.com"), "dpo")
    subjects = "SELECT count(*) FROM subjects WHERE tenant_id = :t"
    linked = "SELECT count(*) FROM subject_identifiers WHERE tenant_id = :t"
    before = await _count(app, tenant, subjects), await _count(app, tenant, linked)
    rows = [
        "gone@example.com,newsletter,email,granted,2025-01-02T10:00:00Z,,form-1",
        "Gone@Example.com,offers,sms,granted,2025-03-02T10:00:00Z,,",
        "kept@example.com,newsletter,email,granted,2025-01-02T10:00:00Z,,",
    ]
    path = tmp_path / "old-crm.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "1 imported, 2 superseded" in done.stdout
    assert (await _count(app, tenant, subjects), await _count(app, tenant, linked)) == (
        before[0] + 1,
        before[1] + 1,
    )
    assert await _state(app, tenant, "kept@example.com") == {"newsletter": ConsentState.GRANTED}
    check = await app.consents.check_consent(
        principal(tenant), CheckConsent(email("gone@example.com"), NEWSLETTER)
    )
    assert check.verdict.decision is Decision.DENY


async def test_a_files_grant_after_an_erasure_does_not_bring_the_person_back(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """A grant row dated after the erasure made a new subject for the erased address (a file
    is a system's word: only the person comes back). It is superseded, even for an address
    the person took back through the portal (a refusal row then a grant row, in two files,
    brought the person back); a refusal dated after it is kept (an opt-out is never dropped)."""
    await catalogue(app, tenant)
    for address in ("gone@example.com", "back@example.com"):
        await grant(app, tenant, email(address), targets=(NEWSLETTER,))
        await app.rights.erase(principal(tenant), email(address), "dpo")
    await grant(app, tenant, email("back@example.com"), targets=(NEWSLETTER,))  # the person
    after = datetime.now(UTC).isoformat()
    rows = [
        f"gone@example.com,newsletter,email,granted,{after},,",
        f"gone@example.com,offers,sms,refused,{after},,",
        f"back@example.com,offers,sms,granted,{after},,",
    ]
    path = tmp_path / "after.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "1 imported, 2 superseded" in done.stdout
    assert await _state(app, tenant, "gone@example.com") == {"offers": ConsentState.REFUSED}
    assert await _state(app, tenant, "back@example.com") == {"newsletter": ConsentState.GRANTED}


async def test_a_breach_window_counts_the_rows_an_import_wrote_in_it(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Breach scoping dated consent records by their decision: 3 rows imported now with 2025
    dates counted as no consent record touched in the last minutes (the 48-hour notice would
    under-count what was written), and a 2025 window counted them. They count in the window
    they were written in, and in the one they were decided in."""
    await catalogue(app, tenant)
    rows = [
        f"b{i}@example.com,newsletter,email,granted,2025-06-01T10:00:00Z,,form" for i in range(3)
    ]
    path = tmp_path / "breach.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    since = datetime.now(UTC) - timedelta(minutes=1)
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    now = Window(since, datetime.now(UTC) + timedelta(minutes=1))
    decided = Window(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 2, tzinfo=UTC))
    for window in (now, decided):
        (scope,) = await app.audit.scope_breach([tenant], window)
        assert scope.categories["consent_records"] == 3, (window, scope)


async def test_an_imported_grant_dated_after_an_objection_does_not_lift_it(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """A CRM row granting after the person objected (dated after the objection, so not older
    than what is on record) lifted the objection: imports are another system's copy, and only
    the person lifts an objection. The grant is superseded; a refusal of the same file is kept."""
    await catalogue(app, tenant)
    await grant(app, tenant, email("objector@example.com"), targets=(NEWSLETTER,))
    await app.rights.object(principal(tenant), email("objector@example.com"))
    later = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # after the objection
    await asyncio.sleep(1.1)  # and in the past when the import checks it
    rows = [
        f"objector@example.com,newsletter,email,granted,{later},,crm",
        f"objector@example.com,offers,sms,refused,{later},,crm",
    ]
    path = tmp_path / "after-objection.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "1 imported, 1 superseded" in done.stdout
    check = await app.consents.check_consent(
        principal(tenant), CheckConsent(email("objector@example.com"), NEWSLETTER)
    )
    assert check.verdict.decision is Decision.DENY


async def test_an_imported_grant_does_not_lift_a_relayed_objection(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """A system's withdrawal of a legitimate-interest purpose is the person's objection to it
    (migration 0063): a CRM file granting it afterwards is superseded, as a sync's grant is
    refused; a consent purpose's system "no" the file may still lift."""
    await catalogue(app, tenant)
    address = email("relayed@example.com")
    await grant(app, tenant, address, targets=(NEWSLETTER, B2B))
    relayed = WithdrawConsent(address, (NEWSLETTER, B2B), False, Source.API, actor="crm")
    await app.consents.withdraw_consent(principal(tenant), relayed)
    later = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    await asyncio.sleep(1.1)
    rows = [
        f"relayed@example.com,b2b,email,granted,{later},,crm",
        f"relayed@example.com,newsletter,email,granted,{later},,crm",
    ]
    path = tmp_path / "relayed.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "1 imported, 1 superseded" in done.stdout
    assert await _state(app, tenant, "relayed@example.com") == {
        "b2b": ConsentState.WITHDRAWN,
        "newsletter": ConsentState.GRANTED,
    }


async def test_a_files_grant_for_an_address_an_objector_left_is_superseded(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """The person objected, then moved to a new address (RectifyContact); a CRM file's grant
    for the old address made a new subject and the check said ALLOW, though the objection
    stays on the address. The grant is superseded; a refusal dated after the move is kept."""
    await catalogue(app, tenant)
    await grant(app, tenant, email("old-objector@example.com"), targets=(NEWSLETTER,))
    await app.rights.object(principal(tenant), email("old-objector@example.com"))
    await app.rights.rectify(
        principal(tenant), email("old-objector@example.com"), email("new@example.com"), "dpo"
    )
    after = datetime.now(UTC).isoformat()
    rows = [
        f"old-objector@example.com,newsletter,email,granted,{after},,crm",
        f"old-objector@example.com,offers,sms,refused,{after},,crm",
    ]
    path = tmp_path / "old-address.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "1 imported, 1 superseded" in done.stdout
    assert await _state(app, tenant, "old-objector@example.com") == {"offers": ConsentState.REFUSED}
    check = await app.consents.check_consent(
        principal(tenant), CheckConsent(email("old-objector@example.com"), NEWSLETTER)
    )
    assert check.verdict.decision is Decision.DENY


async def test_a_files_grant_over_an_earlier_holders_own_no_is_superseded(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """The person withdrew the newsletter in person, then moved (RectifyContact): a CRM file's
    grant of it for the old address is superseded (migration 0048; it made a new subject and a
    check ALLOW), its grant of another purpose is imported."""
    await catalogue(app, tenant)
    await grant(app, tenant, email("left-no@example.com"), targets=(NEWSLETTER,))
    await withdraw(app, tenant, email("left-no@example.com"), NEWSLETTER)
    await app.rights.rectify(
        principal(tenant), email("left-no@example.com"), email("moved-no@example.com"), "dpo"
    )
    after = datetime.now(UTC).isoformat()
    rows = [
        f"left-no@example.com,newsletter,email,granted,{after},,crm",
        f"left-no@example.com,offers,email,granted,{after},,crm",
    ]
    path = tmp_path / "left-no.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "1 imported, 1 superseded" in done.stdout
    assert await _state(app, tenant, "left-no@example.com") == {"offers": ConsentState.GRANTED}
    check = await app.consents.check_consent(
        principal(tenant), CheckConsent(email("left-no@example.com"), NEWSLETTER)
    )
    assert check.verdict.decision is Decision.DENY


async def test_a_files_grant_decided_while_the_address_was_anothers_is_superseded(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """The holder withdrew, then the address was taken from them (RectifyContact): a file's
    grant dated while it was still theirs was imported for a new subject and never counted
    (probe BE: "2 imported"); it is superseded. One dated after the move is the new holder's."""
    await catalogue(app, tenant)
    await grant(app, tenant, email("moved@example.com"), targets=(NEWSLETTER,))
    await withdraw(app, tenant, email("moved@example.com"), NEWSLETTER)
    theirs = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.01)
    await app.rights.rectify(
        principal(tenant), email("moved@example.com"), email("moved-on@example.com"), "dpo"
    )
    await asyncio.sleep(0.01)
    after = datetime.now(UTC).isoformat()
    path = tmp_path / "moved.csv"
    path.write_text(HEADER + f"moved@example.com,newsletter,email,granted,{theirs},,crm\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "0 imported, 1 superseded" in done.stdout
    path.write_text(HEADER + f"moved@example.com,offers,sms,granted,{after},,crm\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert "1 imported, 0 superseded" in done.stdout
    assert await _state(app, tenant, "moved@example.com") == {"offers": ConsentState.GRANTED}


async def test_a_files_grant_under_a_stop_is_superseded(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """A person texted STOP (a withdrawal of everything on SMS); a file's grant of an SMS target
    dated after it would lift it: a system's word, superseded (migration 0037). E-mail's is not."""
    await catalogue(app, tenant)
    await grant(app, tenant, email("stopper@example.com"), targets=(SMS_OFFERS,))
    stop = WithdrawConsent(
        subject=email("stopper@example.com"),
        targets=(),
        withdraw_all=True,
        source=Source.API,
        actor="sms-stop",
        channel=Channel.SMS,
    )
    await app.consents.withdraw_consent(principal(tenant), stop)
    await asyncio.sleep(0.01)
    later = datetime.now(UTC).isoformat()
    rows = [
        f"stopper@example.com,offers,sms,granted,{later},,crm",
        f"stopper@example.com,newsletter,email,granted,{later},,crm",
    ]
    path = tmp_path / "after-stop.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "1 imported, 1 superseded" in done.stdout
    state = await _state(app, tenant, "stopper@example.com")
    assert (state["offers"], state["newsletter"]) == (ConsentState.WITHDRAWN, ConsentState.GRANTED)


async def test_a_files_grant_over_the_persons_own_withdrawal_is_superseded(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Probe CD: a person unsubscribed themselves (the portal); a CRM's file granting that
    target again, dated after, would lift it: a system's word, superseded (migration 0042)."""
    await catalogue(app, tenant)
    await grant(app, tenant, email("unsub@example.com"), targets=(NEWSLETTER,))
    await withdraw(app, tenant, email("unsub@example.com"), NEWSLETTER)  # in person
    await asyncio.sleep(0.01)
    path = tmp_path / "after-unsubscribe.csv"
    later = datetime.now(UTC).isoformat()
    path.write_text(HEADER + f"unsub@example.com,newsletter,email,granted,{later},,crm\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "0 imported, 1 superseded" in done.stdout
    state = await _state(app, tenant, "unsub@example.com")
    assert state == {"newsletter": ConsentState.WITHDRAWN}
    # Probe CE: the file's own "no" first (the CRM mirroring it), then its "yes", one row a
    # batch: the "no" is recorded, the "yes" still superseded.
    times = []
    for _ in range(2):
        await asyncio.sleep(0.01)
        times.append(datetime.now(UTC).isoformat())
    row = "unsub@example.com,newsletter,email,{},{},,crm"
    rows = [row.format("withdrawn", times[0]), row.format("granted", times[1])]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug, "--batch-size", "1")
    assert done.returncode == 0, done.stderr
    assert "1 imported, 1 superseded" in done.stdout
    assert await _state(app, tenant, "unsub@example.com") == state
    # Probe CF: the file's own in-person "no" then a grant, in one batch: the grant was taken
    # (ALLOW) where two batches superseded it.
    await grant(app, tenant, email("fresh@example.com"), targets=(NEWSLETTER,))
    times = []
    for _ in range(2):
        await asyncio.sleep(0.01)
        times.append(datetime.now(UTC).isoformat())
    rows = [
        f"fresh@example.com,newsletter,email,withdrawn,{times[0]},portal,form",
        f"fresh@example.com,newsletter,email,granted,{times[1]},import,crm",
    ]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert "1 imported, 1 superseded" in done.stdout, done.stdout + done.stderr
    assert await _state(app, tenant, "fresh@example.com") == state


async def test_a_files_grant_naming_the_holder_of_an_erased_number_otherwise_is_superseded(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Probe BN: a number erased at its holder's request, then given to a customer
    (RectifyContact); a re-import keyed by the customer's id gave the number their SMS grant,
    ALLOW, where the API drops it. A grant row of a channel the closed number reaches is
    superseded; the customer's e-mail grant row is imported."""
    await catalogue(app, tenant)
    number = phone("+33611119990")
    await grant(app, tenant, number, targets=(SMS_OFFERS,))
    await app.rights.erase(principal(tenant), number, "dpo")
    await grant(app, tenant, external("cust-reimport"), targets=(NEWSLETTER,))
    await app.rights.rectify(principal(tenant), external("cust-reimport"), number, "dpo")
    now = datetime.now(UTC).isoformat()
    path = tmp_path / "by-id.csv"
    path.write_text(
        "external_id,purpose,channel,state,recorded_at,source,evidence\n"
        f"cust-reimport,offers,sms,granted,{now},,crm\n"
        f"cust-reimport,offers,email,granted,{now},,crm\n"
    )
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "1 imported, 1 superseded" in done.stdout
    check = await app.consents.check_consent(principal(tenant), CheckConsent(number, SMS_OFFERS))
    assert check.verdict.decision is Decision.DENY


async def test_grants_on_a_version_below_the_re_consent_floor_are_counted_apart(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Probe BS: a grant on a notice version that re-consent made obsolete was counted
    "imported" beside the others (the API refuses it NOTICE_OUTDATED; a file's history keeps
    it), and checks answer DENY for it. The import says how many such rows there are."""
    who = principal(tenant)
    for version, reconsent in ((1, False), (2, True)):
        notice = Notice(
            "letters", version, "Lettres", "fr", f"v{version}", "", reconsent, datetime.now(UTC)
        )
        await app.catalog.publish_notice(who, notice)
    await app.catalog.put_purpose(who, Purpose("letters", LawfulBasis.CONSENT, notice_id="letters"))
    decided = datetime.now(UTC).isoformat()
    rows = [
        f"old-version@example.com,letters,email,granted,{decided},1",
        f"new-version@example.com,letters,email,granted,{decided},2",
    ]
    path = tmp_path / "versions.csv"
    path.write_text("email,purpose,channel,state,recorded_at,notice_version\n" + "\n".join(rows))
    env = _env(database_url, owner_url)
    checked = await _import(env, path, tenant.slug, "--check")
    assert checked.returncode == 0, checked.stderr
    assert "1 grant row(s) name a notice version below its re-consent floor" in checked.stdout
    done = await _import(env, path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "2 imported" in done.stdout
    assert "1 grant row(s) name a notice version below" in done.stdout


async def test_a_grant_without_the_notice_version_its_purpose_shows_says_it_is_missing(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """A file without a notice_version column, for a purpose that shows a notice: each row read
    "must be a published version of notice ...", as if one were given and wrong (probe HI)."""
    who = principal(tenant)
    notice = Notice("news", 1, "Lettre", "fr", "texte", "", False, datetime.now(UTC))
    await app.catalog.publish_notice(who, notice)
    await app.catalog.put_purpose(who, Purpose("news", LawfulBasis.CONSENT, notice_id="news"))
    path = tmp_path / "no-version.csv"
    path.write_text(
        "email,purpose,channel,state,recorded_at\n"
        f"a@example.com,news,email,granted,{datetime.now(UTC).isoformat()}\n"
    )
    checked = await _import(_env(database_url, owner_url), path, tenant.slug, "--check")
    assert checked.returncode == 1
    assert (
        "line 2, column notice_version: is required for the published notice 'news'"
        in checked.stderr
    ), checked.stderr


async def test_a_file_granting_by_a_phone_born_with_an_erased_address_brings_no_one_back(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Probe ZE: a system's "no" naming an erased address and a new phone made a subject
    holding both; a file granting by the phone alone then imported the grants ("2 imported")
    and checks by the erased address said ALLOW. Those rows are superseded now."""
    await catalogue(app, tenant)
    address, mobile = email("erased-import@example.fr"), phone("+33611223344")
    await grant(app, tenant, address, targets=(NEWSLETTER,))
    await app.rights.erase(principal(tenant), address, "dpo")
    no = RecordConsent(
        (address, mobile), (Choice(B2B, ConsentState.REFUSED),), source=Source.API, actor="crm"
    )
    await app.consents.record_consent(principal(tenant), no)
    path = tmp_path / "by-phone.csv"
    path.write_text(
        "phone,purpose,channel,state,recorded_at\n"
        f"{mobile.value},offers,sms,granted,{datetime.now(UTC).isoformat()}\n"
    )
    done = await _import(_env(database_url, owner_url), path, tenant.slug)
    assert done.returncode == 0, done.stderr
    assert "0 imported" in done.stdout, done.stdout
    for who in (mobile, address):
        check = await app.consents.check_consent(principal(tenant), CheckConsent(who, SMS_OFFERS))
        assert check.verdict.decision is Decision.DENY, who
