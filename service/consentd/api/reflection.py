"""Server reflection under grpc.reflection.v1alpha and v1, for grpcurl and buf curl, with a
cap on the streams open at once (it needs no credential)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

# Reflection streams open at most, per process: they need no credential, and each held ~22 KB
# (a probe kept 12,000 open on 48 connections: RSS 175 -> 445 MB; probe HB). A tool opens one
# per command.
MAX_REFLECTIONS = 100
REFLECTIONS_EXHAUSTED = "too many reflection streams are open: retry later"


class CappedReflection(reflection.aio.ReflectionServicer):  # type: ignore[misc]
    """grpcio-reflection's servicer, refusing RESOURCE_EXHAUSTED past MAX_REFLECTIONS streams."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(names)
        self._open = 0

    async def ServerReflectionInfo(
        self, request_iterator: AsyncIterable[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        if self._open >= MAX_REFLECTIONS:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, REFLECTIONS_EXHAUSTED)
        self._open += 1
        try:
            async for response in super().ServerReflectionInfo(request_iterator, context):
                yield response
        finally:
            self._open -= 1


# grpc.reflection.v1, the name buf curl and grpcurl ask first (grpcio-reflection serves only
# v1alpha: each of their calls logged an unknown method first; probe FQ). v1 is v1alpha's
# protocol under a new package name: the same fields, numbers and wire format.
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


def serve_reflection(server: grpc.aio.Server, services: Sequence[str]) -> None:
    """What reflection.enable_server_reflection does for a grpc.aio server, under both names,
    both listed and described (probe GE: v1 was served, not listed, and `describe` of it failed),
    at most MAX_REFLECTIONS streams at once."""
    _describe_v1()
    names = (*services, reflection.SERVICE_NAME, REFLECTION_V1)
    servicer = CappedReflection(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    info = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    handlers = {"ServerReflectionInfo": info}
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, handlers),)
    )


def _describe_v1() -> None:
    """grpc/reflection/v1/reflection.proto in the default pool: v1alpha's file renamed."""
    pool = descriptor_pool.Default()
    with contextlib.suppress(KeyError):
        pool.FindFileByName(_V1_FILE)
        return
    described = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(described)
    described.name, described.package = _V1_FILE, "grpc.reflection.v1"
    described.ClearField("options")  # v1alpha's: deprecated, its Java and Go packages
    for message in described.message_type:
        for field in message.field:
            if field.type_name:  # a message field's (assigning one marks it set)
                field.type_name = field.type_name.replace(_V1ALPHA, _V1)
    for method in described.service[0].method:
        method.input_type = method.input_type.replace(_V1ALPHA, _V1)
        method.output_type = method.output_type.replace(_V1ALPHA, _V1)
    pool.Add(described)


_V1_FILE = "grpc/reflection/v1/reflection.proto"
_V1ALPHA, _V1 = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."
