"""Use cases of proof: verify a tenant's audit chain, sign and list checkpoints, scope a breach."""

from __future__ import annotations

from collections.abc import Sequence

from consentd.app.ports import Clock, LogSequencer, UnitOfWorkFactory
from consentd.domain.audit import ChainVerifier, Checkpoint, CheckpointSigner, VerifyReport
from consentd.domain.breach import TenantScope, Window
from consentd.domain.tenancy import Tenant

BATCH = 2_000


class AuditUseCases:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        snapshot: UnitOfWorkFactory,
        signer: CheckpointSigner,
        clock: Clock,
        sequencer: LogSequencer,
    ) -> None:
        self._uow = uow
        self._snapshot = snapshot
        self._signer = signer
        self._clock = clock
        self._sequencer = sequencer

    @property
    def public_key(self) -> bytes:
        return self._signer.public_key

    async def verify(self, tenant: Tenant) -> VerifyReport:
        """Recompute the tenant's chain from its start (or retention's anchoring checkpoint),
        in one snapshot, a batch at a time; the report names the first bad entry. What was
        queued before is integrated first."""
        await self._sequencer.drain(tenant.tenant_id)
        async with self._snapshot(tenant.tenant_id) as uow:
            head = await uow.audit.head()
            verifier = ChainVerifier(
                tenant.tenant_id, head, await uow.audit.checkpoints(), self._signer
            )
            after = head.pruned_through if head else 0
            while not verifier.failed:
                batch = await uow.audit.entries(after, BATCH)
                if not batch:
                    break
                verifier.feed(batch)
                after = batch[-1].seq
        return verifier.finish()

    async def checkpoint(self, tenant: Tenant) -> Checkpoint | None:
        """Sign the chain's head now (unless signed already); None while the chain is empty."""
        await self._sequencer.drain(tenant.tenant_id)
        async with self._uow(tenant.tenant_id) as uow:
            checkpoint = await uow.audit.checkpoint_head(self._signer, self._clock())
            await uow.commit()
        return checkpoint

    async def checkpoints(self, tenant: Tenant) -> list[Checkpoint]:
        async with self._uow(tenant.tenant_id) as uow:
            return await uow.audit.checkpoints()

    async def scope_breach(self, tenants: Sequence[Tenant], window: Window) -> list[TenantScope]:
        """Per tenant (one unit of work each): subjects touched and held, and rows touched per
        data category, in the window."""
        scopes = []
        for tenant in tenants:
            async with self._uow(tenant.tenant_id) as uow:
                touched, held, categories = await uow.breach.scope(window)
            scopes.append(TenantScope(tenant.slug, touched, held, categories))
        return scopes
