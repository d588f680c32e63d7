"""`consentd serve` against a PostgreSQL that takes TLS, the URL asking for it (probe EB): every
URL form a managed PostgreSQL hands out crashed the start (`?sslmode=require`: connect() got an
unexpected argument) or left health NOT_SERVING for good (`?ssl=require`: sent to PostgreSQL
as a setting it refused at every connection)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.engine import make_url

from consentd.config import ConfigError, Settings
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.postgres.host import server_user
from consentd.store.database import migrate, provision_runtime_role
from tests.conftest import TEST_SECRET
from tests.e2e.test_processes import _free_port, _server, _serving


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key (mode 0600, owned by whoever runs PostgreSQL)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.crt", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    user = server_user()
    if user is not None:
        for path in (cert_path, key_path):
            os.chown(path, user.pw_uid, user.pw_gid)
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[EmbeddedPostgres]:
    base = Path(tempfile.mkdtemp(prefix="consentd-tls-"))
    base.chmod(0o711)
    cert, key = _self_signed(base)
    server = EmbeddedPostgres(
        base / "pg",
        ephemeral=True,
        settings=("ssl=on", f"ssl_cert_file={cert}", f"ssl_key_file={key}"),
    )
    server.start()
    try:
        server.create_database("consentd_tls")
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("asked", ["sslmode=require", "ssl=require"])
async def test_serve_connects_over_tls_when_the_url_asks(
    tls_postgres: EmbeddedPostgres, asked: str
) -> None:
    """Migrations, the pools, the health probe and the reads pool all connect encrypted: the
    runtime role's sessions in pg_stat_ssl say so, and a check answers."""
    owner = tls_postgres.url("consentd_tls")
    await migrate(owner)
    runtime = await provision_runtime_role(owner, "tls-runtime-password")
    url = make_url(runtime).render_as_string(hide_password=False)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{url}?{asked}",
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(bytes(range(32, 64))).decode(),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0",
        "CONSENTD_METRICS_ADDRESS": "off",
        "CONSENTD_PURGE_INTERVAL_SECONDS": "0",
        "CONSENTD_LOG_LEVEL": "warning",
    }
    async with _server(env) as child:
        await _serving(port, child)
        admin = await asyncpg.connect(owner.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            sessions = await admin.fetch(
                "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                "WHERE a.usename = 'consentd_app'"
            )
        finally:
            await admin.close()
        assert sessions
        assert all(row["ssl"] for row in sessions)


async def test_a_server_certificate_the_url_does_not_trust_is_said_so(
    tls_postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    """Probe EC: verify-full against a CA that did not sign the server's certificate said "the
    host refused: [SSL: CERTIFICATE_VERIFY_FAILED]": it is consentd refusing the server. The
    line says a TLS certificate was refused and which settings name the files."""
    other_ca, _ = _self_signed(tmp_path)
    owner = tls_postgres.url("consentd_tls")
    await migrate(owner)
    runtime = await provision_runtime_role(owner, "tls-runtime-password")
    env = {
        **os.environ,
        "DATABASE_URL": f"{runtime}?sslmode=verify-full&sslrootcert={other_ca}",
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(bytes(range(32, 64))).decode(),
        "CONSENTD_GRPC_ADDRESS": "127.0.0.1:0",
        "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0",
        "CONSENTD_METRICS_ADDRESS": "off",
    }
    refused = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "consentd", "serve"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    assert "the database's TLS certificate or a TLS file was refused" in refused.stderr
    assert "sslrootcert" in refused.stderr


def test_a_database_url_may_set_only_tls_and_its_hosts(tmp_path: Path) -> None:
    """Anything else in the query is refused at start, naming what is taken; the multi-host
    form operations.md gives is taken (probe EC: refused after TLS came); `ssl=true` reads as
    require; a "+" in a path stays one; a key given twice and a TLS file consentd cannot read
    are refused at start (exit 2), not at the first connection."""
    base = "postgresql://u:p@db/consentd"
    ca = tmp_path / "c+a.pem"
    ca.write_text("not checked here")
    taken = Settings.from_env({"DATABASE_URL": f"{base}?ssl=verify-full&sslrootcert={ca}"})
    assert taken.database_url == (
        f"postgresql+asyncpg://u:p@db/consentd?sslmode=verify-full&sslrootcert={tmp_path}/c%2Ba.pem"
    )
    hosts = "?host=n0:5432&host=n1:5432&target_session_attrs=read-write&ssl=true"
    multi = Settings.from_env({"DATABASE_URL": f"postgresql://u:p@/consentd{hosts}"})
    assert multi.database_url == (
        "postgresql+asyncpg://u:p@/consentd"
        "?host=n0:5432&host=n1:5432&target_session_attrs=read-write&sslmode=require"
    )
    for query, said in (
        ("application_name=x", "'application_name' is not taken in the URL"),
        ("sslmode=on", "sslmode must be one of disable"),
        ("ssl=on", "ssl must be one of disable"),
        ("sslmode=require&sslmode=disable", "sslmode is given twice"),
        ("sslrootcert=/nonexistent/ca.pem", "is not a file consentd can read"),
        (f"sslrootcert={tmp_path}", "is not a file consentd can read"),
    ):
        with pytest.raises(ConfigError, match=said):
            Settings.from_env({"DATABASE_URL": f"{base}?{query}"})
