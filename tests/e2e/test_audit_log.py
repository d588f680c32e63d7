"""The audit log covers the facts, end to end: writes through the real server, proofs checked by
the standalone verifier of docs/audit.md, and every kind of tampering by the database owner
caught by both `consentd audit verify` and the VerifyAuditChain RPC."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import audit_pb2, audit_pb2_grpc, consent_pb2, consent_pb2_grpc, types_pb2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.merkle import verify_consistency
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs, bearer, command_env, owner
from tests.e2e.helpers import by_email, check, grant, put_purpose, record, target, withdraw
from tests.e2e.security_helpers import register_portal

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"
NEWSLETTER = target("newsletter")
SMS = target("newsletter", types_pb2.CHANNEL_SMS)


@pytest.fixture
def audit(channel: grpc.aio.Channel) -> audit_pb2_grpc.AuditServiceStub:
    return audit_pb2_grpc.AuditServiceStub(channel)


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first Python block of docs/audit.md, as a script: the documented check itself."""
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert block is not None
    path = tmp_path_factory.mktemp("verifier") / "verify_inclusion.py"
    path.write_text(block.group(1))
    assert "import hashlib, json, sys" in block.group(1)  # hashlib only
    return path


@pytest.fixture(scope="module")
def whole_verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both Python blocks of docs/audit.md in one file, as the page says to run them (the
    second used the first's names, and a `sys.exit` before it skipped it; probe AJ)."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    path = tmp_path_factory.mktemp("verifier") / "verify_all.py"
    path.write_text(blocks[0] + blocks[1])
    return path


def _verify(
    script: Path, proof: dict[str, Any], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script)],
        input=json.dumps(proof),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _document(response: audit_pb2.ProveAuditInclusionResponse) -> dict[str, Any]:
    """The RPC's proof in the CLI's document shape (the verifier reads either)."""
    return {
        "leaf_input": response.leaf_input,
        "leaf_index": response.leaf_index,
        "tree_size": response.head.tree_size,
        "audit_path": list(response.audit_path),
        "root_hash": response.head.root_hash,
        "head": {"signed_message": response.head.signed_message},
    }


def _signed(response: audit_pb2.ProveAuditInclusionResponse) -> bool:
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(response.public_key))
    try:
        key.verify(bytes.fromhex(response.head.signature), response.head.signed_message.encode())
    except InvalidSignature:
        return False
    return True


@pytest.fixture
def cli_env(database_url: str, owner_url: str) -> dict[str, str]:
    return command_env(database_url, owner_url)


