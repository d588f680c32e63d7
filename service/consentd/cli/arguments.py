"""Building blocks of the argparse tree shared by the command families (cli/parser*.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from consentd import config_values
from consentd.domain.errors import InvalidInput
from consentd.domain.free_text import actor_text

# The sub-parsers of a parser (a string: argparse's class is generic for type checkers only).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command(
    commands: Commands,
    name: str,
    text: str,
    examples: str = "",
) -> argparse.ArgumentParser:
    """A sub-command whose --help shows `text` and its examples verbatim."""
    return commands.add_parser(
        name,
        help=text,
        description=text,
        epilog=f"examples:\n{examples}" if examples else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def when(text: str) -> datetime:
    """An ISO 8601 time with a zone (argparse type)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-03-01T00:00:00Z")
    return moment


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` (to `high`)."""
    bounds = f"at least {low}" if high is None else f"from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {bounds}")
        return value

    return parse


# A position in an audit log (an entry, a tree size): 2^63 was an uncaught OverflowError.
log_position = _whole(0, 2**63 - 1)
positive = _whole(1)
# Server processes: each is a Python process with its own database pools. --workers 100000 (a
# typo) started workers until the machine's load reached 150, deaf to SIGTERM (probe W).
MAX_WORKERS = 64
workers = _whole(1, MAX_WORKERS)


def seconds(text: str) -> float:
    """A duration in seconds, 0 or more (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be 0 or more seconds")
    return value


def time_zone(text: str) -> ZoneInfo:
    """An IANA time zone (argparse type): Europe/Paris, UTC."""
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"must be an IANA time zone such as Europe/Paris or UTC, not {text!r}"
        ) from None


def actor(text: str) -> str:
    """Who the events name as their actor (argparse type): what the API takes of one (one line
    of at most 128 characters, contact points replaced by markers: it outlives an erasure;
    probe YD stored an address, a phone and escape codes whole)."""
    try:
        return actor_text(text, "--actor")
    except InvalidInput as error:
        raise argparse.ArgumentTypeError(error.reason) from None


def host_port(text: str) -> str:
    """host:port of a server to probe (argparse type): an empty one probed the default address
    and a port past 65535 read as UNAVAILABLE (probe YE)."""
    if not config_values.host_port(text, lowest=1):
        raise argparse.ArgumentTypeError(f"{text!r} is not host:port (port 1 to 65535)")
    return text
