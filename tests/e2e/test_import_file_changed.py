"""An import whose file changes under it (a CRM export landing on the same path mid-way, probe
XB): rows that were never checked were imported, or half the file was dropped and the import
said done, exit 0. It stops, exit 1, saying the file changed: the batches written hold only
rows of the file that was checked, and the import is not marked done. A change that keeps the
file's size and time is seen at its end, by the digest of the bytes read (probe YA)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.e2e.test_import_consents import HEADER, _count, _env, _import
from tests.integration.helpers import catalogue

TOTAL = 4000
IMPORTED = "SELECT coalesce(max(imported), 0) FROM consent_imports WHERE tenant_id = :t"


def _rows(prefix: str, email: str = "{n}@example.com") -> list[str]:
    return [
        f"{email.format(n=f'{prefix}{n}')},newsletter,email,granted,2025-01-02T10:00:00Z,,"
        f"{prefix}-{n}"
        for n in range(TOTAL)
    ]


@pytest.mark.parametrize("then", ["unchecked", "invalid"])
async def test_an_import_whose_file_changes_mid_way_stops_and_is_not_done(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path, *, then: str
) -> None:
    await catalogue(app, tenant)
    path = tmp_path / "crm.csv"
    first = _rows("old")
    path.write_text(HEADER + "\n".join(first) + "\n")
    env = _env(database_url, owner_url)
    child, err = await _changed_mid_way(
        app, tenant, env, path, batch=10, after=100, change=lambda: _changed(path, first, then)
    )
    assert child.returncode == 1, err.decode()
    assert "the file changed since it was checked" in err.decode()
    done = "SELECT count(*) FROM consent_imports WHERE tenant_id = :t AND completed_at IS NOT NULL"
    assert await _count(app, tenant, done) == 0
    written = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    ours = f"{written} AND evidence_reference LIKE 'old-%'"
    assert await _count(app, tenant, written) == await _count(app, tenant, ours) > 0
    assert await _count(app, tenant, written) == await _count(app, tenant, IMPORTED)

    # The file put back as it was checked: the same command resumes and ends.
    path.write_text(HEADER + "\n".join(first) + "\n")
    rerun = await _import(env, path, tenant.slug)
    assert rerun.returncode == 0, rerun.stderr
    assert await _count(app, tenant, written) == TOTAL


async def _changed_mid_way(
    app: App,
    tenant: Tenant,
    env: dict[str, str],
    path: Path,
    *,
    batch: int,
    after: int,
    change: Callable[[], None],
) -> tuple[asyncio.subprocess.Process, bytes]:
    """The import of `path` run, `change` made once it wrote `after` rows; it and its stderr."""
    argv = [sys.executable, "-m", "consentd", "import", "consents", str(path)]
    child = await asyncio.create_subprocess_exec(
        *argv, "--tenant", tenant.slug, "--batch-size", str(batch), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while await _count(app, tenant, IMPORTED) < after:
            assert child.returncode is None, "the import ended before the file changed"
            assert time.monotonic() < deadline, "the import did not get going in 120 s"
            await asyncio.sleep(0.02)
        await asyncio.to_thread(change)
        _, err = await asyncio.wait_for(child.communicate(), 120)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    return child, err


def _changed(path: Path, first: list[str], then: str) -> None:
    """Written in place: the first half as it was, the second half another export's."""
    late = _rows("new") if then == "unchecked" else _rows("bad", "{n}-at-example.com")
    path.write_text(HEADER + "\n".join(first[: TOTAL // 2] + late[TOTAL // 2 :]) + "\n")


async def test_a_file_changed_in_place_with_its_size_and_time_put_back_writes_no_row_of_it(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Grants checked, refusals written over them in the same bytes' place, the file's time put
    back at once: no check of the file's size or time sees it, and refusals the check never
    read were imported (probes YA, ZA). Each block is read as the check read it, or the import
    stops: no refusal is written."""
    await catalogue(app, tenant)
    path = tmp_path / "crm.csv"
    granted = [
        f"{n}@example.com,newsletter,email,granted,2025-01-02T10:00:00Z,,ref-{n}"
        for n in range(100_000)  # 7 MB: blocks of 1 MiB the write pass has not read yet
    ]
    path.write_text(HEADER + "\n".join(granted) + "\n")
    env = _env(database_url, owner_url)
    child, err = await _changed_mid_way(
        app, tenant, env, path, batch=500, after=500, change=lambda: _refusals_in_place(path)
    )
    assert child.returncode == 1, err.decode()
    assert "the file changed since it was checked" in err.decode()
    refused = "SELECT count(*) FROM consent_events WHERE tenant_id = :t AND state = 'refused'"
    assert await _count(app, tenant, refused) == 0


def _refusals_in_place(path: Path) -> None:
    """The same bytes' place, `granted` as `refused`, and the file's times put back."""
    before = path.stat()
    with path.open("r+b") as file:
        content = file.read()
        file.seek(0)
        file.write(content.replace(b",granted,", b",refused,"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


def _in_the_background() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def test_sigterm_at_any_moment_of_an_import_ends_it_as_terminated(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Probe XB: SIGTERM raised KeyboardInterrupt at whatever line ran: lost in the event loop's
    callbacks (the import went on to the end, exit 0), or breaking a database connection (exit
    1, "the database stopped answering"). At each of several moments, checking the file or
    writing batches, it ends "terminated", exit 143, keeping whole batches; then it resumes.
    Started as a job runner or a shell's `&` starts it, SIGINT ignored (Ctrl-C's way through a
    raised SIGINT was then ignored too, and the import ran to its end: probe YA)."""
    await catalogue(app, tenant)
    path = tmp_path / "crm.csv"
    path.write_text(HEADER + "\n".join(_rows("old")) + "\n")
    env = _env(database_url, owner_url)
    argv = [sys.executable, "-m", "consentd", "import", "consents", str(path)]
    written = "SELECT count(*) FROM consent_events WHERE tenant_id = :t"
    for moved, batch in ((0, 10), (1, 10), (50, 10), (400, 10), (1000, 500)):  # 0: at start
        child = await asyncio.create_subprocess_exec(
            *argv, "--tenant", tenant.slug, "--batch-size", str(batch), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            preexec_fn=_in_the_background,
        )  # fmt: skip
        try:
            start = await _count(app, tenant, IMPORTED)
            deadline = time.monotonic() + 120
            while moved and await _count(app, tenant, IMPORTED) < start + moved:
                assert child.returncode is None, "the import ended before its SIGTERM"
                assert time.monotonic() < deadline, "the import did not get going in 120 s"
                await asyncio.sleep(0.01)
            await asyncio.sleep(0 if moved else 1.0)
            child.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(child.communicate(), 30)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        assert (child.returncode, err.decode().strip().splitlines()[-1]) == (
            143,
            "consentd: terminated",
        ), err.decode()
        assert await _count(app, tenant, written) == await _count(app, tenant, IMPORTED)
    rerun = await _import(env, path, tenant.slug)
    assert rerun.returncode == 0, rerun.stderr
    assert await _count(app, tenant, written) == TOTAL
