"""Use cases of proof: verify a tenant's audit log against itself and the facts, sign tree heads
and checkpoints, prove inclusion and consistency (RFC 9162), scope a breach."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from consentd.app.idempotency import Once
from consentd.app.paging import Page, decode_token, encode_token, id_cursor, page_size
from consentd.app.ports import (
    Clock,
    JobUnitOfWorkFactory,
    LogSequencer,
    UnitOfWork,
    UnitOfWorkFactory,
)
from consentd.domain import merkle
from consentd.domain.audit import Checkpoint, Head
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.audit_verify import ChainVerifier, VerifyReport
from consentd.domain.breach import TenantScope, TouchedSubject, Window
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.proofs import ConsistencyProof, InclusionProof, TreeHead
from consentd.domain.tenancy import Tenant

BATCH = 2_000
_TOUCHED = "breach-subjects"
MAX_BREACH_PAGE = 5_000  # subjects a page of ListBreachSubjects lists at most (default 1,000)
PRUNED = "retention pruned the part of the log's Merkle tree this needs"
# Fact problems reported per kind (a tampered table could hold millions).
FACT_PROBLEMS = 100


class AuditUseCases:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        snapshot: JobUnitOfWorkFactory,
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

    def public_key_of(self, key_id: str) -> bytes | None:
        """The public key that signed as `key_id` (the current one or one retired,
        CONSENTD_AUDIT_RETIRED_KEYS); None when it is neither: a proof of a head signed before
        a rotation named the new key, and failed the documented check (probe QC)."""
        return self._signer.public_key_of(key_id)

    async def verify(self, tenant: Tenant) -> VerifyReport:
        """Recompute the tenant's chain from its start (or retention's anchoring checkpoint),
        in one snapshot, a batch at a time; the report names the first bad entry. What was
        queued before is integrated first."""
        await self._sequencer.drain(tenant.tenant_id)
        async with self._snapshot(tenant.tenant_id) as uow:
            head = await uow.audit.head()
            verifier = ChainVerifier(
                tenant.tenant_id,
                head,
                await uow.audit.checkpoints(),
                self._signer,
                await uow.audit.tree_heads(),
            )
            after = head.pruned_through if head else 0
            while not verifier.failed:
                batch = await uow.audit.entries(after, BATCH)
                if not batch:
                    break
                verifier.feed(batch)
                after = batch[-1].seq
            facts = await uow.audit.facts(FACT_PROBLEMS)
        report = verifier.finish()
        return replace(report, ok=report.ok and not facts.problems, facts=facts)

    async def tree_head(self, tenant: Tenant, size: int = 0, field: str = "tree_size") -> TreeHead:
        """The signed head of the tree of `size` entries (0: all of them, after integrating
        what is queued), signed now unless it was signed before. Raises InvalidInput (naming
        the request's `field`) for a size beyond the log, FailedPrecondition when retention
        pruned the leaves it needs."""
        await self._sequencer.drain(tenant.tenant_id)
        async with self._uow(tenant.tenant_id) as uow:
            head = await uow.audit.head()
            last = head.last_seq if head else 0
            size = size or last
            if not 0 < size <= last:
                raise InvalidInput(field, f"must be between 1 and {last}")
            signed = await uow.audit.tree_head(size)
            if signed is None:
                root = await self._root(uow, head, size)
                signed = self._signer.sign_tree(tenant.tenant_id, size, root, self._clock())
                await uow.audit.store_tree_head(signed)
                await uow.commit()
        return signed

    async def _root(self, uow: UnitOfWork, head: Head | None, size: int) -> bytes:
        if head is not None and size == head.last_seq and head.root_hash is not None:
            return head.root_hash
        try:
            return (await self._tree(uow, size)).root()
        except ValueError:
            raise FailedPrecondition(PRUNED, code="ENTRIES_PRUNED") from None

    async def _tree(self, uow: UnitOfWork, size: int) -> merkle.Tree:
        tree = await uow.audit.tree(size)
        if tree is None:
            raise FailedPrecondition(PRUNED, code="ENTRIES_PRUNED")
        if tree.size < size:  # never retention's doing: it keeps the range of what it prunes
            raise FailedPrecondition(
                f"the log holds {tree.size} of the {size} entries this needs: entries are "
                "missing (deleted?); run consentd audit verify",
                code="ENTRIES_MISSING",
            )
        return tree

    async def prove_inclusion(
        self, tenant: Tenant, seq: int, fact_id: UUID | None, size: int = 0
    ) -> InclusionProof:
        """Entry `seq` (or the entry of the fact `fact_id`: its content recomputed from the fact
        table as it stands now) is in the tree of the signed head of `size` entries. Raises
        NotFound (no such entry or fact), InvalidInput (the entry is beyond the size)."""
        head = await self.tree_head(tenant, size)
        async with self._snapshot(tenant.tenant_id) as uow:
            found = await uow.audit.proof_entry(seq, fact_id)
            if found is None:
                raise NotFound(f"no audit entry for {fact_id or seq}")
            entry, fact = found
            if entry.seq > head.tree_size:
                raise InvalidInput("tree_size", f"entry {entry.seq} is not in the first {size}")
            if fact is not None:
                entry = replace(entry, payload=fact)
            tree = await self._tree(uow, head.tree_size)
        path = tree.inclusion_path(entry.seq - 1)
        return InclusionProof(entry.seq, entry.leaf_input(), tuple(path), head)

    async def evidence(
        self, tenant: Tenant, subject_id: UUID, size: int = 0
    ) -> tuple[TreeHead, list[InclusionProof]]:
        """Every kept entry about the subject, each proven in the tree of one signed head (of
        `size` entries; 0: a new one): what a regulator or the person is handed to check the
        log's word on them without trusting consentd (docs/audit.md). Entries as stored: a
        fact's proof recomputed from its table is prove_inclusion's. Raises NotFound when the
        log holds nothing about them."""
        head = await self.tree_head(tenant, size)
        async with self._snapshot(tenant.tenant_id) as uow:
            entries = await uow.audit.of_subject(subject_id, head.tree_size)
            if not entries:
                raise NotFound(f"the kept audit log holds nothing about subject {subject_id}")
            tree = await self._tree(uow, head.tree_size)
        return head, [
            InclusionProof(e.seq, e.leaf_input(), tuple(tree.inclusion_path(e.seq - 1)), head)
            for e in entries
        ]

    async def prove_consistency(
        self, tenant: Tenant, first: int, second: int = 0
    ) -> ConsistencyProof:
        """The tree of `first` entries is a prefix of the tree of `second` (0: all): both heads
        signed. Raises InvalidInput for sizes out of order or beyond the log."""
        # The request's own fields in the errors (a `second` past the log said "tree_size").
        new = await self.tree_head(tenant, second, "second")
        if not 0 < first <= new.tree_size:
            raise InvalidInput("first", f"must be between 1 and {new.tree_size}")
        old = await self.tree_head(tenant, first, "first")
        async with self._snapshot(tenant.tenant_id) as uow:
            tree = await self._tree(uow, new.tree_size)
        try:
            path = tree.consistency_path(first)
        except ValueError:
            raise FailedPrecondition(PRUNED, code="ENTRIES_PRUNED") from None
        return ConsistencyProof(old, new, tuple(path))

    async def checkpoint(self, tenant: Tenant, once: Once | None = None) -> Checkpoint | None:
        """Sign the chain's head now (unless signed already); None while the chain is empty."""
        await self._sequencer.drain(tenant.tenant_id)
        async with self._uow(tenant.tenant_id, once) as uow:
            checkpoint = await uow.audit.checkpoint_head(self._signer, self._clock())
            await uow.commit(checkpoint)
        return checkpoint

    async def checkpoints(self, tenant: Tenant) -> list[Checkpoint]:
        async with self._uow(tenant.tenant_id) as uow:
            return await uow.audit.checkpoints()

    async def scope_breach(self, tenants: Sequence[Tenant], window: Window) -> list[TenantScope]:
        """Per tenant (one unit of work each): subjects touched and held, and rows touched per
        data category, in the window; a purged tenant as such, with nothing counted (every unit
        of work of it is refused: the first one purged stopped the report for all; probe GD)."""
        scopes = []
        for tenant in tenants:
            if tenant.purged:
                scopes.append(TenantScope(tenant.slug, 0, 0, purged=True))
                continue
            async with self._uow(tenant.tenant_id) as uow:
                touched, held, categories = await uow.breach.scope(window)
            scopes.append(TenantScope(tenant.slug, touched, held, categories))
        return scopes

    async def breach_subjects(
        self, tenant: Tenant, window: Window, size: int, token: str, *, most: int = MAX_BREACH_PAGE
    ) -> Page[TouchedSubject]:
        """A page of the subjects the window touched, by id, `most` at most. Each page reads
        the whole window again (about 0.8 s for 30,000 subjects here): the command line takes
        pages of 50,000. Raises InvalidInput for a bad size, or a token of another window."""
        size = page_size(size, 1_000, most)
        scope = f"{window.since.isoformat()}|{window.until.isoformat()}"
        after = id_cursor(decode_token(_TOUCHED, token, scope=scope, tenant=tenant.tenant_id))
        async with self._uow(tenant.tenant_id) as uow:
            found = await uow.breach.subjects(window, after, size + 1)
        page = found[:size]
        more = len(found) > size
        return Page(
            page,
            encode_token(_TOUCHED, str(page[-1].subject_id), scope, tenant=tenant.tenant_id)
            if more
            else "",
        )
