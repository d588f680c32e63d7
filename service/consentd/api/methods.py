"""What the contract says about each RPC: its full name, whether it writes, its response type."""

from __future__ import annotations

from dataclasses import dataclass

from consent.v1 import (
    audit_pb2,
    campaign_pb2,
    catalog_pb2,
    consent_pb2,
    cookies_pb2,
    retention_pb2,
    rights_pb2,
)
from google.protobuf import descriptor, descriptor_pb2
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

FILES = (
    consent_pb2.DESCRIPTOR,
    catalog_pb2.DESCRIPTOR,
    cookies_pb2.DESCRIPTOR,
    rights_pb2.DESCRIPTOR,
    audit_pb2.DESCRIPTOR,
    retention_pb2.DESCRIPTOR,
    campaign_pb2.DESCRIPTOR,
)
_READ_ONLY = descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS
# Writes only in that they sign and keep a tree head the first time one is asked for: served
# like reads (retried once on a lost connection, an idempotency key ignored: the answer is the
# same signed head, or a newer one for "the whole log").
_SIGNING_READS = frozenset({"GetAuditTreeHead", "ProveAuditInclusion", "ProveAuditConsistency"})


@dataclass(frozen=True, slots=True)
class Method:
    path: str
    # A write: its servicer hands the use case the call's idempotency key (api/context.once).
    writes: bool
    response: type[Message]


def _method(service: descriptor.ServiceDescriptor, method: descriptor.MethodDescriptor) -> Method:
    writes = (
        method.GetOptions().idempotency_level != _READ_ONLY and method.name not in _SIGNING_READS
    )
    return Method(
        f"/{service.full_name}/{method.name}", writes, GetMessageClass(method.output_type)
    )


def methods(files: tuple[descriptor.FileDescriptor, ...] = FILES) -> dict[str, Method]:
    """Every RPC of our services, by its path (`/consent.v1.ConsentService/CheckConsent`)."""
    return {
        m.path: m
        for file in files
        for service in file.services_by_name.values()
        for m in (_method(service, md) for md in service.methods)
    }
