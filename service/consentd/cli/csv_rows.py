"""Reading a consent CSV for `consentd import consents`: every row checked before any is written.
Errors name the line and the column and say what is wrong, never the value (personal data)."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TypeVar

from consentd.app.ports.imports import ImportRow as Row
from consentd.cli.csv_header import (
    COLUMNS,
    IDENTIFIERS,
    OPTIONAL,
    REQUIRED,
    RowError,
    first_bad_line,
    header_of,
)
from consentd.cli.file_blocks import BlockHashes, HashedBlocks
from consentd.domain.canonical import EARLIEST
from consentd.domain.errors import InvalidInput
from consentd.domain.free_text import without_contacts
from consentd.domain.identifiers import Identifier, normalise
from consentd.domain.model import Channel, ConsentState, PartyScope, Purpose, Source, Target

# The states a file may give, by value.
STATES = {s.value: s for s in (ConsentState.GRANTED, ConsentState.REFUSED, ConsentState.WITHDRAWN)}
MAX_EVIDENCE = 512
E = TypeVar("E", Channel, PartyScope, ConsentState, Source)


@dataclass(frozen=True, slots=True)
class CsvFile:
    digest: str  # SHA-256 of the bytes: the import's identity (its checkpoint's key)
    rows: list[Row]
    errors: list[RowError]


def read_csv(path: Path, phone_region: str, now: datetime) -> CsvFile:
    """Every row parsed and checked on its own (the catalogue is checked by `against`)."""
    errors: list[RowError] = []
    rows = list(iter_rows(path, phone_region, now, errors))
    return CsvFile(file_digest(path), rows, errors)


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes (read in chunks): the import's identity."""
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def iter_rows(
    path: Path,
    phone_region: str,
    now: datetime,
    errors: list[RowError],
    zone: tzinfo | None = None,
    *,
    hashes: BlockHashes | None = None,
) -> Iterator[Row]:
    """The valid rows, read as a stream (memory stays flat); each bad one is appended to
    `errors` instead. `zone`: where a time without an offset was written (none: refused).
    `hashes`, when given: the file read through HashedBlocks (cli/file_blocks.py), so the
    rows come from exactly the bytes hashed, or checked (a file changed between a pass and a
    digest read apart passed unseen, same size and time put back; probes YA, ZA)."""
    with path.open("rb") as raw:
        hashed = io.BufferedReader(HashedBlocks(raw, hashes)) if hashes is not None else raw
        source = io.TextIOWrapper(hashed, encoding="utf-8-sig", newline="")
        reader = csv.reader(source, strict=True)
        header = header_of(reader, path, errors)
        if header is None:
            return
        parse = _Rows(header, phone_region, now, zone)
        read = 1  # lines read: a bad record starts on the next one
        try:
            for fields in reader:
                # A blank line is no row (nor a line of blanks: five errors, QA); a row is
                # named by its first line (a quoted value over several was by its last, QA).
                if any(field.strip() for field in fields):
                    row = parse(read + 1, fields, errors)
                    if row is not None:
                        yield row
                read = reader.line_num
        except csv.Error as error:
            errors.append(RowError(read + 1, "", f"not valid CSV ({error})"))
        except UnicodeDecodeError:
            errors.append(RowError(first_bad_line(path), "", "the file is not UTF-8"))


class _Rows:
    """Reads the rows under one header: each column found by its position, and the targets
    the rows repeat made once (a file of a million rows names a handful)."""

    def __init__(self, header: list[str], region: str, now: datetime, zone: tzinfo | None) -> None:
        self._width = len(header)
        # An absent column reads the empty field put after the row's own.
        at = {name: header.index(name) if name in header else len(header) for name in COLUMNS}
        self._identifiers = [(kind, at[kind]) for kind in IDENTIFIERS if kind in header]
        self._columns = tuple(at[name] for name in (*REQUIRED, *OPTIONAL))
        self._region = region
        self._now = now
        self._zone = zone
        self._targets: dict[tuple[str, Channel, PartyScope], Target] = {}

    def __call__(self, line: int, fields: list[str], errors: list[RowError]) -> Row | None:
        if len(fields) > self._width:
            errors.append(RowError(line, "", "more fields than the header has columns"))
            return None
        value = [field.strip() for field in fields]
        value += [""] * (self._width + 1 - len(value))  # a short row's last columns are empty
        purpose, channel_, state_, time, scope_, source_, version_, evidence = (
            value[at] for at in self._columns
        )
        found = len(errors)
        # An external id as given, spaces and all, as the API keeps it (trimmed here, a padded
        # id's history went to another subject than its API calls; probe FL).
        given = [
            (kind, fields[at] if kind == "external_id" else value[at])
            for kind, at in self._identifiers
            if value[at]
        ]
        identifier = None
        if len(given) != 1:
            errors.append(RowError(line, "", f"give exactly one of {', '.join(IDENTIFIERS)}"))
        else:
            identifier = _identifier(*given[0], self._region, line, errors)
        channel = _member(Channel, channel_, line, "channel", errors)
        scope = _member(PartyScope, scope_ or "first_party", line, "scope", errors)
        state = STATES.get(state_.lower())
        if state is None:  # one message for every other value, known to consentd or not
            errors.append(RowError(line, "state", "must be granted, refused or withdrawn"))
        source = _member(Source, source_ or "import", line, "source", errors)
        recorded_at = _time(time, self._now, line, errors, self._zone)
        version = _version(version_, line, errors)
        if len(evidence) > MAX_EVIDENCE or not evidence.isprintable():
            # Which: a 16-character reference over two lines was told "at most 512" (QA).
            why = "on one line" if len(evidence) <= MAX_EVIDENCE else f"at most {MAX_EVIDENCE}"
            errors.append(RowError(line, "evidence", f"{why}, printable characters only"))
        if not purpose:
            errors.append(RowError(line, "purpose", "required"))
        if len(errors) > found:
            return None
        if not (identifier and channel and scope and state and source and recorded_at):
            return None  # unreachable: each None came with an error
        target = self._targets.get((purpose, channel, scope))
        if target is None:
            target = self._targets[purpose, channel, scope] = Target(purpose, channel, scope)
        reference = without_contacts(evidence)  # it outlives an erasure, as the API's does
        return Row(line, identifier, target, state, recorded_at, source, version, reference)


