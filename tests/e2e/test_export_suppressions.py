"""`consentd export suppressions` as an operator runs it: a real subprocess against the test
database; the file holds exactly the suppression list the API streams, and a run cut off mid-way
(its last page half written past the checkpoint) is finished by running the same command."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from consentd.app.suppressions import Suppressed
from consentd.bootstrap import App
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.tenancy import Tenant
from tests.conftest import TEST_SECRET, owner
from tests.e2e.test_import_consents import _env
from tests.integration.helpers import NEWSLETTER, catalogue, email, grant, principal, withdraw

HEADER = "kind,digest,reason,since,subject_id,event_id"


def _export(env: dict[str, str], slug: str, out: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "consentd", "export", "suppressions", "--tenant", slug]
    argv += ["--purpose", "newsletter", "--channel", "email", "--out", str(out)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


async def _people(app: App, tenant: Tenant) -> list[Suppressed]:
    """40 withdrawn and 5 granted subscribers; what the use case lists for the newsletter."""
    await catalogue(app, tenant)
    for n in range(40):
        await withdraw(app, tenant, email(f"gone{n}@example.com"), NEWSLETTER)
    for n in range(5):
        await grant(app, tenant, email(f"kept{n}@example.com"), targets=(NEWSLETTER,))
    return [
        entry
        async for page in app.campaign.suppression_list(principal(tenant), NEWSLETTER)
        for entry in page
    ]


async def test_the_file_is_the_suppression_list_in_keyed_hashes(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Every withdrawn address appears once, as the keyed hash HashContactPoints gives, with its
    reason; no granted one; no clear address; the checkpoint is gone once complete."""
    listed = await _people(app, tenant)
    out = tmp_path / "suppress.csv"
    done = await asyncio.to_thread(_export, _env(database_url, owner_url), tenant.slug, out)
    assert done.returncode == 0, done.stderr
    assert "40 contact points" in done.stdout
    lines = out.read_text().splitlines()
    assert lines[0] == HEADER
    hasher = IdentifierHasher(TEST_SECRET)
    expected = {
        hasher.digest(tenant.tenant_id, email(f"gone{n}@example.com")).hex() for n in range(40)
    }
    digests = [line.split(",")[1] for line in lines[1:]]
    assert sorted(digests) == sorted(expected)
    assert {line.split(",")[2] for line in lines[1:]} == {"withdrawn"}
    assert [entry.digest.hex() for entry in listed] == digests
    assert "example.com" not in out.read_text() + done.stdout + done.stderr
    assert not out.with_name("suppress.csv.cursor").exists()


