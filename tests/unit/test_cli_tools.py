"""The CLI's pure parts: the consent CSV reader, the progress line, and --help's examples."""

from __future__ import annotations

import argparse
import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from consentd.cli import _SLOW, _settings_for, _unreachable
from consentd.cli.arguments import time_zone
from consentd.cli.csv_header import RowError
from consentd.cli.csv_rows import iter_rows, read_csv
from consentd.cli.importing import _stopped
from consentd.cli.parser import parser
from consentd.cli.progress import Progress
from consentd.config import ConfigError, Settings
from consentd.domain.model import ConsentState, Source
from consentd.workers import _nth_port, metrics_ports_apart

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _read(tmp_path: Path, text: str) -> tuple[list[str], int]:
    path = tmp_path / "f.csv"
    path.write_text(text)
    parsed = read_csv(path, "FR", NOW)
    return [str(e) for e in parsed.errors], len(parsed.rows)


def test_a_header_with_unknown_or_missing_columns_is_refused(tmp_path: Path) -> None:
    """Line 1 errors name the unknown column by position (and what it may mean), each missing
    required one, and the absent identifier column; no row is read."""
    errors, rows = _read(tmp_path, "mail,purpose,channel\nx,y,z\n")
    assert rows == 0
    assert errors[0].startswith("line 1, column #1: unknown column, email? (known: "), errors
    assert "line 1, column state: required column missing" in errors
    assert any("needs one of the columns email, phone, external_id, cal_id" in e for e in errors)


def test_a_file_without_a_header_says_so_and_echoes_no_value(tmp_path: Path) -> None:
    """Probe FL: a file whose first line is a row printed the person's e-mail as an unknown
    column's name; so did a header with another delimiter."""
    row = "jeanne.dupont@ex.org,newsletter,email,granted,2026-01-01T00:00:00Z\n"
    for text in (row, row.replace(",", ";")):
        errors, rows = _read(tmp_path, text)
        assert rows == 0
        assert errors == [
            "line 1: is not a header: the first line names the columns, comma-separated "
            "(email, phone, external_id, cal_id, purpose, channel, state, recorded_at, scope, "
            "source, notice_version, evidence)"
        ], errors
        assert not any("jeanne" in e for e in errors)
    errors, _ = _read(tmp_path, "email,purpose,channel,state,recorded_at,x@y.fr\n")
    assert errors[0].startswith("line 1, column #6: unknown column"), errors
    # Probe FM: a row holding a column's name (`channel`) passed for a header, its values shown.
    errors, _ = _read(tmp_path, "CUST-JEANDUPONT,imp,channel,granted,2024-03-01T10:00:00Z\n")
    assert not any("JEAN" in e for e in errors), errors
    errors, _ = _read(tmp_path, "emial,purpose,channel,state,recorded_at\n")
    assert errors[0].startswith("line 1, column #1: unknown column, email? (known:"), errors
    errors, _ = _read(tmp_path, "jdupont,channel,email,granted,2024-01-01T10:00:00Z\n")
    assert not any("jdupont" in e or "granted" in e.split("(known")[0] for e in errors), errors


def test_a_time_with_a_nul_after_it_is_refused(tmp_path: Path) -> None:
    """Probe FL: `...00:00Z` followed by a NUL was imported (fromisoformat let it pass)."""
    errors, rows = _read(
        tmp_path,
        "email,purpose,channel,state,recorded_at\n"
        "a@b.fr,n,email,granted,2026-01-01T00:00:00Z\x00\n",
    )
    assert (errors, rows) == (["line 2, column recorded_at: must be an ISO 8601 time"], 0)


def test_an_external_id_is_read_as_the_cell_holds_it(tmp_path: Path) -> None:
    """Probe FL: the import trimmed an external id the API keeps as given: a padded id's
    history went to another subject than the CRM's API calls."""
    path = tmp_path / "f.csv"
    path.write_text(
        "external_id,purpose,channel,state,recorded_at\n"
        '"ext-1 ",n,email,granted,2026-01-01T00:00:00Z\n'
    )
    (row,) = read_csv(path, "FR", NOW).rows
    assert row.identifier.value == "ext-1 "


