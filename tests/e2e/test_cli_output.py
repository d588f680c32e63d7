"""A command whose output cannot be written (a full disk, a closed pipe) after it made a secret:
`keys create > /dev/full` left a live key whose token nobody held (probe XB)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any
from uuid import uuid4

from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Tenant
from tests.conftest import command_env


def _into_a_full_disk(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "w") as full:  # a device, written by the child
        return subprocess.run(
            argv, env=env, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120, check=False
        )


async def test_a_key_whose_token_could_not_be_written_is_revoked(
    database_url: str, owner_url: str, tenant: Tenant, admin: AdminUseCases
) -> None:
    env = command_env(database_url, owner_url)
    argv = [sys.executable, "-m", "consentd", "keys", "create", tenant.slug]
    argv += ["--scope", "consent:check", "--name", "to-a-full-disk"]
    done = await asyncio.to_thread(_into_a_full_disk, argv, env)
    assert done.returncode == 1, done.stderr
    assert "could not be written out" in done.stderr, done.stderr
    assert "it was revoked at once" in done.stderr, done.stderr
    made = [k for k in await admin.keys(tenant.slug) if k.name == "to-a-full-disk"]
    assert len(made) == 1
    assert made[0].revoked_at is not None


async def test_a_webhook_whose_secret_could_not_be_written_is_removed(
    database_url: str, owner_url: str, tenant: Tenant
) -> None:
    """Probe ZA: `webhooks add ... > /dev/full` said "the host refused" and left the webhook
    pushing the feed, signed with a secret nobody saw. It is removed at once, as a key is."""
    env = command_env(database_url, owner_url)
    argv = [sys.executable, "-m", "consentd", "webhooks", "add", tenant.slug]
    done = await asyncio.to_thread(_into_a_full_disk, [*argv, "https://full.example/x"], env)
    assert done.returncode == 1, done.stderr
    assert "it was removed at once" in done.stderr, done.stderr
    [made] = [w for w in await _webhooks(env, tenant.slug) if "full.example" in w["url"]]
    assert made["state"] == "removed"


async def _webhooks(env: dict[str, str], slug: str) -> list[dict[str, Any]]:
    """`consentd webhooks list SLUG`, read."""
    listed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "consentd", "webhooks", "list", slug],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


async def test_a_name_an_ascii_only_output_cannot_show_is_escaped(
    database_url: str, owner_url: str, admin: AdminUseCases
) -> None:
    """`tenants list` on an ASCII-only output (PYTHONIOENCODING=ascii, LC_ALL=C on an older
    Python) died of a UnicodeEncodeError on "Acme Télécom SAS", a traceback (probe XB)."""
    slug = f"t-{uuid4().hex[:12]}"
    await admin.create_tenant(slug, "Acme Télécom SAS")
    env = {**command_env(database_url, owner_url), "PYTHONIOENCODING": "ascii"}
    argv = [sys.executable, "-m", "consentd", "tenants", "list"]
    done = await asyncio.to_thread(
        subprocess.run, argv, env=env, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert b"Acme T\\xe9l\\xe9com SAS" in done.stdout


async def test_a_key_is_not_made_for_a_closed_stdout(
    database_url: str, owner_url: str, tenant: Tenant, admin: AdminUseCases
) -> None:
    """`keys create ... >&-`: Python's print() wrote nowhere, exit 0, and the key was live with
    a token nobody had (probe YA). Refused before the key is made."""
    env = command_env(database_url, owner_url)
    argv = [sys.executable, "-m", "consentd", "keys", "create", tenant.slug]
    argv += ["--scope", "consent:check", "--name", "to-nowhere"]
    done = await asyncio.to_thread(_with_stdout_closed, argv, env)
    assert done.returncode == 1, done.stderr
    assert "standard output is closed (>&-)" in done.stderr
    assert [k for k in await admin.keys(tenant.slug) if k.name == "to-nowhere"] == []


async def test_no_command_answers_to_a_closed_stdout(
    database_url: str, owner_url: str, tenant: Tenant
) -> None:
    """Probe YE: `webhooks add ... >&-` made the webhook and lost its secret, and `tenants
    list`, `audit tree-head` or a retention run exited 0 with their answer written nowhere.
    Every command that answers on stdout refuses a closed one before doing anything."""
    env = command_env(database_url, owner_url)
    for command in (
        ("webhooks", "add", tenant.slug, "https://hooks.example/x"),
        ("tenants", "list"),
        ("audit", "tree-head", "--tenant", tenant.slug),
    ):
        argv = [sys.executable, "-m", "consentd", *command]
        done = await asyncio.to_thread(_with_stdout_closed, argv, env)
        assert done.returncode == 1, done.stderr
        assert "standard output is closed (>&-)" in done.stderr
    assert [w for w in await _webhooks(env, tenant.slug) if "hooks.example" in w["url"]] == []


def _with_stdout_closed(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=env, stderr=subprocess.PIPE, text=True, timeout=120, check=False,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
