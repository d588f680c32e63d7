"""`consentd import consents FILE --tenant SLUG`: consents collected elsewhere, imported through
the RecordConsent / WithdrawConsent use cases (audit entries, change feed, blocks all apply).

Exactly once: each batch runs in ONE transaction (the use cases' units of work join it, see
store/uow.py `ambient`) that also advances the file's checkpoint (table consent_imports, keyed
by the file's SHA-256). A killed import has committed whole batches and their checkpoint, or
nothing of the batch in flight; rerunning the same file resumes after the checkpoint.

A row older than what is already on record for its target (a later decision, imported or live)
is counted as superseded and not written: the projection keeps the latest event appended, so
writing an older decision last would turn a withdrawal back into a grant."""

from __future__ import annotations

import argparse
import sys
from bisect import bisect_right
from dataclasses import replace
from uuid import UUID

from consentd.app.commands import Choice, Evidence, RecordConsent, WithdrawConsent
from consentd.bootstrap import App, utc_now
from consentd.cli.csv_rows import Row, RowError, against, read_csv
from consentd.cli.progress import Progress
from consentd.domain.errors import ConsentError
from consentd.domain.model import ConsentState, Purpose
from consentd.domain.tenancy import Principal, Scope
from consentd.store.imports import ImportCheckpoint, advance, claim
from consentd.store.uow import SqlUnitOfWork, ambient, enter_tenant

MAX_ERRORS_SHOWN = 50


def _report(errors: list[RowError]) -> None:
    for error in errors[:MAX_ERRORS_SHOWN]:
        print(f"consentd import: {error}", file=sys.stderr)
    if len(errors) > MAX_ERRORS_SHOWN:
        print(f"consentd import: ... {len(errors) - MAX_ERRORS_SHOWN} more", file=sys.stderr)


async def import_consents(app: App, args: argparse.Namespace) -> int:
    """0 when every row is imported (or superseded), 1 when rows were refused."""
    assert app.admin is not None
    tenant = await app.admin.tenant(args.tenant)
    if not args.file.is_file():
        print(f"consentd import: no file {args.file}", file=sys.stderr)
        return 1
    parsed = read_csv(args.file, app.settings.phone_region, utc_now())
    purposes, versions = await _catalogue(app, tenant.tenant_id, parsed.rows)
    errors = sorted(
        [*parsed.errors, *against(parsed.rows, purposes, versions)], key=lambda e: e.line
    )
    if errors:
        _report(errors)
        print(f"consentd import: {len(errors)} error(s); nothing imported", file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(parsed.rows)} rows valid; nothing written (--check)")
        return 0
    principal = Principal(tenant, f"cli:import:{parsed.digest[:12]}", frozenset({Scope.ADMIN}))
    importer = _Importer(app, principal, parsed.digest, args)
    checkpoint = await importer.run(parsed.rows)
    print(
        f"import {parsed.digest[:12]} of {args.file.name} into {tenant.slug}: "
        f"{checkpoint.imported} imported, {checkpoint.superseded} superseded, "
        f"{len(importer.refused)} refused, through line {checkpoint.last_line}"
    )
    _report(importer.refused)
    return 1 if importer.refused else 0


async def _catalogue(
    app: App, tenant_id: UUID, rows: list[Row]
) -> tuple[dict[str, Purpose], dict[str, set[int]]]:
    async with SqlUnitOfWork(app.engine, tenant_id) as uow:
        purposes = await uow.catalog.purposes(sorted({r.target.purpose for r in rows}))
        notices = {p.notice_id for p in purposes.values() if p.notice_id}
        versions = {n: await uow.catalog.notice_versions(n) for n in sorted(notices)}
    return purposes, versions


class _Importer:
    def __init__(
        self, app: App, principal: Principal, digest: str, args: argparse.Namespace
    ) -> None:
        self._app = app
        self._principal = principal
        self._digest = digest
        self._name = args.file.name
        self._batch = args.batch_size
        self._actor = args.actor
        self.refused: list[RowError] = []

    async def run(self, rows: list[Row]) -> ImportCheckpoint:
        lines = [r.line for r in rows]  # ascending: where a checkpoint's line falls, by bisection
        with Progress(f"import {self._name}", total=len(rows)) as progress:
            while True:
                checkpoint, more = await self._next_batch(rows, lines)
                progress.update(bisect_right(lines, checkpoint.last_line))
                if not more:
                    return checkpoint

    async def _next_batch(self, rows: list[Row], lines: list[int]) -> tuple[ImportCheckpoint, bool]:
        """Write the rows after the checkpoint, up to a batch, and move it: one transaction."""
        tenant_id = self._principal.tenant_id
        async with self._app.engine.connect() as conn:
            await enter_tenant(conn, tenant_id)
            at = utc_now()
            checkpoint = await claim(
                conn, tenant_id, self._digest, name=self._name, rows=len(rows), now=at
            )
            if checkpoint.completed_at is not None:
                return checkpoint, False
            start = bisect_right(lines, checkpoint.last_line)
            batch = rows[start : start + self._batch]
            imported = superseded = 0
            async with ambient(conn, tenant_id):
                for row in batch:
                    savepoint = await conn.begin_nested()
                    try:
                        written = await self._write(row)
                    except ConsentError as error:
                        await savepoint.rollback()
                        self.refused.append(RowError(row.line, "", error.message))
                        continue
                    await savepoint.commit()
                    imported += written
                    superseded += 1 - written
            last = batch[-1].line if batch else checkpoint.last_line
            done = not batch or batch[-1] is rows[-1]
            checkpoint = replace(
                checkpoint,
                last_line=last,
                imported=checkpoint.imported + imported,
                superseded=checkpoint.superseded + superseded,
                completed_at=at if done else None,
            )
            await advance(conn, tenant_id, self._digest, checkpoint, at)
            await conn.commit()
        return checkpoint, not done

    async def _write(self, row: Row) -> int:
        """1 when written, 0 when a later decision on the target is already on record."""
        consents = self._app.consents
        _, current = await consents.subject_consents(self._principal, row.identifier)
        if any(
            (e.target == row.target or e.target.is_all) and e.recorded_at >= row.recorded_at
            for e in current
        ):
            return 0
        evidence = Evidence(reference=row.evidence)
        if row.state is ConsentState.WITHDRAWN:
            await consents.withdraw_consent(
                self._principal,
                WithdrawConsent(
                    row.identifier,
                    (row.target,),
                    False,
                    row.source,
                    self._actor,
                    evidence,
                    recorded_at=row.recorded_at,
                ),
            )
        else:
            choice = Choice(row.target, row.state, row.notice_version)
            await consents.record_consent(
                self._principal,
                RecordConsent(
                    (row.identifier,),
                    (choice,),
                    row.source,
                    self._actor,
                    evidence,
                    recorded_at=row.recorded_at,
                ),
            )
        return 1
