"""`consentd serve` as a newcomer runs it: embedded PostgreSQL, a non-Python client, SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "node_modules" / ".bin" / "buf"
TARGET = {"purpose": "newsletter", "channel": "CHANNEL_EMAIL", "scope": "PARTY_SCOPE_FIRST_PARTY"}


@dataclass(frozen=True)
class Served:
    """A running `consentd serve` child: its gRPC and HTTP ports, data folder and env."""

    child: subprocess.Popen[str]
    port: int
    data: Path
    env: dict[str, str]
    http_port: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _buf_curl(
    port: int, method: str, body: dict[str, Any], key: str = ""
) -> subprocess.CompletedProcess[str]:
    argv = [str(BUF), "curl", "--http2-prior-knowledge", "--protocol", "grpc"]
    if key:
        argv += ["-H", f"authorization: Bearer {key}"]
    argv += ["-d", json.dumps(body), f"http://127.0.0.1:{port}/{method}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def _call(port: int, method: str, body: dict[str, Any], key: str = "") -> dict[str, Any]:
    done = _buf_curl(port, method, body, key)
    assert done.returncode == 0, done.stdout + done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "consentd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _admin_commands_share_the_running_server(
    port: int, env: dict[str, str], check: dict[str, Any]
) -> None:
    """The admin CLI attaches to the PostgreSQL `serve` runs: a consent:check key checks,
    may not record, and stops working once revoked."""
    issued = _cli(env, "keys", "create", "local", "--scope", "consent:check", "--name", "tool")
    key_id = issued.split()[1]
    key = next(line.split()[1] for line in issued.splitlines() if line.startswith("key "))
    assert _call(port, "consent.v1.ConsentService/CheckConsent", check, key)["decision"]
    denied = _buf_curl(port, "consent.v1.ConsentService/WithdrawConsent", {}, key)
    assert '"permission_denied"' in denied.stdout + denied.stderr
    assert f"{key_id} live consent:check 'tool'" in _cli(env, "keys", "list", "local")
    _cli(env, "keys", "revoke", "local", key_id)
    assert f"{key_id} revoked" in _cli(env, "keys", "list", "local")
    assert key not in _cli(env, "keys", "list", "local")


@pytest.fixture
def served() -> Iterator[Served]:
    """A `consentd serve` child with its own data folder, waited for until health is SERVING."""
    if not BUF.exists():
        pytest.fail("node_modules/.bin/buf is missing: run `make setup`")
    data = Path(tempfile.mkdtemp(prefix="consentd-serve-"))
    data.chmod(0o711)
    port, http_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "CONSENTD_DATA_DIR": str(data),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
    }
    env["CONSENTD_LOG_FORMAT"] = "json"
    # The child sets its own (this process's import of consentd set it here too).
    env.pop("GRPC_VERBOSITY", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "consentd", "serve"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while _buf_curl(port, "grpc.health.v1.Health/Check", {}).returncode != 0:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "consentd serve did not become healthy in 60 s"
            time.sleep(0.3)
        yield Served(child, port, data, env, http_port)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr is not None:  # left open by a failed test, a later one's GC warned
            child.stderr.close()
        shutil.rmtree(data, ignore_errors=True)


def test_serve_round_trip_with_buf_curl_then_sigterm(
    served: Served,
) -> None:
    """The README first call works through buf curl; SIGTERM stops server and PostgreSQL."""
    child, port, data, env = served.child, served.port, served.data, served.env
    local_key = _cli(env, "local-key").strip()
    refused = _buf_curl(port, "consent.v1.CatalogService/ListPurposes", {})
    assert refused.returncode != 0
    assert '"unauthenticated"' in refused.stdout + refused.stderr
    assert _call(port, "grpc.health.v1.Health/Check", {"service": "consent.v1.ConsentService"}) == {
        "status": "SERVING"
    }
    purpose = {"purposeId": "newsletter", "lawfulBasis": "LAWFUL_BASIS_CONSENT"}
    _call(port, "consent.v1.CatalogService/PutPurpose", {"purpose": purpose}, local_key)
    grant = {"target": TARGET, "state": "CONSENT_STATE_GRANTED"}
    recorded = _call(
        port,
        "consent.v1.ConsentService/RecordConsent",
        {"subject": {"email": "jeanne@example.fr"}, "choices": [grant], "source": "SOURCE_PORTAL"},
        local_key,
    )
    check = {"subject": {"email": "jeanne@example.fr"}, "target": TARGET}
    allowed = _call(port, "consent.v1.ConsentService/CheckConsent", check, local_key)
    assert (allowed["decision"], allowed["eventId"]) == (
        "DECISION_ALLOW",
        recorded["events"][0]["eventId"],
    )
    withdraw = {
        "subject": {"email": "jeanne@example.fr"},
        "targets": [TARGET],
        "source": "SOURCE_PORTAL",
    }
    _call(port, "consent.v1.ConsentService/WithdrawConsent", withdraw, local_key)
    denied = _call(port, "consent.v1.ConsentService/CheckConsent", check, local_key)
    assert (denied["decision"], denied["reason"]) == ("DECISION_DENY", "REASON_WITHDRAWN")

    _admin_commands_share_the_running_server(port, env, check)
    _gzip_calls_write_no_plain_lines(port)

    pid_file = data / "postgres" / "postmaster.pid"
    postmaster = int(pid_file.read_text().split()[0])
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert events[-3:] == ["stopping", "stopped", "embedded_postgres_stopped"]
    # Which signal stopped it (probe BP: a SIGHUP stopped it, unexplained).
    assert [line.get("signal") for line in lines if line["event"] == "stopping"] == ["SIGTERM"]
    with pytest.raises(ProcessLookupError):
        os.kill(postmaster, 0)
    assert "jeanne@example.fr" not in stderr
    # Every line is the JSON log's: gRPC's core wrote one of its own per gzip call (probe BQ).
    assert [line for line in stderr.splitlines() if not line.startswith("{")] == []


def _gzip_calls_write_no_plain_lines(port: int) -> None:
    """Calls compressed with gzip, which the server refuses (UNIMPLEMENTED) without a key."""
    with grpc.insecure_channel(f"127.0.0.1:{port}", compression=grpc.Compression.Gzip) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        for _ in range(5):
            with pytest.raises(grpc.RpcError) as refused:
                health.Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def _readme_curl_block() -> str:
    """The shell block that follows the `curl-example` marker in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split("<!-- curl-example -->", 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


def test_readme_curl_connect_json_post_works(
    served: Served,
) -> None:
    """The README's curl commands (Connect JSON over HTTP/1.1, with a cookies:write key made by
    `consentd keys create`) run as written against `consentd serve`: the POST stores an
    acceptance valid 12 months, the read gives it back VALID; without the key it is 401."""
    child, port, http_port = served.child, served.port, served.http_port
    script = _readme_curl_block().replace("127.0.0.1:8080", f"127.0.0.1:{http_port}")
    done = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-euo", "pipefail", "-c", script],
        env=served.env,  # its CONSENTD_DATA_DIR: the block's `consentd keys create` finds serve
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answers, text, decoder = [], done.stdout.strip(), json.JSONDecoder()
    while text:
        answer, end = decoder.raw_decode(text)
        answers.append(answer)
        text = text[end:].strip()
    assert len(answers) == 2, done.stdout
    recorded, read = answers
    assert recorded["status"] == "COOKIE_CHOICE_STATUS_VALID"
    assert recorded["choice"]["grantedCategories"] == [
        "analytics",
        "marketing",
        "necessary",
        "personalisation",
    ]
    assert recorded["consentMode"]["ad_storage"] == "granted"
    assert read["status"] == "COOKIE_CHOICE_STATUS_VALID"
    assert read["choice"]["expiresAt"] == recorded["choice"]["expiresAt"]
    native = _call(
        port,
        "consent.v1.CookieService/GetCookieChoice",
        {"visitorId": recorded["choice"]["visitorId"]},
        _cli(served.env, "local-key").strip(),
    )
    assert native["choice"]["choiceId"] == recorded["choice"]["choiceId"]
    keyless = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/consent.v1.CookieService/GetCookieChoice",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(keyless, timeout=30)  # noqa: S310
    with refused.value:
        assert refused.value.code == 401
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == 0
