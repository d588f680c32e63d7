"""The Java client (Debian protoc 3.21 java builtin, grpc-java 1.41 plugin) compiled with javac
against Debian's jars: its example records, checks ALLOW, withdraws and checks DENY."""

from __future__ import annotations

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.e2e.client_examples import ROOT, require, run, run_example, stored_states


async def test_java_example_records_checks_and_withdraws(
    app: App, tenant: Tenant, grpc_port: int, admin_key: str
) -> None:
    """The Java example's calls reach the server: ALLOW then DENY, two events of its tenant."""
    require("javac")
    classpath = (await run(str(ROOT / "clients/java/build-example"))).strip().splitlines()[-1]
    lines = await run_example([require("java"), "-cp", classpath, "Example"], grpc_port, admin_key)
    assert await stored_states(app, tenant, lines) == ["granted", "withdrawn"]
