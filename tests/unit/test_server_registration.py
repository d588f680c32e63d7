"""How the services are put on the grpc.aio server: as generic handlers only."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from consent.v1 import consent_pb2, consent_pb2_grpc, rights_pb2, rights_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from consentd.api.server import Server


class _Consent(consent_pb2_grpc.ConsentServiceServicer):
    async def CheckConsent(self, request: Any, context: Any) -> Any:
        return consent_pb2.CheckConsentResponse(subject_id="consent answered")


class _Rights(rights_pb2_grpc.RightsServiceServicer):
    async def ExportSubject(self, request: Any, context: Any) -> Any:
        return rights_pb2.ExportSubjectResponse(schema="rights answered")


async def test_no_method_is_registered_and_generic_handlers_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """grpc.aio keeps a pending request per registered method and waits on all of them for every
    call; our server registers none, and its generic handlers still answer each service: ours,
    health and reflection."""
    registered: list[Any] = []
    monkeypatch.setattr(
        grpc.aio._server.Server,
        "add_registered_method_handlers",
        lambda self, *args: registered.append(args),
    )
    server = Server(
        [
            lambda s: consent_pb2_grpc.add_ConsentServiceServicer_to_server(_Consent(), s),
            lambda s: rights_pb2_grpc.add_RightsServiceServicer_to_server(_Rights(), s),
        ],
        [],
    )
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        assert registered == []
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            answer = await health.Check(health_pb2.HealthCheckRequest(service=""))
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            ask = reflection_pb2.ServerReflectionRequest(list_services="")
            async for reply in reflection.ServerReflectionInfo(iter([ask])):
                names = {s.name for s in reply.list_services_response.service}
                assert "consent.v1.ConsentService" in names
            consent = consent_pb2_grpc.ConsentServiceStub(channel)
            checked = await consent.CheckConsent(consent_pb2.CheckConsentRequest())
            assert checked.subject_id == "consent answered"
            rights = rights_pb2_grpc.RightsServiceStub(channel)
            exported = await rights.ExportSubject(rights_pb2.ExportSubjectRequest())
            assert exported.schema == "rights answered"
    finally:
        await server.stop(0)