def test_rows_are_read_with_their_own_line_numbers(tmp_path: Path) -> None:
    """A quoted field spanning two lines moves the next row's line number, and its row is named
    by its first line (its last, before: probe QA); defaults apply (scope first_party, source
    import); phone numbers are read in the region; the BOM is ignored; a line of blanks is no
    row; the header is read in any case."""
    text = (
        "\ufeffPhone, Purpose ,channel,STATE,recorded_at,evidence\n"
        '06 12 34 56 78,news,sms,granted,2026-01-01T00:00:00Z,"two\nlines"\n'
        "06 12 34 56 79,news,sms,withdrawn,2026-01-01T00:00:00Z,\n"
        "   ,  \n"
        "06 12 34 56 79,news,sms,granted,2027-01-01T00:00:00Z,\n"
        "06 12 34 56 79,news,sms,granted,2026-01-01T00:00:00Z,,extra\n"
    )
    path = tmp_path / "f.csv"
    path.write_text(text)
    parsed = read_csv(path, "FR", NOW)
    assert [str(e) for e in parsed.errors] == [
        "line 2, column evidence: on one line, printable characters only",
        "line 6, column recorded_at: is in the future",
        "line 7: more fields than the header has columns",
    ]
    (row,) = parsed.rows
    assert (row.line, row.identifier.value, row.state, row.source) == (
        4,
        "+33612345679",
        ConsentState.WITHDRAWN,
        Source.IMPORT,
    )
    assert len(parsed.digest) == 64


def test_exactly_one_identifier_and_no_value_in_the_message(tmp_path: Path) -> None:
    """Two identifiers on a row, or a bad one, are errors that never repeat the value."""
    errors, rows = _read(
        tmp_path,
        "email,external_id,purpose,channel,state,recorded_at,notice_version\n"
        "a@example.com,crm-1,news,email,granted,2026-01-01T00:00:00Z,\n"
        "secret-value@@,,news,email,granted,2026-01-01T00:00:00Z,0\n",
    )
    assert rows == 0
    assert errors[0] == "line 2: give exactly one of email, phone, external_id, cal_id"
    assert errors[1].startswith("line 3, column email: ")
    assert errors[2] == "line 3, column notice_version: must be a whole number from 1"
    assert not any("secret-value" in e for e in errors)


def test_progress_prints_plain_lines_when_not_a_terminal() -> None:
    """Off a terminal (logs, CI) progress is whole lines with counts, never carriage returns."""
    out = io.StringIO()
    with Progress("import f.csv", total=10, stream=out, every=0.0) as progress:
        progress.update(4)
        progress.update(10)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("import f.csv: 4/10 rows  40%")
    assert lines[-1].startswith("import f.csv: 10/10 rows 100%")
    assert "\r" not in out.getvalue()


@pytest.mark.parametrize(
    "command",
    [
        "serve",
        "migrate",
        "health",
        "tenants",
        "keys",
        "issuers",
        "import",
        "purge",
        "audit",
        "retention",
        "breach",
        "local-key",
    ],
)
def test_every_command_has_examples_in_its_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`consentd COMMAND --help` ends with examples that run that command, and the top-level
    help lists it with an example too."""
    with pytest.raises(SystemExit):
        parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text
    assert f"consentd {command}" in text.split("examples:", 1)[1]
    assert f"consentd {command}" in parser().format_help()


def test_each_worker_gets_its_own_metrics_port() -> None:
    """serve --workers N: worker i serves metrics on the configured port + i (a scraper sees
    every process); port 0 stays 0."""
    assert [_nth_port("127.0.0.1:9464", i) for i in range(3)] == [
        "127.0.0.1:9464",
        "127.0.0.1:9465",
        "127.0.0.1:9466",
    ]
    assert _nth_port("[::1]:0", 1) == "[::1]:0"


def test_workers_metrics_ports_must_miss_every_other_port() -> None:
    """Probe KB: worker 1's metrics port (the metrics port + 1) was the embedded PostgreSQL's:
    it served without metrics, said by one error line. Refused at start, naming both."""
    env = {
        "CONSENTD_METRICS_ADDRESS": "127.0.0.1:51203",
        "CONSENTD_EMBEDDED_POSTGRES_PORT": "51204",
    }
    settings = Settings.from_env(env)
    metrics_ports_apart(settings, 1)
    with pytest.raises(ConfigError, match="CONSENTD_EMBEDDED_POSTGRES_PORT uses 51204"):
        metrics_ports_apart(settings, 2)
    # One process too: its metrics on its own browser port (probe NA).
    own = Settings.from_env({**env, "CONSENTD_HTTP_ADDRESS": "127.0.0.1:51203"})
    with pytest.raises(ConfigError, match=r"on port 51203 .*CONSENTD_HTTP_ADDRESS uses 51203"):
        metrics_ports_apart(own)
    grpc = Settings.from_env({**env, "CONSENTD_GRPC_ADDRESS": "127.0.0.1:51205"})
    with pytest.raises(ConfigError, match="ports 51203 to 51205"):
        metrics_ports_apart(grpc, 3)
    metrics_ports_apart(Settings.from_env({"CONSENTD_METRICS_ADDRESS": "off"}), 8)


@pytest.mark.parametrize(
    "argv",
    [
        ["retention", "run", "--dry-run", "--batch-size", "0"],
        ["retention", "run", "--dry-run", "--batch-size", "-5"],
        ["retention", "run", "--dry-run", "--pause", "-1"],
        ["retention", "run", "--dry-run", "--pause", "nan"],
        ["purge", "--batch-size", "0"],
        ["audit", "prove", "--tenant", "acme", "--seq", str(2**63)],
        ["audit", "tree-head", "--tenant", "acme", "--tree-size", "-1"],
        # a typo started workers until the load reached 150, deaf to SIGTERM (probe W)
        ["serve", "--workers", "65"],
        ["serve", "--workers", "100000"],
    ],
)
def test_out_of_range_numbers_are_refused_by_the_parser(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`retention run --batch-size 0` (or -5, or --pause -1) was taken (purge's own check
    refused 0): each is refused before anything runs, exit 2, naming the option."""
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(argv)
    assert exited.value.code == 2
    assert f"argument {argv[-2]}" in capsys.readouterr().err


