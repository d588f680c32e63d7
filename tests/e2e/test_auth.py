"""Callers authenticate with an API key: whatever is wrong with a credential (missing, malformed,
unknown, revoked, expired) the answer is the same UNAUTHENTICATED, and a key never appears in
clear in the database or the logs."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import grpc
import pytest
from consent.v1 import catalog_pb2, consent_pb2, types_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy.engine import make_url
from structlog.testing import capture_logs

from consentd.app.admin import AdminUseCases
from consentd.app.auth import AUTHORIZATION
from consentd.domain.keys import new_api_key, parse_api_key
from consentd.domain.tenancy import Scope, Tenant
from consentd.postgres.embedded import find_bindir
from tests.conftest import Stubs, bearer
from tests.e2e.helpers import by_email, check, grant, put_purpose, record, target
from tests.e2e.security_helpers import answer_of, fails, issue

Metadata = tuple[tuple[str, str], ...]
MESSAGE = "missing or invalid credentials"
# The authenticator trusts a verified key this long (app/auth.py CACHE_SECONDS is 5 s).
REVOCATION_DEADLINE = 8.0


def _with_secret(token: str, secret: str) -> str:
    """The same public prefix (tenant and key id) with another secret."""
    prefix, _, _ = token.rpartition("_")
    return f"{prefix}_{secret}"


def _other_secret(token: str) -> str:
    key = parse_api_key(token)
    assert key is not None
    other = new_api_key(key.tenant_id).secret
    assert other != key.secret
    assert len(other) == len(key.secret)
    return _with_secret(token, other)


async def _list_purposes(stubs: Stubs, metadata: Metadata) -> Any:
    return await stubs.catalog.ListPurposes(catalog_pb2.ListPurposesRequest(), metadata=metadata)


async def _refusal(stubs: Stubs, metadata: Metadata) -> tuple[Any, ...]:
    return answer_of(await fails(_list_purposes(stubs, metadata)))


@pytest.fixture
async def refused(stubs: Stubs) -> tuple[Any, ...]:
    """The answer to a call with no credentials at all: what every bad credential must get."""
    answer = await _refusal(stubs, ())
    code, message, details = answer
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert message == MESSAGE
    assert details is not None
    return answer


async def test_bad_credentials_all_get_the_same_answer(
    stubs: Stubs, admin: AdminUseCases, tenant: Tenant, refused: tuple[Any, ...]
) -> None:
    """Malformed, unknown, wrongly signed, foreign and expired credentials all get exactly the
    answer of no credentials: UNAUTHENTICATED, the same message and the same details."""
    good = await issue(admin, tenant, Scope.CHECK.value)
    expired, _ = await admin.issue_key(
        tenant.slug, [Scope.CHECK.value], expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    variants: dict[str, Metadata] = {
        "empty header": ((AUTHORIZATION, ""),),
        "scheme only": ((AUTHORIZATION, "Bearer"),),
        "scheme and blank": ((AUTHORIZATION, "Bearer   "),),
        "basic": ((AUTHORIZATION, "Basic x"),),
        "basic with a key": ((AUTHORIZATION, f"Basic {good}"),),
        "no scheme": ((AUTHORIZATION, good),),
        "garbage key": bearer("ck_garbage"),
        "garbage jwt": bearer("a.b.c"),
        "wrong secret": bearer(_other_secret(good)),
        "truncated secret": bearer(good[:-1]),
        "unknown key id": bearer(_with_secret(new_api_key(tenant.tenant_id).token, "a" * 32)),
        "tenant that does not exist": bearer(new_api_key(uuid4()).token),
        "expired": bearer(expired.token),
        "other header": (("x-api-key", good),),
    }
    # The good key works, so the refusals are about the credential, not the call.
    await _list_purposes(stubs, bearer(good))
    answers = {name: await _refusal(stubs, metadata) for name, metadata in variants.items()}
    assert {name: a for name, a in answers.items() if a != refused} == {}

    status = rpc_status.from_call(await fails(_list_purposes(stubs, bearer("ck_garbage"))))
    assert status is not None
    infos = [error_details_pb2.ErrorInfo() for _ in status.details]
    assert [d.Unpack(i) for d, i in zip(status.details, infos, strict=True)] == [True]
    assert infos[0].reason == "UNAUTHENTICATED"


async def test_refusal_does_not_depend_on_the_rpc(stubs: Stubs, refused: tuple[Any, ...]) -> None:
    """A write, a check and a catalogue call without valid credentials get the same answer."""
    calls = [
        stubs.consent.RecordConsent(consent_pb2.RecordConsentRequest(), metadata=()),
        stubs.consent.CheckConsent(
            consent_pb2.CheckConsentRequest(subject=by_email("a@example.fr")),
            metadata=bearer("ck_garbage"),
        ),
        stubs.catalog.PutPurpose(catalog_pb2.PutPurposeRequest(), metadata=(("a", "b"),)),
    ]
    for call in calls:
        assert answer_of(await fails(call)) == refused


async def test_revocation_takes_effect_within_seconds(
    stubs: Stubs, admin: AdminUseCases, tenant: Tenant, refused: tuple[Any, ...]
) -> None:
    """A revoked key, working (and cached) a moment ago, is refused with the same answer within
    a few seconds; the tenant's other live key keeps working (rotation overlap)."""
    key, stored = await admin.issue_key(tenant.slug, [Scope.CHECK.value], name="to revoke")
    successor = await issue(admin, tenant, Scope.CHECK.value)
    await _list_purposes(stubs, bearer(key.token))
    await _list_purposes(stubs, bearer(successor))
    live = [k.key_id for k in await admin.keys(tenant.slug) if k.revoked_at is None]
    assert stored.key_id in live

    await admin.revoke_key(tenant.slug, stored.key_id)
    revoked_at = time.monotonic()
    with capture_logs() as logs:
        while True:
            try:
                await _list_purposes(stubs, bearer(key.token))
            except grpc.aio.AioRpcError as error:
                answer = answer_of(error)
                break
            waited = time.monotonic() - revoked_at
            assert waited < REVOCATION_DEADLINE, f"revoked key still accepted after {waited:.1f} s"
            await asyncio.sleep(0.25)
    assert answer == refused
    # The operator is told which key is still used, never its secret (probe QD).
    said = [e for e in logs if e["event"] == "api_key_refused"]
    assert [(e["key_id"], e["reason"], e["tenant"]) for e in said] == [
        (stored.key_id, "revoked", tenant.slug)
    ], logs
    assert key.secret not in repr(logs)
    await _list_purposes(stubs, bearer(successor))
    revoked = next(k for k in await admin.keys(tenant.slug) if k.key_id == stored.key_id)
    assert revoked.revoked_at is not None


