"""The TypeScript client (protoc-gen-es + Connect-ES) from Node over native gRPC: its example
records, checks ALLOW, withdraws and checks DENY against the real server."""

from __future__ import annotations

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.e2e.client_examples import ROOT, require, run_example, stored_states


async def test_node_example_records_checks_and_withdraws(
    app: App, tenant: Tenant, grpc_port: int, admin_key: str
) -> None:
    """The Node example's calls reach the server: ALLOW then DENY, two events of its tenant."""
    require("node")
    tsx = ROOT / "node_modules/.bin/tsx"
    lines = await run_example(
        [str(tsx), str(ROOT / "clients/typescript/example/example.ts")], grpc_port, admin_key
    )
    assert await stored_states(app, tenant, lines) == ["granted", "withdrawn"]