async def test_a_cut_off_export_resumes_from_its_checkpoint(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """A checkpoint after the 17th row with half a page written past it: running the command
    again cuts the file back to the checkpoint and finishes it, identical to a whole run."""
    await _people(app, tenant)
    env = _env(database_url, owner_url)
    whole = tmp_path / "whole.csv"
    assert (await asyncio.to_thread(_export, env, tenant.slug, whole)).returncode == 0
    assert whole.stat().st_mode & 0o777 == 0o600  # pseudonymous personal data: its owner's
    lines = whole.read_text().splitlines(keepends=True)
    kept = "".join(lines[:18])  # the header and 17 rows, as a checkpoint after a page
    cut = tmp_path / "cut.csv"
    cut.write_text(kept + lines[18] + lines[19][:20])  # a page half written past it
    cursor = {
        "export": f"{tenant.slug}/newsletter/email/first_party",
        "offset": len(kept.encode()),
        "rows": 17,
        "subjects_done": False,
        "after_subject": lines[17].split(",")[4],
        "after_digest": None,
    }
    cut.with_name("cut.csv.cursor").write_text(json.dumps(cursor))
    done = await asyncio.to_thread(_export, env, tenant.slug, cut)
    assert done.returncode == 0, done.stderr
    assert "resuming after 17 rows" in done.stderr
    assert cut.read_text() == whole.read_text()
    assert not cut.with_name("cut.csv.cursor").exists()


async def test_an_existing_file_or_another_exports_checkpoint_is_refused(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """A file that is not this export's to resume is left as it is, with exit 1."""
    await catalogue(app, tenant)
    env = _env(database_url, owner_url)
    out = tmp_path / "mine.csv"
    out.write_text("someone else's file\n")
    done = await asyncio.to_thread(_export, env, tenant.slug, out)
    assert done.returncode == 1
    assert "exists" in done.stderr
    other = {"export": "other/offers/sms/first_party", "offset": 0, "rows": 0}
    out.with_name("mine.csv.cursor").write_text(json.dumps(other))
    done = await asyncio.to_thread(_export, env, tenant.slug, out)
    assert done.returncode == 1
    assert "belongs to the export other/offers/sms/first_party" in done.stderr
    assert out.read_text() == "someone else's file\n"


async def test_an_output_that_is_no_file_is_told_so(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """`--out /dev/full` and `--out` a folder were told "exists; remove it to export again":
    to remove a device node, as root (probe XB)."""
    env = _env(database_url, owner_url)
    for out in (Path("/dev/full"), Path("/dev/stdout"), tmp_path):  # /dev/stdout: a link (YA)
        done = await asyncio.to_thread(_export, env, tenant.slug, out)
        assert done.returncode == 1, done.stderr
        assert f"{out} is not a file: give the path of a new file" in done.stderr
    assert await asyncio.to_thread(Path("/dev/full").is_char_device)


async def test_an_output_in_a_missing_folder_is_an_error_not_a_traceback(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """`--out` in a folder that does not exist: exit 1 naming the file (it was an uncaught
    FileNotFoundError). Found by a probe."""
    env = _env(database_url, owner_url)
    missing = tmp_path / "no" / "such" / "list.csv"
    done = await asyncio.to_thread(_export, env, tenant.slug, missing)
    assert done.returncode == 1, done.stderr
    assert f"cannot write {missing}" in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_refused_export_leaves_no_file_and_a_cursor_is_not_trusted_blindly(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Found by a probe: an export refused at once (no such purpose) left a file of the header
    alone, which reads as a complete list with nobody to suppress; a cursor whose offset is
    past the file padded it with a gigabyte of NULs and counted rows that do not exist; a
    cursor of garbage was a traceback; a dangling symbolic link was followed."""
    env = _env(database_url, owner_url)
    out = tmp_path / "list.csv"
    done = await asyncio.to_thread(_export, env, tenant.slug, out)  # no catalogue: no purpose
    assert done.returncode != 0
    assert not out.exists()
    assert "Traceback" not in done.stderr
    await catalogue(app, tenant)
    cursor = out.with_name("list.csv.cursor")
    out.write_text(HEADER + "\n")
    what = f"{tenant.slug}/newsletter/email/first_party"
    for document in (
        json.dumps({"export": what, "offset": 999_999_999, "rows": 5}),
        "garbage{",
    ):
        cursor.write_text(document)
        done = await asyncio.to_thread(_export, env, tenant.slug, out)
        assert done.returncode == 1, done.stderr
        assert "remove" in done.stderr
        assert "Traceback" not in done.stderr
        assert out.read_text() == HEADER + "\n"
    cursor.unlink()
    out.unlink()
    link = tmp_path / "dangling.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    done = await asyncio.to_thread(_export, env, tenant.slug, link)
    assert done.returncode == 1
    assert not (tmp_path / "elsewhere.csv").exists()


async def test_an_export_killed_before_its_first_page_resumes(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Killed after writing its header but before its first page (the checkpoint came with the
    first page), the rerun refused: "exists; remove it". The checkpoint now comes with the
    header: the rerun finishes the file, identical to a whole run. The first page is held back
    by a lock on the projection while the export is killed."""
    await _people(app, tenant)
    env = _env(database_url, owner_url)
    whole = tmp_path / "whole.csv"
    assert (await asyncio.to_thread(_export, env, tenant.slug, whole)).returncode == 0
    out = tmp_path / "killed.csv"
    argv = [sys.executable, "-m", "consentd", "export", "suppressions", "--tenant", tenant.slug]
    argv += ["--purpose", "newsletter", "--channel", "email", "--out", str(out)]
    async with owner(app).connect() as conn:
        await conn.execute(sa.text("BEGIN"))
        await conn.execute(sa.text("LOCK TABLE current_consents IN ACCESS EXCLUSIVE MODE"))
        child = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            for _ in range(300):  # its header written; 30 s at most
                if out.exists() and out.stat().st_size > 0:
                    break
                assert child.returncode is None
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # its first query is waiting on the lock
            assert out.read_text() == HEADER + "\n"
            child.kill()
            await child.wait()
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
            await conn.execute(sa.text("ROLLBACK"))
    done = await asyncio.to_thread(_export, env, tenant.slug, out)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == whole.read_text()


async def test_links_planted_beside_the_output_are_never_written_through(
    app: App, tenant: Tenant, database_url: str, owner_url: str, tmp_path: Path
) -> None:
    """Probe YD: in a folder others may write to, a link planted at `F.csv.cursor.tmp` made the
    export (run as root) replace its target with the cursor; a link at `F.csv` with a planted
    cursor beside it made it cut its target to the cursor's offset, append the list to it and
    chmod it 0600. Each is refused now, and the victims are untouched; a hard link too."""
    await _people(app, tenant)
    env = _env(database_url, owner_url)
    victim = tmp_path / "victim.txt"
    victim.write_text("IMPORTANT DATA\n")
    victim.chmod(0o644)
    first = tmp_path / "s1.csv"
    tmp_path.joinpath("s1.csv.cursor.tmp").symlink_to(victim)
    done = await asyncio.to_thread(_export, env, tenant.slug, first)
    assert done.returncode == 0, done.stderr
    assert first.read_text().startswith(HEADER)
    what = f"{tenant.slug}/newsletter/email/first_party"
    cursor = json.dumps(
        {"export": what, "offset": 5, "rows": 0, "subjects_done": False, "after_subject": None,
         "after_digest": None}
    )  # fmt: skip
    for planted in ("symlink", "hardlink"):
        out = tmp_path / f"{planted}.csv"
        if planted == "symlink":
            out.symlink_to(victim)
        else:
            out.hardlink_to(victim)
        out.with_name(f"{planted}.csv.cursor").write_text(cursor)
        done = await asyncio.to_thread(_export, env, tenant.slug, out)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
    assert victim.read_text() == "IMPORTANT DATA\n"
    assert victim.stat().st_mode & 0o777 == 0o644
