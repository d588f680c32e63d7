"""consent.v1.AuditService over grpc.aio: chain verification, checkpoints, breach scoping."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import grpc
from consent.v1 import audit_pb2 as pb
from consent.v1 import audit_pb2_grpc

from consentd.api.context import once, principal
from consentd.api.converters import time_in, time_out
from consentd.app.audit import AuditUseCases
from consentd.domain.audit import Checkpoint
from consentd.domain.audit_verify import VerifyReport
from consentd.domain.breach import Window
from consentd.domain.errors import InvalidInput, PermissionDenied
from consentd.domain.proofs import TreeHead
from consentd.domain.tenancy import Tenant
from consentd.domain.uuids import uuid_in

Context = grpc.aio.ServicerContext[Any, Any]
# Over the API a breach is scoped per tenant: an API key belongs to one tenant, and no scope
# spans tenants. Operators scope several tenants with `consentd breach scope` (owner's URL).


def checkpoint_out(checkpoint: Checkpoint) -> pb.AuditCheckpoint:
    return pb.AuditCheckpoint(
        seq=checkpoint.seq,
        entry_hash=checkpoint.entry_hash.hex(),
        signed_at=time_out(checkpoint.signed_at),
        key_id=checkpoint.key_id,
        signed_message=checkpoint.message().decode(),
        signature=checkpoint.signature.hex(),
    )


def report_out(report: VerifyReport) -> pb.VerifyAuditChainResponse:
    return pb.VerifyAuditChainResponse(
        ok=report.ok,
        entries_checked=report.entries_checked,
        checkpoints_checked=report.checkpoints_checked,
        first_seq=report.first_seq,
        last_seq=report.last_seq,
        bad_seq=report.bad_seq or 0,
        problem=report.problem,
        facts_checked=report.facts.facts,
        facts_pending=report.facts.pending,
        fact_problems=[
            pb.AuditFactProblem(
                table=p.table,
                fact_id=str(p.fact_id) if p.fact_id else "",
                seq=p.seq or 0,
                problem=p.problem,
            )
            for p in report.facts.problems
        ],
    )


def fact_id_in(value: str) -> UUID:
    try:
        return uuid_in(value)
    except ValueError:
        raise InvalidInput("fact_id", "must be a consent event or cookie choice id") from None


def _hex(public_key: bytes | None) -> str:
    """A head's key as proofs give it: "" for a key neither current nor retired here."""
    return public_key.hex() if public_key is not None else ""


def tree_head_out(head: TreeHead) -> pb.AuditTreeHead:
    return pb.AuditTreeHead(
        tree_size=head.tree_size,
        root_hash=head.root_hash.hex(),
        signed_at=time_out(head.signed_at),
        key_id=head.key_id,
        signed_message=head.message().decode(),
        signature=head.signature.hex(),
    )


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, audit: AuditUseCases) -> None:
        self._audit = audit

    async def VerifyAuditChain(
        self, request: pb.VerifyAuditChainRequest, context: Context
    ) -> pb.VerifyAuditChainResponse:
        return report_out(await self._audit.verify(principal().tenant))

    async def CreateAuditCheckpoint(
        self, request: pb.CreateAuditCheckpointRequest, context: Context
    ) -> pb.CreateAuditCheckpointResponse:
        return _created(await self._audit.checkpoint(principal().tenant, once(_created)))

    async def ListAuditCheckpoints(
        self, request: pb.ListAuditCheckpointsRequest, context: Context
    ) -> pb.ListAuditCheckpointsResponse:
        checkpoints = await self._audit.checkpoints(principal().tenant)
        return pb.ListAuditCheckpointsResponse(
            checkpoints=[checkpoint_out(c) for c in checkpoints],
            public_key=self._audit.public_key.hex(),
        )

    async def GetAuditTreeHead(
        self, request: pb.GetAuditTreeHeadRequest, context: Context
    ) -> pb.GetAuditTreeHeadResponse:
        head = await self._audit.tree_head(principal().tenant, request.tree_size)
        return pb.GetAuditTreeHeadResponse(
            head=tree_head_out(head), public_key=_hex(self._audit.public_key_of(head.key_id))
        )

    async def ProveAuditInclusion(
        self, request: pb.ProveAuditInclusionRequest, context: Context
    ) -> pb.ProveAuditInclusionResponse:
        fact = fact_id_in(request.fact_id) if request.HasField("fact_id") else None
        if fact is None and not request.seq:
            raise InvalidInput("entry", "give a seq or a fact_id")
        proof = await self._audit.prove_inclusion(
            principal().tenant, request.seq, fact, request.tree_size
        )
        return pb.ProveAuditInclusionResponse(
            seq=proof.seq,
            leaf_index=proof.seq - 1,
            leaf_input=proof.leaf_input.hex(),
            audit_path=[node.hex() for node in proof.path],
            head=tree_head_out(proof.head),
            public_key=_hex(self._audit.public_key_of(proof.head.key_id)),
        )

    async def ProveAuditConsistency(
        self, request: pb.ProveAuditConsistencyRequest, context: Context
    ) -> pb.ProveAuditConsistencyResponse:
        proof = await self._audit.prove_consistency(
            principal().tenant, request.first, request.second
        )
        return pb.ProveAuditConsistencyResponse(
            first=tree_head_out(proof.first),
            second=tree_head_out(proof.second),
            consistency_path=[node.hex() for node in proof.path],
            public_key=_hex(self._audit.public_key_of(proof.second.key_id)),
        )

    async def ScopeBreach(
        self, request: pb.ScopeBreachRequest, context: Context
    ) -> pb.ScopeBreachResponse:
        window = _window(request)
        tenants = await self._named_tenants(list(request.tenants))
        scopes = await self._audit.scope_breach(tenants, window)
        return pb.ScopeBreachResponse(
            tenants=[
                pb.TenantBreachScope(
                    tenant=s.tenant_slug,
                    subjects_touched=s.subjects_touched,
                    subjects_held=s.subjects_held,
                    categories=s.categories,
                )
                for s in scopes
            ]
        )

    async def ListBreachSubjects(
        self, request: pb.ListBreachSubjectsRequest, context: Context
    ) -> pb.ListBreachSubjectsResponse:
        page = await self._audit.breach_subjects(
            principal().tenant, _window(request), request.page_size, request.page_token
        )
        return pb.ListBreachSubjectsResponse(
            subjects=[
                pb.BreachSubject(
                    subject_id=str(s.subject_id),
                    categories=s.categories,
                    erased_at=time_out(s.erased_at) if s.erased_at else None,
                )
                for s in page.items
            ],
            next_page_token=page.next_page_token,
        )

    async def _named_tenants(self, slugs: list[str]) -> list[Tenant]:
        caller = principal()
        for index, slug in enumerate(slugs):
            if slug != caller.tenant.slug:
                raise PermissionDenied(
                    f"tenants[{index}]: a key scopes only its own tenant; operators scope "
                    "several with `consentd breach scope`"
                )
        return [caller.tenant]


def _created(checkpoint: Checkpoint | None) -> pb.CreateAuditCheckpointResponse:
    if checkpoint is None:
        return pb.CreateAuditCheckpointResponse()
    return pb.CreateAuditCheckpointResponse(checkpoint=checkpoint_out(checkpoint))


def _window(request: pb.ScopeBreachRequest | pb.ListBreachSubjectsRequest) -> Window:
    if not request.HasField("since") or not request.HasField("until"):
        raise InvalidInput("since", "since and until are both required")
    return Window(time_in(request.since, "since"), time_in(request.until, "until"))