def test_a_byte_that_is_not_utf8_is_named_by_its_line_and_an_empty_file_says_so(
    tmp_path: Path,
) -> None:
    """A latin-1 byte on line 5 was reported on line 1 (the decoder reads ahead in blocks); an
    empty file gave five "column missing" errors (found by a probe)."""
    path = tmp_path / "latin1.csv"
    good = "email,purpose,channel,state,recorded_at\n"
    good += "a@example.fr,newsletter,email,granted,2025-01-02T10:00:00Z\n" * 3
    path.write_bytes(
        good.encode()
        + "é@example.fr,newsletter,email,granted,2025-01-02T10:00:00Z\n".encode("latin-1")
    )
    checked = read_csv(path, "FR", datetime(2026, 1, 1, tzinfo=UTC))
    assert [(e.line, e.message) for e in checked.errors] == [(5, "the file is not UTF-8")]
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    checked = read_csv(empty, "FR", datetime(2026, 1, 1, tzinfo=UTC))
    assert len(checked.errors) == 1
    assert checked.errors[0].message.startswith("the file is empty")


def test_a_header_that_is_not_csv_and_a_short_row_say_what_is_wrong(tmp_path: Path) -> None:
    """Probe BS: a JSON Lines file ended the import with an uncaught traceback (its first line
    is not CSV), and a row with fewer fields than the header said its empty recorded_at "must
    be an ISO 8601 time"."""
    errors, rows = _read(tmp_path, '{"email":"a@example.fr","state":"granted"}\n')
    assert rows == 0
    assert len(errors) == 1
    assert errors[0].startswith("line 1: the header is not valid CSV"), errors
    assert "the first line names the columns" in errors[0]
    header = "email,purpose,channel,state,recorded_at\n"
    errors, rows = _read(tmp_path, header + "a@example.fr,newsletter,email,granted\n")
    assert (errors, rows) == (
        ["line 2, column recorded_at: is empty (a row with fewer fields?)"],
        0,
    )


def test_a_closed_output_is_not_called_a_database_failure() -> None:
    """Probe GJ: `consentd audit prove ... | head -c 10` said "the database refused: [Errno 32]
    Broken pipe (check DATABASE_URL ...)"."""
    said = _unreachable(BrokenPipeError(32, "Broken pipe"))
    assert said == "the output was closed before the command finished writing"
    assert "database" not in (_unreachable(BrokenPipeError(32, "Broken pipe")) or "")


def test_times_without_an_offset_are_read_in_the_zone_given(tmp_path: Path) -> None:
    """CRM exports write local time: refused without --timezone (saying so), read in the zone
    given with it (Paris in winter: UTC+1); a time with its own offset keeps it."""
    path = tmp_path / "local.csv"
    path.write_text(
        "email,purpose,channel,state,recorded_at\n"
        "a@example.fr,news,email,granted,2026-01-05 10:00:00\n"
        "b@example.fr,news,email,granted,2026-01-05T10:00:00+00:00\n"
    )
    refused: list[RowError] = []
    assert [r.line for r in iter_rows(path, "FR", NOW, refused)] == [3]
    assert [str(e) for e in refused] == [
        "line 2, column recorded_at: needs a time zone (e.g. Z or +02:00, or --timezone)"
    ]
    read = list(iter_rows(path, "FR", NOW, [], time_zone("Europe/Paris")))
    assert [r.recorded_at.astimezone(UTC).hour for r in read] == [9, 10]
    with pytest.raises(argparse.ArgumentTypeError, match="IANA time zone"):
        time_zone("Mars/Olympus")


