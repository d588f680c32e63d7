"""The header of a consent CSV (cli/csv_rows.py): its columns, in any case, or why it is not
one (by position, never by its text: a row's value read as a header was printed)."""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IDENTIFIERS = ("email", "phone", "external_id", "cal_id")
REQUIRED = ("purpose", "channel", "state", "recorded_at")
OPTIONAL = ("scope", "source", "notice_version", "evidence")
COLUMNS = (*IDENTIFIERS, *REQUIRED, *OPTIONAL)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


_HEADER = f"the first line names the columns, comma-separated ({', '.join(COLUMNS)})"


def header_of(reader: Iterator[list[str]], path: Path, errors: list[RowError]) -> list[str] | None:
    """The columns, in any case (CRM exports write "Email", "Purpose": probe QA); None, with
    `errors` said, for a file that has no valid header."""
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except UnicodeDecodeError:
        errors.append(RowError(first_bad_line(path), "", "the file is not UTF-8"))
        return None
    except csv.Error as error:  # a JSON Lines file, say: a traceback (probe BS)
        errors.append(RowError(1, "", f"the header is not valid CSV ({error}): {_HEADER}"))
        return None
    if not header:
        errors.append(RowError(1, "", f"the file is empty (columns: {', '.join(COLUMNS)})"))
        return None
    found = _header_errors(header)
    errors.extend(found)
    return None if found else header


def first_bad_line(path: Path) -> int:
    """The line (as an editor counts them) of the first byte that is not UTF-8: the decoder
    reads ahead in blocks, so its error named line 1, or the line the block began after."""
    with path.open("rb") as source:
        for number, line in enumerate(source, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _meant(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), COLUMNS, n=1, cutoff=0.75)
    return f", {close[0]}?" if close else ""


def _header_errors(header: list[str]) -> list[RowError]:
    known = ", ".join(COLUMNS)
    if not any(name in REQUIRED for name in header):
        # No required column: the first line is a row, or another delimiter (probe FL: its
        # values, a person's e-mail, were printed as the unknown columns' names).
        return [RowError(1, "", f"is not a header: {_HEADER}")]
    errors = [
        # By its position, never its text (a row's value, an id or a name, read as a header was
        # printed; probes FL, FM, FP), with the column it may be a misspelling of.
        RowError(1, f"#{at}", f"unknown column{_meant(name)} (known: {known})")
        for at, name in enumerate(header, start=1)
        if name not in COLUMNS
    ]
    errors += [
        RowError(1, name, "required column missing") for name in REQUIRED if name not in header
    ]
    if not any(name in header for name in IDENTIFIERS):
        errors.append(RowError(1, "", f"needs one of the columns {', '.join(IDENTIFIERS)}"))
    if len(set(header)) != len(header):
        errors.append(RowError(1, "", "a column is named twice"))
    return errors
