"""Settings named in the environment that consentd does not read are told (probe DB: with
`CONSENTD_DATABASE_URL` set, the real name being DATABASE_URL, serve ran on its private
PostgreSQL without a word)."""

from __future__ import annotations

import re
from pathlib import Path

from consentd.config import Settings
from consentd.config_names import ELSEWHERE, Reading

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_documented_setting_is_read_even_when_unset() -> None:
    """No documented variable is told as unknown: each is read whatever the others say."""
    env = Reading({})
    Settings.from_env(env)
    rows = re.findall(r"^\| `(CONSENTD_[A-Z0-9_]+)`", DOCS.read_text(), re.MULTILINE)
    documented = set(rows)
    assert documented
    assert documented - env.read - ELSEWHERE == set()


def test_a_name_consentd_does_not_read_is_told_with_what_was_meant() -> None:
    given = {
        "CONSENTD_DATABASE_URL": "postgresql://secret@db/x",
        "CONSENTD_GRPC_ADRESS": "x",
        "CONSENTD_GRPC_PORT": "50052",
        "CONSENTD_API_KEY": "a client's",
        "CONSENTD_ZZZ": "nothing like it",
        "CONSENTD_MIGRATION_URL": "x",
        "CONSENTD_DATABSE_URL": "x",
        "CONSENTD_RATELIMIT": "5",  # probe XD: words run together meant nothing
        "DATABASE_URL_X": "not ours",
    }
    env = Reading(given)
    Settings.from_env(env)
    # A misspelling and a port are told the name that holds them (probe DN: GRPC_PORT).
    assert env.unread() == [
        ("CONSENTD_DATABASE_URL", "DATABASE_URL"),
        ("CONSENTD_DATABSE_URL", "DATABASE_URL"),
        ("CONSENTD_GRPC_ADRESS", "CONSENTD_GRPC_ADDRESS"),
        ("CONSENTD_GRPC_PORT", "CONSENTD_GRPC_ADDRESS"),
        ("CONSENTD_MIGRATION_URL", "CONSENTD_MIGRATION_DATABASE_URL"),
        ("CONSENTD_RATELIMIT", "CONSENTD_RATE_LIMIT"),
        ("CONSENTD_ZZZ", ""),
    ]
