"""The key files beside the embedded data: a lost, damaged or wrong `secret.key` (or a lost
`audit-signing.key`) stops `consentd serve` with one line naming the file, instead of a new key
made and served beside the data — nobody found by email, a withdrawal filed under a new subject
and forgotten once the right key was back. Real processes, a real embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import secrets
import shutil
import sys

import grpc
from consent.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)

from tests.e2e.test_embedded_recovery import _env, _grpc_port
from tests.e2e.test_processes import _folder, _server, _serving

TARGET = types_pb2.ConsentTarget(
    purpose="newsletter", channel=types_pb2.CHANNEL_EMAIL, scope=types_pb2.PARTY_SCOPE_FIRST_PARTY
)


async def _decision(port: int, key: str) -> int:
    metadata = (("authorization", f"Bearer {key}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        consents = consent_pb2_grpc.ConsentServiceStub(channel)
        request = consent_pb2.CheckConsentRequest(
            subject=types_pb2.SubjectRef(email="keyed@example.fr"), target=TARGET
        )
        return (await consents.CheckConsent(request, metadata=metadata)).decision


async def _record(port: int, key: str) -> None:
    metadata = (("authorization", f"Bearer {key}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        purpose = catalog_pb2.Purpose(
            purpose_id="newsletter", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT
        )
        await catalog_pb2_grpc.CatalogServiceStub(channel).PutPurpose(
            catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=metadata
        )
        await consent_pb2_grpc.ConsentServiceStub(channel).RecordConsent(
            consent_pb2.RecordConsentRequest(
                subject=types_pb2.SubjectIdentity(email="keyed@example.fr"),
                choices=[
                    consent_pb2.ConsentChoice(target=TARGET, state=types_pb2.CONSENT_STATE_GRANTED)
                ],
                source=types_pb2.SOURCE_PORTAL,
            ),
            metadata=metadata,
        )
        # A signed head (the sequencer signs one every so many entries; this asks for one now).
        audit = audit_pb2_grpc.AuditServiceStub(channel)
        head = await audit.GetAuditTreeHead(audit_pb2.GetAuditTreeHeadRequest(), metadata=metadata)
        assert head.head.signature


async def _refused(env: dict[str, str]) -> tuple[int, str]:
    """serve's exit code and what it said, for a start that must not serve."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "consentd", "serve", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(child.communicate(), 90)
    except TimeoutError:
        child.kill()  # it served: the test fails, and leaves no server behind
        await child.wait()
        raise AssertionError("serve started instead of refusing") from None
    assert child.returncode is not None
    return child.returncode, err.decode()


async def test_a_lost_damaged_or_wrong_key_file_stops_serve() -> None:
    data = _folder()
    env = _env(data)
    port = _grpc_port(env)
    home = data  # CONSENTD_DATA_DIR holds the key files
    try:
        async with _server(env) as serve:
            await _serving(port, serve)
            key = (home / "local-admin.key").read_text().strip()
            await _record(port, key)
            assert await _decision(port, key) == consent_pb2.DECISION_ALLOW
        secret = home / "secret.key"
        kept = secret.read_bytes()

        secret.unlink()
        code, said = await _refused(env)
        assert code == 2, said
        assert f"{secret} is missing" in said
        assert "Traceback" not in said
        assert not secret.exists()  # no new key was made beside the data

        secret.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        code, said = await _refused(env)
        assert (code, "does not open the data's keys" in said) == (2, True), said

        secret.write_text(kept.decode()[:10])
        code, said = await _refused(env)
        assert (code, "is damaged" in said, "Traceback" in said) == (2, True, False), said

        signing = home / "audit-signing.key"
        signing_kept = signing.read_bytes()
        secret.write_bytes(kept)
        signing.unlink()
        code, said = await _refused(env)
        assert (code, f"{signing} is missing" in said) == (2, True), said

        signing.write_bytes(signing_kept)
        async with _server(env) as serve:
            await _serving(port, serve)
            assert await _decision(port, key) == consent_pb2.DECISION_ALLOW
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_a_lost_key_stops_serve_when_only_erasures_remain() -> None:
    """Everyone recorded was erased: no data key is left to try, but the suppression entries are
    keyed under the secret. A new key was made and served: the erased address read no_record,
    and a system's grant brought the person back."""
    data = _folder()
    env = _env(data)
    port = _grpc_port(env)
    try:
        async with _server(env) as serve:
            await _serving(port, serve)
            key = (data / "local-admin.key").read_text().strip()
            await _record(port, key)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await rights_pb2_grpc.RightsServiceStub(channel).EraseSubject(
                    rights_pb2.EraseSubjectRequest(
                        subject=types_pb2.SubjectRef(email="keyed@example.fr"), actor="dpo"
                    ),
                    metadata=(("authorization", f"Bearer {key}"),),
                )
        (data / "secret.key").unlink()
        code, said = await _refused(env)
        assert (code, "secret.key is missing" in said) == (2, True), said
    finally:
        shutil.rmtree(data, ignore_errors=True)
