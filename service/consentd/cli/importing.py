"""`consentd import consents FILE --tenant SLUG`: consents collected elsewhere, imported at COPY
speed by the import use case (app/importing.py: staged with COPY, applied per batch with
set-based statements, one transaction per batch with the file's checkpoint, resumable).

The file is read twice as a stream, never held whole: a first pass checks every row (nothing is
written when one is bad), the second feeds the rows after the checkpoint to the use case."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import NamedTuple
from uuid import UUID

from consentd.api.outages import SHORTAGES
from consentd.app.ports.imports import ImportCheckpoint, ImportFile, ImportRow
from consentd.bootstrap import App, utc_now
from consentd.cli.csv_header import RowError
from consentd.cli.csv_rows import against, iter_rows
from consentd.cli.file_blocks import BlockHashes, FileChanged
from consentd.cli.progress import Progress
from consentd.domain.canonical import stamp
from consentd.domain.errors import ConsentError, FailedPrecondition
from consentd.domain.model import ConsentState
from consentd.domain.tenancy import Principal, Scope
from consentd.store.database import DEADLINE, outage_of, shortage_of
from consentd.store.imports import refresh_statistics

MAX_ERRORS_SHOWN = 50


def _report(errors: list[RowError]) -> None:
    for error in errors[:MAX_ERRORS_SHOWN]:
        print(f"consentd import: {error}", file=sys.stderr)
    if len(errors) > MAX_ERRORS_SHOWN:
        print(f"consentd import: ... {len(errors) - MAX_ERRORS_SHOWN} more", file=sys.stderr)


async def import_consents(app: App, args: argparse.Namespace) -> int:
    """0 when every row is imported (or superseded), 1 when the file has bad rows."""
    assert app.admin is not None
    tenant = await app.admin.tenant(args.tenant)
    if not args.file.is_file():  # a folder, a device or a FIFO read as "no file" (probe YD)
        there = args.file.exists()
        return _said(f"{args.file} is not a regular file" if there else f"no file {args.file}")
    _tune_garbage_collector()
    now = utc_now()
    region, identity = app.settings.phone_region, _identity(args.file)
    hashes = BlockHashes()  # of the bytes the check read: the import's identity
    checked = await _checked_rows(app, tenant.tenant_id, args, now, hashes)
    if checked is None:
        return 1
    count, outdated = checked
    if outdated:
        print(_OUTDATED.format(outdated))
    if args.check:
        print(f"{count} rows valid; nothing written (--check)")
        return 0
    source = ImportFile(hashes.whole.hexdigest(), args.file.name, count)
    if _identity(args.file) != identity:  # while it was checked
        return _said(f"{_CHANGED}; nothing imported")
    principal = Principal(tenant, f"cli:import:{source.digest[:12]}", frozenset({Scope.ADMIN}))
    as_checked = _Checked(args.file, identity, count)

    def rows(after: int) -> Iterator[ImportRow]:
        errors: list[RowError] = []
        again = BlockHashes(expected=hashes.blocks)
        read = iter_rows(args.file, region, now, errors, args.timezone, hashes=again)
        return _as_checked(as_checked, read, errors=errors, after=after)

    try:
        checkpoint = await _run(app, principal, source, rows, args)
    except Exception as error:
        said = error.message if isinstance(error, ConsentError) else _stopped(error, app)
        if said is None:
            raise
        failed = _said(said)  # said first: the analyze may take a while
        await _analyzed(app)
        return failed
    if checkpoint.imported:
        await _analyzed(app)
    print(_summary(checkpoint, source, tenant.slug, now))
    return 0


def _summary(checkpoint: ImportCheckpoint, source: ImportFile, slug: str, now: datetime) -> str:
    done = checkpoint.completed_at
    # A rerun of a file imported before said "N imported" as if it had imported them again.
    again = (
        f" (imported before, at {stamp(done)}: nothing written now)" if done and done < now else ""
    )
    return (
        f"import {source.digest[:12]} of {source.name} into {slug}: "
        f"{checkpoint.imported} imported, {checkpoint.superseded} superseded, "
        f"through line {checkpoint.last_line}{again}"
    )


def _said(problem: str) -> int:
    print(f"consentd import: {problem}", file=sys.stderr)
    return 1


def _identity(path: Path) -> tuple[int, int, int, int]:
    """What changes when the file is written to or replaced: device, inode, size, mtime."""
    found = path.stat()
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns


class _Checked(NamedTuple):
    """The file as the first pass checked it."""

    path: Path
    identity: tuple[int, int, int, int]
    rows: int


def _as_checked(
    checked: _Checked, read: Iterator[ImportRow], *, errors: list[RowError], after: int
) -> Iterator[ImportRow]:
    """The rows after line `after` as the first pass checked them: read from blocks that hash
    as they did then (cli/file_blocks.py: same size and time put back, probes YA, ZA), the file
    the same one, every row so far valid, and as many at the end. A CRM export landing on the
    same path mid-way had rows that were never checked imported, or half the file dropped and
    the import said done, exit 0 (probe XB). Raises FailedPrecondition: the batches being
    filled or in flight are not written, nor is the import marked done."""
    seen = 0
    try:
        for row in read:
            if errors or _identity(checked.path) != checked.identity:
                raise FileChanged
            seen += 1
            if row.line > after:
                yield row
    except FileChanged:
        raise FailedPrecondition(f"{_CHANGED}; the batches written before are kept") from None
    if errors or seen != checked.rows:
        raise FailedPrecondition(f"{_CHANGED}; the batches written before are kept")


_CHANGED = (
    "the file changed since it was checked (written to, or replaced: an export landing on the "
    "same path?); put back the file that was checked and run the same command to resume, or "
    "import the new one once it is complete (a row imported before is not imported twice)"
)


async def _analyzed(app: App) -> None:
    """Fresh planner statistics for what the import wrote, stopped mid-way too: a tenant they
    did not know was read as "one row", and until autovacuum's analyze came round every call
    naming a person outlived the statement timeout (probe RB). Not at all when the database is
    gone (said already)."""
    if app.owner_engine is None:
        return
    with contextlib.suppress(Exception):
        async with asyncio.timeout(ANALYZE_SECONDS):
            await refresh_statistics(app.owner_engine)


ANALYZE_SECONDS = 60.0


def _stopped(error: Exception, app: App) -> str | None:
    """Why the import stopped mid-way: the database went away (the serve that ran the embedded
    one stopped, a restart: said as a closed connection's rollback before, probe DN), or a
    statement outlived its timeout (said as the former, and a running database restarted: QA);
    None for anything else (a defect)."""
    if (outage := outage_of(error)) is None:
        return None
    if outage == DEADLINE:
        return _TIMED_OUT.format(app.settings.db_timeout_seconds)
    if (state := shortage_of(error)) is not None:  # a full disk read as a restart (probe YE)
        words = SHORTAGES.get(state) or SHORTAGES.get(state[:2], "it is short of a resource")
        return _SHORT.format(words, state)
    return _INTERRUPTED


def _tune_garbage_collector() -> None:
    """As `serve` does (serving.py): what start-up built is left out of every collection, and
    the youngest objects are collected less often; an import allocates objects by the million
    (a row, its staged event, their digests, the log's entries), nearly all short-lived."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


_TIMED_OUT = (
    "a batch's statement outlived CONSENTD_DB_TIMEOUT_SECONDS ({:g} s): the database is busy or "
    "short of resources; the batches committed so far are kept; run the same command again to "
    "resume (a smaller --batch-size, or a longer CONSENTD_DB_TIMEOUT_SECONDS, if it comes back)"
)
_SHORT = (
    "the database cannot take the import now ({}, SQLSTATE {}): the batches committed so far "
    "are kept; fix that, then run the same command again to resume"
)
_INTERRUPTED = (
    "the database stopped answering mid-way (stopped, restarted, or unreachable): the batches "
    "committed so far are kept; run the same command again once it is back to resume"
)


# A grant of history on a version below its notice's re-consent floor is imported (what the
# person said then), but never counts: the summary said "imported" as if it did (probe BS).
_OUTDATED = (
    "{} grant row(s) name a notice version below its re-consent floor: imported as history, "
    "checks answer DENY notice_outdated for them"
)


async def _checked_rows(
    app: App, tenant_id: UUID, args: argparse.Namespace, now: datetime, hashes: BlockHashes
) -> tuple[int, int] | None:
    """The number of rows, and of grants on a version below its notice's re-consent floor,
    when every row is valid against the catalogue; None (errors printed) when any is not."""
    purposes, versions = await app.imports.catalogue(tenant_id)
    floors = await app.imports.floors(tenant_id, sorted(versions))
    errors: list[RowError] = []
    count = outdated = 0
    region = app.settings.phone_region
    for row in iter_rows(args.file, region, now, errors, args.timezone, hashes=hashes):
        count += 1
        if count % 5000 == 0:  # a SIGTERM (or Ctrl-C) cancels the command at an await
            await asyncio.sleep(0)
        errors += against((row,), purposes, versions)
        purpose = purposes.get(row.target.purpose)
        floor = floors.get(purpose.notice_id or "", 0) if purpose else 0
        outdated += row.state is ConsentState.GRANTED and (row.notice_version or 0) < floor
    if errors:
        _report(sorted(errors, key=lambda e: e.line))
        print(f"consentd import: {len(errors)} error(s); nothing imported", file=sys.stderr)
        return None
    return count, outdated


async def _run(
    app: App,
    principal: Principal,
    source: ImportFile,
    rows: Callable[[int], Iterator[ImportRow]],
    args: argparse.Namespace,
) -> ImportCheckpoint:
    """The import use case, with a progress bar of this run's rows (a resumed run's rate does
    not count what a killed run committed)."""
    count = source.rows
    with Progress(f"import {args.file.name}", total=count) as progress:
        resumed: list[int] = []

        def moved(checkpoint: ImportCheckpoint) -> None:
            done = checkpoint.imported + checkpoint.superseded
            if not resumed:
                resumed.append(done)
            progress.update(done - resumed[0], count - resumed[0])

        return await app.imports.run(
            principal, source, rows, batch_size=args.batch_size, actor=args.actor, progress=moved
        )
