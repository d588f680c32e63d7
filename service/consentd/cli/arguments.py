"""Building blocks of the argparse tree shared by the command families (cli/parser*.py)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TypeAlias

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


def log_position(text: str) -> int:
    """A position in an audit log (an entry, a tree size): 0 to 2^63 - 1 (argparse type; 2^63
    was an uncaught OverflowError)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError("must be from 0 to 9223372036854775807")
    return value


def positive(text: str) -> int:
    """A whole number from 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def seconds(text: str) -> float:
    """A duration in seconds, 0 or more (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be 0 or more seconds")
    return value