def test_a_local_time_the_clock_skipped_or_repeated_is_refused(tmp_path: Path) -> None:
    """Probe YD: 02:30 on the night Paris goes to summer time (no such time) was read as 01:30Z
    silently, and 02:30 on the night it goes back (twice) as its first: a "no" given in the
    repeated hour came before a "yes" given earlier in it. Each is refused, naming the line;
    with its offset it is taken."""
    path = tmp_path / "changes.csv"
    path.write_text(
        "email,purpose,channel,state,recorded_at\n"
        "a@example.fr,news,email,granted,2026-03-29 02:30:00\n"
        "b@example.fr,news,email,granted,2025-10-26 02:30:00\n"
        "c@example.fr,news,email,granted,2025-10-26 02:30:00+01:00\n"
    )
    refused: list[RowError] = []
    read = list(iter_rows(path, "FR", NOW, refused, time_zone("Europe/Paris")))
    assert [r.line for r in read] == [4]
    assert [str(e) for e in refused] == [
        "line 2, column recorded_at: does not exist in Europe/Paris (the clock went forward): "
        "give it with its offset",
        "line 3, column recorded_at: happened twice in Europe/Paris (the clock went back): "
        "give it with its offset",
    ]


def test_a_statement_that_timed_out_is_not_said_as_a_database_that_refused() -> None:
    """Probe RB: an export whose statement outlived its timeout said "the database refused:
    TimeoutError (check DATABASE_URL ...)", a database that ran."""
    said = _unreachable(TimeoutError())
    assert said is not None
    assert said.startswith("the database did not answer in time: a statement (the database is")
    cancelled = asyncpg.exceptions.QueryCanceledError(
        "canceling statement due to statement timeout"
    )
    said = _unreachable(cancelled)
    assert said is not None
    assert said.startswith("a statement outlived CONSENTD_DB_TIMEOUT_SECONDS")
    assert "DATABASE_URL" not in said


def test_an_imports_actor_is_held_to_what_the_api_takes(capsys: pytest.CaptureFixture[str]) -> None:
    """Probe YD: `import consents --actor` was stored as given (an address, a phone number, a
    line break, terminal escapes, 100,000 characters), outliving an erasure in every event's
    history. It is what the API takes of an actor: one line of at most 128 characters, its
    contact points replaced by markers."""
    base = ["import", "consents", "x.csv", "--tenant", "acme"]
    named = parser().parse_args([*base, "--actor", "agent Jean jean.dupont@corp.fr 06 12 34 56 78"])
    assert named.actor == "agent Jean (email) (phone)"
    assert parser().parse_args(base).actor == "consentd import"
    for bad in ("two\nlines", "red \x1b[31m", "x" * 129, "evil \u202e"):
        with pytest.raises(SystemExit):
            parser().parse_args([*base, "--actor", bad])
        assert "--actor" in capsys.readouterr().err


def test_a_breach_report_may_take_longer_than_a_call() -> None:
    """Probe YE: `breach scope` read 412,000 subjects in 9 s, past the 5 s statement ceiling of
    a call, and failed each time ("give it longer", saying not how). A breach report's
    statements get 10 minutes (or the ceiling set, if longer); other commands keep theirs."""
    settings = Settings()
    window = ["--since", "2026-12-07T00:00:00Z", "--until", "2026-12-08T00:00:00Z"]
    breach = parser().parse_args(["breach", "scope", *window])
    assert _settings_for(breach, settings).db_timeout_seconds == 600
    longer = replace(settings, db_timeout_seconds=900.0)
    assert _settings_for(breach, longer).db_timeout_seconds == 900
    verify = parser().parse_args(["audit", "verify", "--tenant", "acme"])
    assert _settings_for(verify, settings).db_timeout_seconds == settings.db_timeout_seconds
    assert "CONSENTD_DB_TIMEOUT_SECONDS" in _SLOW


def test_an_import_stopped_by_a_full_disk_says_so() -> None:
    """Probe YE: an import on a full disk (SQLSTATE 53100 at its first insert) was told "the
    database stopped answering mid-way (stopped, restarted, or unreachable)" while PostgreSQL
    ran the whole time. It names the shortage; a lost connection is still said as before."""
    full = asyncpg.exceptions.DiskFullError("could not extend file: No space left on device")
    said = _stopped(full, None)  # type: ignore[arg-type]
    assert said is not None
    assert "out of disk space, SQLSTATE 53100" in said
    lost = _stopped(asyncpg.exceptions.ConnectionDoesNotExistError("closed"), None)  # type: ignore[arg-type]
    assert lost is not None
    assert "stopped answering mid-way" in lost


def test_a_health_probe_of_no_address_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Probe YE: `health --address ""` probed the default address and said SERVING; a port
    past 65535 read as UNAVAILABLE. Both are usage errors now; a good address is taken."""
    for bad in ("", "127.0.0.1:99999", "nohost", ":50051"):
        with pytest.raises(SystemExit):
            parser().parse_args(["health", "--address", bad])
        assert "host:port" in capsys.readouterr().err
    assert parser().parse_args(["health", "--address", "[::1]:50051"]).address == "[::1]:50051"