async def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "consentd", "audit", *args]
    return await asyncio.to_thread(
        subprocess.run, argv, env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def _as_owner(app: App, statement: str, **params: Any) -> None:
    """One edit by the database owner, triggers (append-only guards, foreign keys) off."""
    async with owner(app).begin() as conn:
        await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        await conn.execute(sa.text(statement), params)


async def _writes(stubs: Stubs) -> dict[str, str]:
    """A grant of two targets, a refusal and a withdrawal; event ids by name."""
    await put_purpose(stubs, "newsletter")
    ana = await record(
        stubs, types_pb2.SubjectIdentity(email="ana@example.fr"), grant(NEWSLETTER), grant(SMS)
    )
    bob = await record(stubs, types_pb2.SubjectIdentity(email="bob@example.fr"), grant(SMS))
    gone = await withdraw(stubs, by_email("ana@example.fr"), NEWSLETTER)
    return {
        "granted": ana.events[0].event_id,
        "sms": ana.events[1].event_id,
        "bob": bob.events[0].event_id,
        "withdrawn": gone.events[0].event_id,
    }


async def test_an_inclusion_proof_verifies_outside_consentd_until_the_event_is_altered(
    app: App,
    stubs: Stubs,
    audit: audit_pb2_grpc.AuditServiceStub,
    *,
    tenant: Tenant,
    verifier: Path,
    whole_verifier: Path,
    cli_env: dict[str, str],
) -> None:
    """The withdrawal's proof (RPC and CLI) passes the documented hashlib-only check, names the
    withdrawal, and its head's signature verifies; once the owner flips the event's state, the
    proof at the same signed head fails the check."""
    events = await _writes(stubs)
    request = audit_pb2.ProveAuditInclusionRequest(fact_id=events["withdrawn"])
    proof = await audit.ProveAuditInclusion(request, metadata=stubs.metadata)
    done = _verify(verifier, _document(proof))
    assert done.returncode == 0, done.stdout + done.stderr
    proven = json.loads(done.stdout)
    assert (proven["event_id"], proven["state"]) == (events["withdrawn"], "withdrawn")
    assert _signed(proof)

    cli = await _cli(cli_env, "prove", "--tenant", tenant.slug, "--fact", events["withdrawn"])
    assert cli.returncode == 0, cli.stderr
    document = json.loads(cli.stdout)
    assert _verify(verifier, document).returncode == 0
    trusted = {"TRUSTED_KEY": document["public_key"], "TENANT_ID": str(tenant.tenant_id)}
    whole = _verify(whole_verifier, document, trusted)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    other_key = {**trusted, "TRUSTED_KEY": "00" * 32}
    assert _verify(whole_verifier, document, other_key).returncode != 0
    # Explicit checks: under `python -O` a wrong tenant passed the asserts (probe AK).
    other_tenant = {**trusted, "TENANT_ID": str(uuid4()), "PYTHONOPTIMIZE": "1"}
    assert _verify(whole_verifier, document, other_tenant).returncode != 0

    await _as_owner(
        app,
        "UPDATE consent_events SET state = 'granted' WHERE tenant_id = :t AND event_id = :e",
        t=tenant.tenant_id,
        e=events["withdrawn"],
    )
    request.tree_size = proof.head.tree_size
    again = await audit.ProveAuditInclusion(request, metadata=stubs.metadata)
    assert again.head.root_hash == proof.head.root_hash  # the same signed head
    failed = _verify(verifier, _document(again))
    assert (failed.returncode, failed.stdout.strip()) == (1, "NOT PROVEN")


async def test_an_inclusion_proof_fails_once_the_signed_head_is_altered(
    app: App, stubs: Stubs, audit: audit_pb2_grpc.AuditServiceStub, tenant: Tenant, verifier: Path
) -> None:
    """A proof verifies; after the owner rewrites the stored head's root, the proof against
    that head fails the check and the head's signature no longer verifies."""
    events = await _writes(stubs)
    request = audit_pb2.ProveAuditInclusionRequest(fact_id=events["bob"])
    proof = await audit.ProveAuditInclusion(request, metadata=stubs.metadata)
    assert _verify(verifier, _document(proof)).returncode == 0
    await _as_owner(
        app,
        "UPDATE audit_tree_heads SET root_hash = sha256(root_hash) "
        "WHERE tenant_id = :t AND tree_size = :n",
        t=tenant.tenant_id,
        n=proof.head.tree_size,
    )
    request.tree_size = proof.head.tree_size
    again = await audit.ProveAuditInclusion(request, metadata=stubs.metadata)
    assert _verify(verifier, _document(again)).returncode == 1
    assert not _signed(again)


async def test_a_consistency_proof_links_an_older_signed_head_to_the_current_one(
    stubs: Stubs, audit: audit_pb2_grpc.AuditServiceStub
) -> None:
    """Heads taken before and after more writes: the consistency proof verifies (RFC 9162
    §2.1.4.2, with the service's own module)."""
    await _writes(stubs)
    old = await audit.GetAuditTreeHead(audit_pb2.GetAuditTreeHeadRequest(), metadata=stubs.metadata)
    await withdraw(stubs, by_email("bob@example.fr"), SMS)
    proof = await audit.ProveAuditConsistency(
        audit_pb2.ProveAuditConsistencyRequest(first=old.head.tree_size), metadata=stubs.metadata
    )
    assert proof.first.root_hash == old.head.root_hash
    assert proof.second.tree_size > old.head.tree_size
    path = [bytes.fromhex(h) for h in proof.consistency_path]
    assert verify_consistency(
        proof.first.tree_size,
        proof.second.tree_size,
        bytes.fromhex(proof.first.root_hash),
        bytes.fromhex(proof.second.root_hash),
        path,
    )


@pytest.fixture(scope="module")
def consistency_verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The third Python block of docs/audit.md: the documented consistency check."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    path = tmp_path_factory.mktemp("verifier") / "verify_consistency.py"
    path.write_text(blocks[2])
    assert "def consistent(" in blocks[2]
    return path


async def test_the_documented_consistency_check_passes_every_kept_size_and_fails_forgeries(
    stubs: Stubs, tenant: Tenant, cli_env: dict[str, str], consistency_verifier: Path
) -> None:
    """Probe GA: the docs named RFC 9162 and no code. The page's block checks the proof from
    every size the tenant's log had to its size now (powers of two included), and refuses a
    kept root of another log, a path altered, and the new head of another tenant."""
    await _writes(stubs)
    await withdraw(stubs, by_email("bob@example.fr"), SMS)
    now = json.loads((await _cli(cli_env, "prove", "--tenant", tenant.slug, "--first", "1")).stdout)
    size = now["second"]["tree_size"]
    assert size >= 5
    for first in range(1, size + 1):
        cli = await _cli(cli_env, "prove", "--tenant", tenant.slug, "--first", str(first))
        document = json.loads(cli.stdout)
        kept = {
            "KEPT_SIZE": str(first),
            "KEPT_ROOT": document["first"]["root_hash"],  # in real use: the head you kept
            "TRUSTED_KEY": document["public_key"],
            "TENANT_ID": str(tenant.tenant_id),
        }
        done = _verify(consistency_verifier, document, kept)
        assert done.returncode == 0, (first, done.stdout + done.stderr)
        assert done.stdout.startswith(f"CONSISTENT: size {size} extends your {first}")
        other_root = {**kept, "KEPT_ROOT": "00" * 32}
        assert _verify(consistency_verifier, document, other_root).returncode != 0
        if document["consistency_path"]:
            altered = {
                **document,
                "consistency_path": ["00" * 32, *document["consistency_path"][1:]],
            }
            assert _verify(consistency_verifier, altered, kept).returncode != 0
    other_tenant = {**kept, "TENANT_ID": str(uuid4())}
    assert _verify(consistency_verifier, document, other_tenant).returncode != 0


async def test_a_consistency_proof_past_the_log_names_the_field_sent(
    stubs: Stubs, audit: audit_pb2_grpc.AuditServiceStub
) -> None:
    """`second` beyond the log said "tree_size", a field the request does not have (probe V)."""
    await _writes(stubs)
    for request, field in (
        (audit_pb2.ProveAuditConsistencyRequest(first=1, second=10**9), "second"),
        (audit_pb2.ProveAuditConsistencyRequest(first=10**9), "first"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await audit.ProveAuditConsistency(request, metadata=stubs.metadata)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert str(raised.value.details()).startswith(f"{field}: must be between 1 and ")


# Tampering by the database owner ---------------------------------------------------------------

_ENTRY = "tenant_id = :t AND fact_id = :e"  # the withdrawal's log entry
_COLUMNS = "prev_hash, entry_hash, recorded_at, action, subject_id, payload, format, fact_id"


def _edit(assignment: str) -> str:
    return f"UPDATE audit_entries SET {assignment} WHERE {_ENTRY}"  # noqa: S608 - constants


TAMPERING = {
    "flip a state in consent_events": (
        "UPDATE consent_events SET state = 'granted' WHERE tenant_id = :t AND event_id = :e"
    ),
    # Whether its caller spoke for the person (migration 0033): a withdrawal's is not kept.
    "say an event was attested": (
        "UPDATE consent_events SET attested = true WHERE tenant_id = :t AND event_id = :e"
    ),
    # When the person decided (migration 0040): backdating a "no" would move it before a
    # contact point changed hands.
    "backdate when an event was decided": (
        "UPDATE consent_events SET decided_at = recorded_at - interval '1 day' "
        "WHERE tenant_id = :t AND event_id = :e"
    ),
    "flip a state in current_consents": (
        "UPDATE current_consents SET state = 'granted' WHERE tenant_id = :t AND event_id = :e"
    ),
    "delete an event": (
        "DELETE FROM current_consents WHERE tenant_id = :t AND event_id = :e; "
        "DELETE FROM consent_changes WHERE tenant_id = :t AND event_id = :e; "
        "DELETE FROM consent_events WHERE tenant_id = :t AND event_id = :e"
    ),
    "log row: payload": _edit("""payload = payload || '{"state": "granted"}'"""),
    "log row: prev_hash": _edit("prev_hash = sha256(prev_hash)"),
    "log row: entry_hash": _edit("entry_hash = sha256(entry_hash)"),
    "log row: recorded_at": _edit("recorded_at = recorded_at + interval '1 microsecond'"),
    "log row: action": _edit("action = 'consent.recorded'"),
    "log row: subject_id": _edit("subject_id = gen_random_uuid()"),
    "log row: fact_id": _edit("fact_id = gen_random_uuid()"),
    "log row: format": _edit("format = 1"),
    "log row: seq": _edit("seq = seq + 1000"),
    "log row: tenant_id": _edit("tenant_id = gen_random_uuid()"),
    "truncate the log": (
        "DELETE FROM audit_entries WHERE tenant_id = :t AND seq >= "
        "(SELECT seq FROM audit_entries WHERE tenant_id = :t AND fact_id = :e)"
    ),
    # The withdrawal's entry and the one before it swap places (every column but seq).
    "reorder two entries": (
        f"UPDATE audit_entries a SET ({_COLUMNS}) = (SELECT {_COLUMNS} FROM audit_entries b "  # noqa: S608
        "WHERE b.tenant_id = a.tenant_id AND b.seq = m.s + (CASE WHEN a.seq = m.s THEN -1 "
        "ELSE 0 END)) "
        "FROM (SELECT seq AS s FROM audit_entries WHERE tenant_id = :t AND fact_id = :e) m "
        "WHERE a.tenant_id = :t AND a.seq IN (m.s - 1, m.s)"
    ),
    "forge an entry": (
        f"INSERT INTO audit_entries (tenant_id, seq, {_COLUMNS}) SELECT tenant_id, seq + 1, "  # noqa: S608
        "entry_hash, sha256(entry_hash), recorded_at, action, subject_id, payload, 2, "
        "gen_random_uuid() FROM audit_entries WHERE tenant_id = :t ORDER BY seq DESC LIMIT 1"
    ),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
async def test_each_kind_of_tampering_is_caught_by_the_cli_and_the_rpc(
    app: App,
    stubs: Stubs,
    audit: audit_pb2_grpc.AuditServiceStub,
    *,
    tenant: Tenant,
    kind: str,
    cli_env: dict[str, str],
) -> None:
    """The log verifies before; after the owner's edit, the RPC and `consentd audit verify`
    both say not ok and name the bad entry or the fact (the withdrawal) that differs."""
    events = await _writes(stubs)
    verify = audit_pb2.VerifyAuditChainRequest()
    assert (await audit.VerifyAuditChain(verify, metadata=stubs.metadata)).ok
    for statement in TAMPERING[kind].split("; "):
        await _as_owner(app, statement, t=tenant.tenant_id, e=events["withdrawn"])

    report = await audit.VerifyAuditChain(verify, metadata=stubs.metadata)
    assert not report.ok, kind
    named = {p.fact_id for p in report.fact_problems}
    assert report.bad_seq or events["withdrawn"] in named, (kind, report)
    cli = await _cli(cli_env, "verify", "--tenant", tenant.slug)
    assert cli.returncode == 1, (kind, cli.stdout, cli.stderr)
    printed = json.loads(cli.stdout)
    assert printed["ok"] is False
    assert printed["bad_seq"] == (report.bad_seq or None)
    assert len(printed["facts"]["problems"]) == len(report.fact_problems)


async def test_cli_refuses_out_of_range_positions_and_unreadable_key_files(
    cli_env: dict[str, str], tenant: Tenant, tmp_path: Path
) -> None:
    """`audit prove --seq 9223372036854775808` and `issuers put --public-key` naming a missing
    file or a folder were uncaught tracebacks (found by a probe): messages, no traceback."""
    too_far = await _cli(cli_env, "prove", "--tenant", tenant.slug, "--seq", str(2**63))
    assert too_far.returncode == 2
    assert "must be from 0 to 9223372036854775807" in too_far.stderr
    # /dev/zero was read whole: 23 GB, and the host's OOM killer (probe XB).
    said = {tmp_path / "missing.pem": "cannot read", tmp_path: "cannot read"}
    said[Path("/dev/zero")] = "is over 64 KiB: not a public key"
    for key, words in said.items():
        argv = [sys.executable, "-m", "consentd", "issuers", "put", tenant.slug]
        argv += ["--issuer", "https://portal.example", "--audience", "consentd"]
        argv += ["--public-key", str(key)]
        done = await asyncio.to_thread(
            subprocess.run, argv, env=cli_env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1, done.stderr
        assert f"{key}" in done.stderr, done.stderr
        assert words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


async def test_an_issuer_is_listed_and_removed_from_the_command_line(
    cli_env: dict[str, str], admin: AdminUseCases, tenant: Tenant, channel: grpc.aio.Channel
) -> None:
    """A compromised portal key could not be dropped: `issuers` had `put` alone. `issuers list`
    shows the tenant's issuers and `issuers remove` stops trusting one (a token of it is
    UNAUTHENTICATED; the removal is an audit entry); removing it again is a message, exit 1."""
    portal = await register_portal(admin, tenant)

    async def run(*argv: str) -> subprocess.CompletedProcess[str]:
        full = [sys.executable, "-m", "consentd", "issuers", *argv]
        return await asyncio.to_thread(
            subprocess.run, full, env=cli_env, capture_output=True, text=True, timeout=120
        )

    listed = await run("list", tenant.slug)
    assert listed.returncode == 0, listed.stderr
    assert f"{portal.issuer} audience={portal.audience}" in listed.stdout
    removed = await run("remove", tenant.slug, "--issuer", portal.issuer)
    assert removed.returncode == 0, removed.stderr
    assert (await run("list", tenant.slug)).stdout == ""
    again = await run("remove", tenant.slug, "--issuer", portal.issuer)
    assert again.returncode == 1
    assert f"has no issuer {portal.issuer!r}" in again.stderr
    stub = consent_pb2_grpc.ConsentServiceStub(channel)
    request = consent_pb2.GetSubjectConsentsRequest(
        subject=types_pb2.SubjectRef(external_id="never-used")
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetSubjectConsents(request, metadata=bearer(portal.token("never-used")))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_evidence_pack_proves_every_entry_about_one_person(
    stubs: Stubs, tenant: Tenant, verifier: Path, cli_env: dict[str, str]
) -> None:
    """`audit evidence --subject`: every kept entry about the person (here ana's two grants and
    her withdrawal, not bob's), each an inclusion document in one signed head that the
    documented hashlib check passes; a subject the log says nothing about exits 1 saying so."""
    events = await _writes(stubs)
    ana = (await check(stubs, by_email("ana@example.fr"), NEWSLETTER)).subject_id
    cli = await _cli(cli_env, "evidence", "--tenant", tenant.slug, "--subject", ana)
    assert cli.returncode == 0, cli.stderr
    pack = json.loads(cli.stdout)
    assert (pack["format"], pack["subject_id"]) == ("consentd-audit-evidence/1", ana)
    proven = []
    for entry in pack["entries"]:
        head = pack["head"]
        document = {**entry, "tree_size": head["tree_size"], "root_hash": head["root_hash"]}
        done = _verify(verifier, {**document, "head": head})
        assert done.returncode == 0, done.stdout + done.stderr
        proven.append(json.loads(done.stdout)["event_id"])
    assert proven == [events["granted"], events["sms"], events["withdrawn"]]
    nobody = await _cli(cli_env, "evidence", "--tenant", tenant.slug, "--subject", str(uuid4()))
    assert (nobody.returncode, "holds nothing about subject" in nobody.stderr) == (1, True)


async def test_a_checkpoint_signed_before_a_rotation_is_shown_with_its_own_key(
    app: App, stubs: Stubs, tenant: Tenant, database_url: str, owner_url: str
) -> None:
    """Probe YB: after the signing key changed (a rotation, a restore), `consentd audit
    checkpoint` with nothing new to sign handed out the head's checkpoint, signed by the old
    key, with the new key's `public_key`: its signature failed for anyone who trusted the
    document. It names the key that signed it (retired here), and the signature verifies."""
    await put_purpose(stubs, "newsletter")
    old = await app.audit.checkpoint(tenant)
    assert old is not None
    seed = os.urandom(32)
    env = {
        **command_env(database_url, owner_url),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(seed).decode(),
        "CONSENTD_AUDIT_RETIRED_KEYS": app.audit.public_key.hex(),
    }
    argv = [sys.executable, "-m", "consentd", "audit", "checkpoint", "--tenant", tenant.slug]
    done = await asyncio.to_thread(
        subprocess.run, argv, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["seq"], shown["key"]) == (old.seq, old.key_id)
    assert shown["public_key"] == app.audit.public_key.hex()
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(shown["public_key"]))
    key.verify(bytes.fromhex(shown["signature"]), shown["signed_message"].encode())
