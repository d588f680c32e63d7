"""One rule decides the checks and the suppression list (issue #14), over generated histories.

Hypothesis generates histories of grants, withdrawals, objections, erasures, rectifications and
re-grants on a few contact points, in random order; each example plays a batch of them in lock
step through the real use cases (a round is one step of every history, at one time of the
injected clock) in a tenant of its own. After each round, for every contact point and both
purposes (a consent one and a legitimate-interest one): the suppression list holds exactly the
contact points the batch check answers with a refusal, withdrawal, objection or erasure, with
the same reason. At the end, a check `as_of` each round's time answers what the check answered
then, and the unary and streamed paths answer as the batch does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.decision import SUPPRESSING
from consentd.domain.errors import FailedPrecondition, NotFound
from consentd.domain.identifiers import Identifier
from consentd.domain.model import Target, Verdict
from consentd.domain.tenancy import Tenant
from tests.conftest import TestClock
from tests.integration.contact_paths import PATHS, suppressed
from tests.integration.helpers import B2B, NEWSLETTER, catalogue, email, grant, principal, withdraw

POINTS = ("a", "b", "c")
TARGETS = {"newsletter": NEWSLETTER, "b2b": B2B}
ROUNDS = 5
# 2,000 histories by default (issue 14: `make fuzz`, run by CI); `make test` runs fewer
# (CONSENTD_HISTORIES), 100 per example.
HISTORIES_PER_EXAMPLE = 100
# Tenants per example (see Shard).
SHARDS = 4
EXAMPLES = max(1, int(os.environ.get("CONSENTD_HISTORIES", "2000")) // HISTORIES_PER_EXAMPLE)
STEP = timedelta(minutes=1)

Op = tuple[str, ...]
OPS = st.one_of(
    st.tuples(st.just("grant"), st.sampled_from(POINTS), st.sampled_from(tuple(TARGETS))),
    st.tuples(st.just("withdraw"), st.sampled_from(POINTS), st.sampled_from(tuple(TARGETS))),
    st.tuples(st.just("object"), st.sampled_from(POINTS)),
    st.tuples(st.just("erase"), st.sampled_from(POINTS)),
    st.tuples(st.just("rectify"), st.sampled_from(POINTS), st.sampled_from(POINTS)),
)
HISTORIES = st.lists(
    st.lists(OPS, min_size=1, max_size=ROUNDS),
    min_size=HISTORIES_PER_EXAMPLE,
    max_size=HISTORIES_PER_EXAMPLE,
)
Answer = tuple[str, str]


def _point(history: int, name: str) -> Identifier:
    return email(f"{name}.{history}@example.com")


async def _play(app: App, tenant: Tenant, history: int, op: Op) -> None:
    """One step; a step the service refuses (nobody holds the address, it belongs to someone
    else) changes nothing, as for a real caller."""
    who = principal(tenant)
    point = _point(history, op[1])
    try:
        match op[0]:
            case "grant":
                await grant(app, tenant, point, targets=(TARGETS[op[2]],))
            case "withdraw":
                await withdraw(app, tenant, point, TARGETS[op[2]])
            case "object":
                await app.rights.object(who, point)
            case "erase":
                await app.rights.erase(who, point, "dpo")
            case _:
                await app.rights.rectify(who, point, _point(history, op[2]), "support")
    except (NotFound, FailedPrecondition):
        pass


def _answers(verdicts: Sequence[Verdict]) -> list[Answer]:
    return [(v.decision.value, v.reason.value) for v in verdicts]


@dataclass
class Shard:
    """Some of an example's histories in a tenant of their own: writes of one tenant queue
    behind its audit chain, so several tenants play the example faster. `seen`: the batch
    check's answers after each step, per purpose, in `points` order."""

    tenant: Tenant
    histories: list[list[Op]]
    points: list[Identifier] = field(default_factory=list)
    digests: list[bytes] = field(default_factory=list)
    seen: list[dict[str, list[Answer]]] = field(default_factory=list)


