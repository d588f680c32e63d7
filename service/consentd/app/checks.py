"""Deciding many checks with one query: unary checks (coalesced), batches and streams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from consentd.app.commands import SubjectSelector
from consentd.app.ports import CheckKey, CheckRow, Clock, ReadUnitOfWorkFactory
from consentd.domain.contact_points import Ruling, decide_contact_point
from consentd.domain.errors import InvalidInput, NotFound
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.model import ALL, LawfulBasis, Target, Verdict
from consentd.domain.rights import BlockKind


class CheckResult(NamedTuple):
    """One check's answer (a NamedTuple: one is made per recipient of a bulk check)."""

    verdict: Verdict
    subject_id: UUID | None
    lawful_basis: LawfulBasis
    # When what decided began (the fact's recording, the block's start); None for no record.
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decided:
    """The answers of one batch, in order: a result, or the error of a malformed recipient."""

    lawful_basis: LawfulBasis
    answers: list[CheckResult | InvalidInput]


# Told of every batch of answers as it is decided (the metrics count decisions by reason).
Tally = Callable[[Sequence[CheckResult]], None]


def unknown_purpose(purpose_id: str, field: str = "target.purpose") -> NotFound:
    return NotFound(
        f"{field}: purpose {purpose_id!r} is not in this tenant's catalogue "
        "(create it with CatalogService.PutPurpose)",
        code="PURPOSE_NOT_FOUND",
    )


def check_as_of(as_of: datetime | None, now: datetime) -> None:
    """Raises InvalidInput for an as_of in the future."""
    if as_of is not None and as_of > now:
        raise InvalidInput("as_of", "must not be in the future (leave it unset for now)")


def _told(
    key: CheckKey,
    row: CheckRow,
    ruling: Ruling,
    at: datetime,
    basis: LawfulBasis,
) -> CheckResult:
    """The answer as told to whoever asked by `key`. An erased person's past is still answered
    (`as_of` before the erasure proves what a send then relied on, docs/contact-points.md),
    but never with their subject id nor their event to whoever named a contact point: both
    led to the whole pseudonymous record (ExportSubject; an event through its inclusion
    proof's leaf, probe WA) that the erasure unlinked from their addresses. The holder at `at`
    is the one erased when an erasure of the contact point came after `at`; one that came
    before left it to a new holder (granted again since), who is named. A DENY that is not the
    named holder's own (an earlier holder's, an erasure's entry) has no time either: its
    instant matched the erased subject's change in the feed (the suppression list's `since`,
    probe XA)."""
    erased = any(b.kind is BlockKind.ERASED and b.since > at for b in row.blocks)
    if erased and not isinstance(key, UUID):
        return CheckResult(ruling.verdict._replace(event_id=None), None, basis, None)
    if ruling.carried or row.subject_id is None:  # an earlier holder's event: theirs (WA)
        return CheckResult(ruling.verdict._replace(event_id=None), row.subject_id, basis, None)
    return CheckResult(ruling.verdict, row.subject_id, basis, ruling.since)


class Checker:
    """Decides checks for one target in one unit of work and one statement."""

    def __init__(
        self,
        reads: ReadUnitOfWorkFactory,
        hasher: IdentifierHasher,
        clock: Clock,
        tally: Tally | None = None,
    ) -> None:
        self._reads = reads
        self._hasher = hasher
        self._clock = clock
        self._tally = tally

    def key(self, tenant_id: UUID, selector: SubjectSelector) -> CheckKey:
        if isinstance(selector, UUID):
            return selector
        return (selector.kind, self._hasher.digest(tenant_id, selector))

    async def decide(
        self, tenant_id: UUID, target: Target, as_of: datetime | None, keys: Sequence[CheckKey]
    ) -> tuple[LawfulBasis, list[CheckResult]]:
        """The results in key order. Raises NotFound for a purpose not in the catalogue, and
        the error of the first recipient whose answer failed."""
        basis, answers = await self.decide_each(tenant_id, target, as_of, keys)
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        return basis, [a for a in answers if not isinstance(a, Exception)]

    async def decide_each(
        self,
        tenant_id: UUID,
        target: Target,
        as_of: datetime | None,
        keys: Sequence[CheckKey],
        *,
        counted: bool = True,
    ) -> tuple[LawfulBasis, list[CheckResult | Exception]]:
        """Like decide(), with the error of a recipient whose answer failed in its place: the
        unary checks coalesced with it still get theirs (one person's stored row that broke
        the rule made every check coalesced with it INTERNAL). `counted`: a check's answers
        (the decisions metric), not a read of what checks would answer."""
        # As CheckConsent decides (app/consents.py on main before the fast path): the same
        # facts, notice floor and blocks, at `as_of` or now, through the same decide(), with
        # the contact point's earlier holders (domain/contact_points.py).
        at = as_of or self._clock()
        async with self._reads(tenant_id) as uow:
            batch = await uow.campaign.check(target, keys, as_of, at)
        if batch is None:
            raise unknown_purpose(target.purpose)
        basis = batch.purpose.lawful_basis
        results: list[CheckResult | Exception] = []
        for key, row in zip(keys, batch.rows, strict=True):
            try:
                ruling = decide_contact_point(
                    batch.purpose,
                    [row.fact] if row.fact else [],
                    at,
                    batch.notice_floor,
                    row.blocks,
                    priors=row.priors,
                    held_from=row.held_from,
                    current=as_of is None,
                )
            except Exception as error:  # noqa: BLE001 - raised again in that caller's own task
                results.append(error)
                continue
            results.append(_told(key, row, ruling, at, basis))
        if self._tally is not None and counted:
            self._tally([r for r in results if not isinstance(r, Exception)])
        return basis, results

    async def decide_items(
        self,
        tenant_id: UUID,
        target: Target,
        as_of: datetime | None,
        items: Sequence[SubjectSelector | InvalidInput],
    ) -> Decided:
        """Like decide(), passing malformed recipients through as their errors."""
        keys = [self.key(tenant_id, i) for i in items if not isinstance(i, InvalidInput)]
        basis, results = await self.decide(tenant_id, target, as_of, keys)
        decided = iter(results)
        answers = [i if isinstance(i, InvalidInput) else next(decided) for i in items]
        return Decided(basis, answers)

    async def answers_now(
        self, tenant_id: UUID, subject_id: UUID, targets: Sequence[Target]
    ) -> list[CheckResult | None]:
        """What a check of each target answers now for the subject (None for the "everything"
        target, which no check names): the portal showed GRANTED for grants every check denied
        (a re-consent asked, a restriction, an objection)."""

        async def one(target: Target) -> CheckResult | None:
            if target.purpose == ALL:
                return None
            try:
                # Not a check: the decisions metric counts checks (portal reads inflated it;
                # probe HF).
                decided = await self.decide_each(
                    tenant_id, target, None, [subject_id], counted=False
                )
                answer = decided[1][0]
            except NotFound:
                return None
            return None if isinstance(answer, Exception) else answer

        return list(await asyncio.gather(*(one(t) for t in targets)))
