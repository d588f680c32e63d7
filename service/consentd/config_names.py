"""Which CONSENTD_* variables of the environment no part of consentd reads: a typo, or a name
from elsewhere (`CONSENTD_DATABASE_URL` for `DATABASE_URL`) ran the service on its private
PostgreSQL with no word, the operator believing it on theirs (probe DB)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping

PREFIX = "CONSENTD_"
# Read by other parts than Settings: the embedded PostgreSQL's binaries, the clients and
# examples (clients/), the test and benchmark suites.
ELSEWHERE = frozenset(
    PREFIX + name
    for name in (
        "PG_BINDIR",
        "API_KEY",
        "ADDR",
        "EMAIL",
        "BENCH_SUBJECTS",
        "E2E_SCREENSHOTS",
        "FUZZ_CASES",
        "HISTORIES",
        "HA_KEEP",
        "HA_TESTS",
        "KEEP_FAULT_LOGS",
    )
)
# What an operator most likely meant by a name consentd does not read.
MEANT = {
    **{PREFIX + name: "DATABASE_URL" for name in ("DATABASE_URL", "DB_URL", "POSTGRES_URL")},
    PREFIX + "SMTP_URL": PREFIX + "SMTP_HOST",
}


class Reading(Mapping[str, str]):
    """The environment, noting each name read (Settings.from_env reads through it)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._env[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.read.add(name)
        return name in self._env

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)

    def unread(self) -> list[tuple[str, str]]:
        """The CONSENTD_* names set and read by nothing, each with what was likely meant ("":
        nothing known)."""
        names = (n for n in self._env if n.startswith(PREFIX))
        return [(n, self._meant(n)) for n in sorted(names) if n not in self.read | ELSEWHERE]

    def _meant(self, name: str) -> str:
        """The name likely meant: a known confusion, a port or host for the address that
        holds both (probe DN: CONSENTD_GRPC_PORT), else the closest name read."""
        if name in MEANT:
            return MEANT[name]
        stem, _, last = name.rpartition("_")
        if last in ("PORT", "HOST", "ADDR", "LISTEN") and f"{stem}_ADDRESS" in self.read:
            return f"{stem}_ADDRESS"
        scored = ((_likeness(name, known), known) for known in sorted(self.read))
        score, best = max(scored, default=(0.0, ""))
        if score >= 0.5:
            return best
        # Words run together or split otherwise (CONSENTD_RATELIMIT meant nothing; probe XD).
        joined = ((_joined_likeness(name, known), known) for known in sorted(self.read))
        score, best = max(joined, default=(0.0, ""))
        return best if score >= 0.9 else ""


def _words(name: str) -> list[str]:
    return [w for w in name.removeprefix(PREFIX).split("_") if w]


def _likeness(given: str, known: str) -> float:
    """The share of the two names' words alike (a word spelt within a letter or two counts):
    CONSENTD_MIGRATION_URL is CONSENTD_MIGRATION_DATABASE_URL's (2 of 3), not
    CONSENTD_MIGRATIONS_DIR's (1 of 3), as the closest spelling said (probe DQ)."""
    mine, theirs = _words(given), _words(known)
    alike = sum(
        any(difflib.SequenceMatcher(None, w, t).ratio() >= 0.8 for t in theirs) for w in mine
    )
    return alike / (len(mine) + len(theirs) - alike) if alike else 0.0


def _joined_likeness(given: str, known: str) -> float:
    """How alike the two names are with their underscores taken out."""
    return difflib.SequenceMatcher(None, given.replace("_", ""), known.replace("_", "")).ratio()
