"""`consentd export suppressions --tenant SLUG --purpose P --channel email --out FILE.csv`: the
suppression list (who must not be contacted: keyed hashes, never a clear address) to a CSV file,
page by page, with progress, and resumable.

After each page the lines are flushed and fsync'ed, then a checkpoint beside the file
(FILE.csv.cursor: the file's length and the export's cursor) is replaced atomically. A killed
export leaves at most one page past its checkpoint; rerunning the same command cuts the file back
to the checkpoint's length and goes on from its cursor, so no line is lost or written twice. The
checkpoint is removed when the export is complete."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from consentd.app.suppressions import ExportCursor, Suppressed
from consentd.bootstrap import App
from consentd.cli.progress import Progress
from consentd.domain.model import Channel, PartyScope, Target
from consentd.domain.tenancy import Principal, Scope

HEADER = "kind,digest,reason,since,subject_id,event_id\n"


def _line(entry: Suppressed) -> str:
    return (
        f"{entry.kind.value},{entry.digest.hex()},{entry.reason.value},"
        f"{entry.since.isoformat() if entry.since else ''},{entry.subject_id or ''},"
        f"{entry.event_id or ''}\n"
    )


def _write_atomically(path: Path, document: dict[str, Any]) -> None:
    """`path` replaced by `document` at once, through a new file of a name nobody could have
    planted (mkstemp: O_EXCL, readable by its owner only: an export holds keyed hashes and
    subject ids). A fixed `.tmp` name was followed when a link was planted there, and root
    overwrote the link's target (probe YD)."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(document, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)  # a link at `path` is replaced, not followed
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _own_file(path: Path, flags: int) -> int:
    """A descriptor of `path`, never through a symbolic link nor of a file linked elsewhere
    too (a planted link made root truncate, append to and chmod its target; probe YD)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW)
    except OSError:
        if path.is_symlink():
            raise _Refused(f"{path} is a symbolic link: give the path of a file") from None
        raise
    if os.fstat(fd).st_nlink != 1:
        os.close(fd)
        raise _Refused(f"{path} has other names (hard links): remove it to export again")
    return fd


def _cursor_document(what: str, offset: int, rows: int, cursor: ExportCursor) -> dict[str, Any]:
    return {
        "export": what,
        "offset": offset,
        "rows": rows,
        "subjects_done": cursor.subjects_done,
        "after_subject": str(cursor.after_subject) if cursor.after_subject else None,
        "after_digest": cursor.after_digest.hex() if cursor.after_digest else None,
    }


def _resumed(document: dict[str, Any]) -> ExportCursor:
    return ExportCursor(
        bool(document["subjects_done"]),
        UUID(document["after_subject"]) if document["after_subject"] else None,
        bytes.fromhex(document["after_digest"]) if document["after_digest"] else None,
    )


class _Refused(Exception):
    """The output belongs to another export (or to none); the message says which."""


def _prepare(out: Path, checkpoint: Path, what: str) -> tuple[ExportCursor | None, int]:
    """Where to start: resume after the checkpoint (the file cut back to its length), or a new
    file with its header. Raises _Refused."""
    if checkpoint.is_symlink():
        raise _Refused(f"{checkpoint} is a symbolic link: remove it to export again")
    if checkpoint.exists():
        document = _document(checkpoint)
        if document.get("export") != what:
            raise _Refused(f"{checkpoint} belongs to the export {document.get('export')}")
        offset, rows = document.get("offset"), document.get("rows")
        size = out.lstat().st_size if out.is_file() and not out.is_symlink() else -1
        # Not trusted blindly: an offset past the file padded it with NULs, rows were invented.
        if not (isinstance(offset, int) and isinstance(rows, int) and 0 < offset <= size):
            raise _Refused(f"{checkpoint} does not match {out}: remove both to export again")
        fd = _own_file(out, os.O_RDWR)
        try:
            os.fchmod(fd, 0o600)
            os.ftruncate(fd, offset)  # drop the page past the checkpoint
        finally:
            os.close(fd)
        return _resumed(document), max(rows, 0)
    if out.exists() and not out.is_file():  # /dev/full, /dev/stdout, a folder (XB, YA)
        raise _Refused(f"{out} is not a file: give the path of a new file")
    if out.exists() or out.is_symlink():
        raise _Refused(f"{out} exists; remove it to export again")
    # O_EXCL: never through a symbolic link (a dangling one was followed to its target).
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(HEADER)
        file.flush()
        os.fsync(file.fileno())
        # A checkpoint at once: killed before its first page, a rerun refused ("exists").
        _write_atomically(checkpoint, _cursor_document(what, file.tell(), 0, ExportCursor()))
    return None, 0


def _document(checkpoint: Path) -> dict[str, Any]:
    try:
        document = json.loads(checkpoint.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict):
        raise _Refused(f"{checkpoint} is not an export cursor: remove it to export again")
    return document


class _Checkpoint:
    """The checkpoint file beside the output, and the rows written so far."""

    def __init__(self, path: Path, what: str, rows: int) -> None:
        self.path = path
        self.what = what
        self.rows = rows

    def append(self, file: IO[str], page: list[Suppressed], cursor: ExportCursor) -> None:
        """Write the page durably, then move the checkpoint past it."""
        file.write("".join(_line(entry) for entry in page))
        file.flush()
        os.fsync(file.fileno())
        self.rows += len(page)
        _write_atomically(self.path, _cursor_document(self.what, file.tell(), self.rows, cursor))


async def export_suppressions(app: App, args: argparse.Namespace) -> int:
    """0 when the file is complete; 1 when the output belongs to another export."""
    assert app.admin is not None
    tenant = await app.admin.tenant(args.tenant)
    target = Target(args.purpose, Channel(args.channel), PartyScope(args.scope))
    what = f"{tenant.slug}/{target.purpose}/{target.channel.value}/{target.scope.value}"
    out: Path = args.out
    checkpoint = out.with_name(out.name + ".cursor")
    try:
        start, rows = _prepare(out, checkpoint, what)
        appending = os.fdopen(_own_file(out, os.O_WRONLY | os.O_APPEND), "a")
    except _Refused as refused:
        print(f"consentd export: {refused}", file=sys.stderr)
        return 1
    except OSError as error:  # a folder that does not exist, no right to write there
        print(f"consentd export: cannot write {out}: {error.strerror}", file=sys.stderr)
        return 1
    if start is not None:
        print(f"consentd export: resuming after {rows} rows", file=sys.stderr)
    principal = Principal(tenant, "cli:export", frozenset({Scope.ADMIN}))
    pages = app.campaign.suppression_pages(principal, target, start)
    state = _Checkpoint(checkpoint, what, rows)
    try:
        with Progress("suppression list", unit="rows") as progress, appending as file:
            progress.update(rows)
            async for page, cursor in pages:
                state.append(file, page, cursor)
                progress.update(state.rows)
    except BaseException:
        if start is None and state.rows == 0:
            _discard_unstarted(out, checkpoint)
        raise
    _finish(checkpoint)
    print(f"{state.rows} contact points to suppress -> {out}")
    return 0


def _finish(checkpoint: Path) -> None:
    checkpoint.unlink(missing_ok=True)


def _discard_unstarted(out: Path, checkpoint: Path) -> None:
    """A new export refused before its first page (an unknown purpose): the file of its header
    alone read as a complete list with nobody to suppress. (Killed, it keeps both: resumable.)"""
    out.unlink(missing_ok=True)
    checkpoint.unlink(missing_ok=True)