def _identifier(
    kind: str, raw: str, region: str, line: int, errors: list[RowError]
) -> Identifier | None:
    try:
        return normalise(kind, raw, region, kind)
    except InvalidInput as error:
        errors.append(RowError(line, kind, error.reason))
        return None


@functools.cache
def _members(kind: type[E]) -> dict[str, E]:
    """The members a file may name, by value (every row looks them up: built once)."""
    return {m.value: m for m in kind if m.value != "*"}


def _member(kind: type[E], raw: str, line: int, column: str, errors: list[RowError]) -> E | None:
    allowed = _members(kind)
    member = allowed.get(raw) or allowed.get(raw.lower())
    if member is None:
        errors.append(RowError(line, column, f"must be one of {', '.join(allowed)}"))
    return member


def _time(
    raw: str, now: datetime, line: int, errors: list[RowError], zone: tzinfo | None
) -> datetime | None:
    if not raw:  # a short row too (fewer fields than the header): it read "must be ISO 8601"
        errors.append(RowError(line, "recorded_at", "is empty (a row with fewer fields?)"))
        return None
    try:
        if not raw.isprintable():  # fromisoformat let a NUL after the zone pass (probe FL)
            raise ValueError(raw)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        errors.append(RowError(line, "recorded_at", "must be an ISO 8601 time"))
        return None
    if moment.tzinfo is None and zone is not None:  # --timezone: CRM exports write local time
        moment, odd = _local(moment, zone)
        if odd:
            errors.append(RowError(line, "recorded_at", f"{odd}: give it with its offset"))
            return None
    if moment.tzinfo is None:
        errors.append(
            RowError(line, "recorded_at", "needs a time zone (e.g. Z or +02:00, or --timezone)")
        )
        return None
    if moment > now:
        errors.append(RowError(line, "recorded_at", "is in the future"))
        return None
    return moment


def _local(naive: datetime, zone: tzinfo) -> tuple[datetime, str]:
    """`naive` read in `zone`, and what is odd about it there: a time the clock skipped or went
    through twice when it changed (read as one of them, a "no" given in the repeated hour
    came before the "yes" given earlier; probe YD)."""
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early, ""
    if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return early, f"does not exist in {zone} (the clock went forward)"
    return early, f"happened twice in {zone} (the clock went back)"


def _version(raw: str, line: int, errors: list[RowError]) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        errors.append(RowError(line, "notice_version", "must be a whole number from 1"))
        return None
    return int(raw)


CONFIRMED_ELSEWHERE = (
    "the purpose requires a double opt-in confirmation: a grant must name the evidence of the "
    "confirmation it had (the evidence column), or be recorded through RecordConsent"
)


def against(
    rows: Iterable[Row], purposes: dict[str, Purpose], versions: dict[str, set[int]]
) -> list[RowError]:
    """Rows naming a purpose the tenant lacks or a notice version it never published, a grant
    of a double opt-in purpose without the evidence of its confirmation, or a time before 1970.
    (A time before the version was published is taken: notices cannot be backdated, and a CRM's
    history names the version that stands for the text its people saw.)"""
    errors = []
    for row in rows:
        purpose = purposes.get(row.target.purpose)
        if row.recorded_at < EARLIEST:
            errors.append(RowError(row.line, "recorded_at", "must not be before 1970-01-01"))
        elif purpose is None:
            errors.append(RowError(row.line, "purpose", "not in this tenant's catalogue"))
        elif row.state is ConsentState.WITHDRAWN or (
            row.state is ConsentState.REFUSED and row.notice_version is None
        ):
            continue  # a withdrawal names no notice; a "no" is never refused for want of one
        elif purpose.notice_id is None and row.notice_version is not None:
            errors.append(RowError(row.line, "notice_version", "the purpose has no notice"))
        elif purpose.notice_id is not None and row.notice_version not in versions.get(
            purpose.notice_id, set()
        ):
            # A missing version said as missing (it read "must be a published version"; HI).
            head = "is required for" if row.notice_version is None else "must be a version of"
            notice = f"{head} the published notice {purpose.notice_id!r} (the one shown)"
            errors.append(RowError(row.line, "notice_version", notice))
        elif _unconfirmed(row, purpose):
            errors.append(RowError(row.line, "evidence", CONFIRMED_ELSEWHERE))
    return errors


def _unconfirmed(row: Row, purpose: Purpose) -> bool:
    """A grant of a purpose that requires double opt-in, with nothing to show it was confirmed
    (imported, it would ALLOW at once: no pending state, no link sent)."""
    return purpose.requires_confirmation and row.state is ConsentState.GRANTED and not row.evidence