async def _shard(app: App, admin: AdminUseCases, histories: list[list[Op]]) -> Shard:
    shard = Shard(await admin.create_tenant(f"h-{uuid4().hex[:12]}"), histories)
    await catalogue(app, shard.tenant)
    shard.points = [_point(h, name) for h in range(len(histories)) for name in POINTS]
    hashed = app.campaign.hash_contact_points(principal(shard.tenant), shard.points)
    shard.digests = [d[1] for d in hashed if not isinstance(d, Exception)]
    return shard


async def _after_step(app: App, shard: Shard) -> None:
    """The batch check of every contact point, and the suppression list, now."""
    now: dict[str, list[Answer]] = {}
    for name, target in TARGETS.items():
        now[name] = _answers(await PATHS["batch"](app, shard.tenant, shard.points, target, None))
        await _suppressing(app, shard, target, now[name])
    shard.seen.append(now)


async def _suppressing(app: App, shard: Shard, target: Target, answers: Sequence[Answer]) -> None:
    """The suppression list == the contact points the checks deny for a suppressing reason."""
    listed = await suppressed(app, shard.tenant, target)
    expected = {
        digest: reason
        for digest, (_, reason) in zip(shard.digests, answers, strict=True)
        if reason in {r.value for r in SUPPRESSING}
    }
    wrong = [
        (shard.histories[index // len(POINTS)], POINTS[index % len(POINTS)], answers[index])
        for index, digest in enumerate(shard.digests)
        if listed.get(digest) != expected.get(digest)
    ]
    assert not wrong, f"(history, point, check) not listed as checked for {target}: {wrong}"


def _disagreements(
    shard: Shard, got: list[Answer], then: list[Answer]
) -> list[tuple[list[Op], str, Answer, Answer]]:
    """(history, point, answer got, answer then) where they differ."""
    return [
        (
            shard.histories[index // len(POINTS)],
            POINTS[index % len(POINTS)],
            got[index],
            then[index],
        )
        for index in range(len(got))
        if got[index] != then[index]
    ]


async def _check_later(app: App, shard: Shard, moments: list[datetime]) -> None:
    """as_of each step's moment answers what the check answered then, on every path."""
    for moment, then in zip(moments, shard.seen, strict=True):
        for name, target in TARGETS.items():
            got = _answers(await PATHS["batch"](app, shard.tenant, shard.points, target, moment))
            assert not _disagreements(shard, got, then[name]), (moment, name)
    for name, target in TARGETS.items():
        for path in ("unary", "stream"):
            for moment, then in ((None, shard.seen[-1]), (moments[0], shard.seen[0])):
                check = PATHS[path]
                got = _answers(await check(app, shard.tenant, shard.points, target, moment))
                assert not _disagreements(shard, got, then[name]), (path, moment, name)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # Shrinking a batch of 100 histories takes longer than reading the failure: the assertions
    # name the histories that disagree.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(histories=HISTORIES)
async def test_checks_as_of_and_the_suppression_list_agree_on_generated_histories(
    app: App, admin: AdminUseCases, clock: TestClock, histories: list[list[Op]]
) -> None:
    """Over generated histories, every check path (as_of included) and the suppression list
    answer alike for every contact point after every step."""
    shards = [await _shard(app, admin, histories[first::SHARDS]) for first in range(SHARDS)]
    base = datetime.now(UTC) - timedelta(days=1)
    moments: list[datetime] = []
    for step in range(max(len(h) for h in histories)):
        clock.pinned = base + step * STEP
        await asyncio.gather(
            *(
                _play(app, shard.tenant, h, ops[step])
                for shard in shards
                for h, ops in enumerate(shard.histories)
                if step < len(ops)
            )
        )
        clock.pinned = base + step * STEP + STEP / 2
        moments.append(clock.pinned)
        for shard in shards:
            await _after_step(app, shard)
    clock.pinned = base + (len(moments) + 1) * STEP
    for shard in shards:
        await _check_later(app, shard, moments)