async def test_keys_are_random_and_shown_once(admin: AdminUseCases, tenant: Tenant) -> None:
    """Each issued key is new (>= 128 random bits in its secret) and the stored record holds
    only its SHA-256, never the token or secret."""
    issued = [await admin.issue_key(tenant.slug, [Scope.CHECK.value]) for _ in range(3)]
    secrets_ = {key.secret for key, _ in issued}
    assert len(secrets_) == 3
    for key, stored in issued:
        assert len(key.secret) * 5 >= 128  # base32: 5 bits a character
        assert key.secret not in repr(stored)
        assert key.token not in repr(stored)
        assert key.secret not in repr(key)
        assert stored.secret_sha256 == key.digest
        assert len(stored.secret_sha256) == 32


async def _dump(owner_url: str) -> str:
    url = make_url(owner_url)
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    process = await asyncio.create_subprocess_exec(
        str(find_bindir() / "pg_dump"),
        "--host",
        url.host or "127.0.0.1",
        "--port",
        str(url.port),
        "--username",
        url.username or "",
        "--no-password",
        str(url.database),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode(errors="replace")
    return out.decode(errors="replace")


async def test_keys_never_in_a_database_dump(
    stubs: Stubs, admin: AdminUseCases, tenant: Tenant, owner_url: str
) -> None:
    """After issuing keys and calling with them, a pg_dump of the database holds their public
    key ids but neither a full token nor a secret."""
    issued = [
        (await admin.issue_key(tenant.slug, [scope], name=f"dump {scope}"))[0]
        for scope in (Scope.CHECK.value, Scope.WRITE.value, Scope.ADMIN.value)
    ]
    writer = bearer(issued[1].token)
    await put_purpose(replace(stubs, metadata=bearer(issued[2].token)), "newsletter")
    await record(
        replace(stubs, metadata=writer),
        types_pb2.SubjectIdentity(email="dump@example.fr"),
        grant(target("newsletter")),
    )
    await stubs.consent.RecordConsent(
        consent_pb2.RecordConsentRequest(
            subject=types_pb2.SubjectIdentity(email="dump2@example.fr"),
            choices=[grant(target("newsletter"))],
            source=types_pb2.SOURCE_API,
        ),
        metadata=(*writer, ("idempotency-key", "dump-test")),
    )
    await check(
        replace(stubs, metadata=bearer(issued[0].token)),
        by_email("dump@example.fr"),
        target("newsletter"),
    )
    dump = await _dump(owner_url)
    for key in issued:
        assert key.key_id in dump  # the dump does hold the keys' rows
        assert key.token not in dump
        assert key.secret not in dump
        assert key.secret.upper() not in dump
        assert key.digest.hex() in dump  # only the digest is stored


async def test_keys_never_in_the_logs(
    stubs: Stubs, admin: AdminUseCases, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    """Issuing a key, calls that use it (successful, refused, rejected as malformed) and a
    wrong-secret variant log neither the token nor its secret, in structlog or stdlib logs."""
    caplog.set_level(logging.DEBUG)
    with capture_logs() as entries:
        key, _ = await admin.issue_key(tenant.slug, [Scope.WRITE.value], name="logged")
        metadata = bearer(key.token)
        writer = replace(stubs, metadata=metadata)
        await put_purpose(stubs, "newsletter")
        await record(
            writer, types_pb2.SubjectIdentity(email="log@example.fr"), grant(target("newsletter"))
        )
        await fails(put_purpose(writer, "forbidden"))  # PERMISSION_DENIED
        await fails(check(writer, by_email("log@example.fr"), target("unknown")))  # NOT_FOUND
        await fails(_list_purposes(stubs, bearer(_other_secret(key.token))))
        await fails(_list_purposes(stubs, ((AUTHORIZATION, f"Basic {key.token}"),)))
    assert any(e.get("event") == "rpc" for e in entries)
    logged = repr(entries) + caplog.text + repr([r.__dict__ for r in caplog.records])
    assert key.token not in logged
    assert key.secret not in logged


async def test_key_of_one_tenant_never_opens_another(
    stubs: Stubs, admin: AdminUseCases, tenant: Tenant, refused: tuple[Any, ...]
) -> None:
    """A key's secret grafted onto another tenant's prefix (or another key id) is refused."""
    other = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    mine = parse_api_key(await issue(admin, tenant, Scope.ADMIN.value))
    theirs = parse_api_key(await issue(admin, other, Scope.ADMIN.value))
    assert mine is not None
    assert theirs is not None
    grafted = [
        _with_secret(theirs.token, mine.secret),
        _with_secret(mine.token, theirs.secret),
        f"ck_{theirs.token.split('_')[1]}_{mine.key_id}_{mine.secret}",
        f"ck_{mine.token.split('_')[1]}_{theirs.key_id}_{theirs.secret}",
    ]
    for token in grafted:
        assert await _refusal(stubs, bearer(token)) == refused


async def test_expired_key_is_refused_even_when_cached(
    stubs: Stubs, admin: AdminUseCases, tenant: Tenant, refused: tuple[Any, ...]
) -> None:
    """A key used (and so cached) just before its expiry is refused right after it."""
    expires_at = datetime.now(UTC) + timedelta(seconds=3)
    key, _ = await admin.issue_key(tenant.slug, [Scope.CHECK.value], expires_at=expires_at)
    await _list_purposes(stubs, bearer(key.token))
    await asyncio.sleep((expires_at - datetime.now(UTC)).total_seconds() + 0.5)
    assert await _refusal(stubs, bearer(key.token)) == refused
