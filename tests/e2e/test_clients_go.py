"""The Go client (protoc-gen-go, protoc-gen-go-grpc) built with Debian's Go and grpc-go in GOPATH
mode: its example records, checks ALLOW, withdraws and checks DENY against the real server."""

from __future__ import annotations

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.e2e.client_examples import ROOT, require, run, run_example, stored_states


async def test_go_example_records_checks_and_withdraws(
    app: App, tenant: Tenant, grpc_port: int, admin_key: str
) -> None:
    """The Go example's calls reach the server: ALLOW then DENY, two events of its tenant."""
    require("go")
    binary = (await run(str(ROOT / "clients/go/build-example"))).strip().splitlines()[-1]
    lines = await run_example([binary], grpc_port, admin_key)
    assert await stored_states(app, tenant, lines) == ["granted", "withdrawn"]
