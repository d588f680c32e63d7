"""SIGTERM's handler of the commands (cli/__init__.py `_terminated`): before a command's loop
runs it raises nothing (a KeyboardInterrupt raised while Python ran a string of code, a
dataclass made as modules load, made the process end by SIGINT, -2, after "terminated";
full suite under load), and the command's task is cancelled as it starts."""

from __future__ import annotations

import asyncio
import signal

import pytest

from consentd import cli


@pytest.fixture(autouse=True)
def _fresh() -> None:
    cli._TERMINATED.clear()
    cli._COMMAND.clear()


def test_sigterm_while_starting_cancels_the_command_as_it_starts() -> None:
    ran: list[str] = []

    async def command() -> int:
        ran.append("ran")
        return 0

    cli._terminated(signal.SIGTERM, None)  # nothing raised: no command runs yet
    with pytest.raises(asyncio.CancelledError):
        cli._command(command())
    assert ran == []


def test_a_second_sigterm_is_raised_at_once() -> None:
    cli._terminated(signal.SIGTERM, None)
    with pytest.raises(KeyboardInterrupt):
        cli._terminated(signal.SIGTERM, None)
