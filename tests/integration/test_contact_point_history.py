"""Contact points that change hands (issue #14): `as_of` asks the holder of the time, and a
rectified or erased address keeps its holder's no in force, on every check path and on the
suppression list, until a later grant names it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consentd.app.commands import CheckConsent
from consentd.bootstrap import App
from consentd.domain.breach import Window
from consentd.domain.model import Decision, Reason
from consentd.domain.tenancy import Tenant
from tests.conftest import TestClock
from tests.integration.contact_paths import PATHS, digest, suppressed
from tests.integration.helpers import B2B, NEWSLETTER, catalogue, email, grant, principal, withdraw

X = email("jeanne@example.fr")
Y = email("jeanne.dupont@example.fr")
ALLOW_GRANTED = (Decision.ALLOW, Reason.GRANTED)
ALLOW_LI = (Decision.ALLOW, Reason.LEGITIMATE_INTEREST)


def _at(base: datetime, minutes: int) -> datetime:
    return base + timedelta(minutes=minutes)


async def _answers(app: App, tenant: Tenant, target: object, as_of: datetime | None) -> set[object]:
    """The (decision, reason) of X on every check path: one element when they agree."""
    found = set()
    for path in PATHS.values():
        [verdict] = await path(app, tenant, [X], target, as_of)  # type: ignore[arg-type]
        found.add((verdict.decision, verdict.reason))
    return found


@pytest.mark.parametrize("move", ["erase", "rectify"])
async def test_as_of_by_contact_point_asks_whoever_held_it_then(
    app: App, tenant: Tenant, clock: TestClock, move: str
) -> None:
    """Grant the newsletter and object to b2b for x, note t, then erase x or rectify x -> y: as
    of t, x is ALLOW granted for the newsletter and DENY objected for b2b on unary, batch and
    stream, as by subject id."""
    base = datetime.now(UTC) - timedelta(hours=1)
    await catalogue(app, tenant)
    clock.pinned = _at(base, 0)
    written = await grant(app, tenant, X, targets=(NEWSLETTER,))
    clock.pinned = _at(base, 1)
    await withdraw(app, tenant, X, B2B)
    t = _at(base, 2)
    clock.pinned = _at(base, 3)
    if move == "erase":
        await app.rights.erase(principal(tenant), X, "dpo")
    else:
        await app.rights.rectify(principal(tenant), X, Y, "support")
    clock.pinned = _at(base, 4)
    assert await _answers(app, tenant, NEWSLETTER, t) == {ALLOW_GRANTED}
    assert await _answers(app, tenant, B2B, t) == {(Decision.DENY, Reason.OBJECTED)}
    by_id = await app.consents.check_consent(
        principal(tenant), CheckConsent(written.subject_id, B2B, t)
    )
    assert by_id.verdict.reason is Reason.OBJECTED
    before = await _answers(app, tenant, NEWSLETTER, _at(base, -1))
    assert before == {(Decision.DENY, Reason.NO_RECORD)}  # nobody held x yet


async def test_a_rectified_address_keeps_the_objection_until_a_later_grant_names_it(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """x objects (a rights objection), then is rectified to y: x is DENY objected on every path
    and on the suppression list; y too (the person). A new person's later grant for x answers
    for x again, and takes x off the list."""
    base = datetime.now(UTC) - timedelta(hours=1)
    await catalogue(app, tenant)
    clock.pinned = _at(base, 0)
    await grant(app, tenant, X, targets=(NEWSLETTER,))
    clock.pinned = _at(base, 1)
    await app.rights.object(principal(tenant), X)
    clock.pinned = _at(base, 2)
    await app.rights.rectify(principal(tenant), X, Y, "support")
    clock.pinned = _at(base, 3)
    for target in (B2B, NEWSLETTER):
        assert await _answers(app, tenant, target, None) == {(Decision.DENY, Reason.OBJECTED)}
        listed = await suppressed(app, tenant, target)
        assert listed == {digest(app, tenant, X): "objected", digest(app, tenant, Y): "objected"}
    clock.pinned = _at(base, 4)
    await grant(app, tenant, X, targets=(B2B,))  # someone else now, with x
    clock.pinned = _at(base, 5)
    assert await _answers(app, tenant, B2B, None) == {ALLOW_LI}
    assert digest(app, tenant, X) not in await suppressed(app, tenant, B2B)
    # The newsletter was never granted by the new holder: the old objection still stands there.
    assert await _answers(app, tenant, NEWSLETTER, None) == {(Decision.DENY, Reason.OBJECTED)}


async def test_a_withdrawal_stays_on_a_rectified_address_but_a_grant_does_not_follow_it(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Withdrawn on x, then x -> y: x is DENY withdrawn and listed. Granted on y, then y -> x
    back is the person's own address again: their later grant answers."""
    base = datetime.now(UTC) - timedelta(hours=1)
    await catalogue(app, tenant)
    clock.pinned = _at(base, 0)
    await grant(app, tenant, X, targets=(NEWSLETTER,))
    clock.pinned = _at(base, 1)
    await withdraw(app, tenant, X, NEWSLETTER)
    clock.pinned = _at(base, 2)
    await app.rights.rectify(principal(tenant), X, Y, "support")
    clock.pinned = _at(base, 3)
    assert await _answers(app, tenant, NEWSLETTER, None) == {(Decision.DENY, Reason.WITHDRAWN)}
    assert digest(app, tenant, X) in await suppressed(app, tenant, NEWSLETTER)
    await grant(app, tenant, Y, targets=(NEWSLETTER,))
    clock.pinned = _at(base, 4)
    await app.rights.rectify(principal(tenant), Y, X, "support")
    clock.pinned = _at(base, 5)
    assert await _answers(app, tenant, NEWSLETTER, None) == {ALLOW_GRANTED}
    assert await suppressed(app, tenant, NEWSLETTER) == {}
    # And y, which the person granted on, is not theirs any more: no grant follows it.
    [verdict] = await PATHS["batch"](app, tenant, [Y], NEWSLETTER, None)
    assert (verdict.decision, verdict.reason) == (Decision.DENY, Reason.NO_RECORD)


async def test_a_new_grant_after_an_erasure_takes_the_address_off_the_suppression_list(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Grant for e, erase e: DENY erased and listed as erased. A new grant for e: every path
    ALLOW, and the list no longer holds e (problem 3 of the issue)."""
    base = datetime.now(UTC) - timedelta(hours=1)
    await catalogue(app, tenant)
    clock.pinned = _at(base, 0)
    await grant(app, tenant, X, targets=(NEWSLETTER,))
    clock.pinned = _at(base, 1)
    await app.rights.erase(principal(tenant), X, "dpo")
    clock.pinned = _at(base, 2)
    assert await _answers(app, tenant, NEWSLETTER, None) == {(Decision.DENY, Reason.ERASED)}
    assert await suppressed(app, tenant, NEWSLETTER) == {digest(app, tenant, X): "erased"}
    clock.pinned = _at(base, 3)
    await grant(app, tenant, X, targets=(NEWSLETTER,))
    clock.pinned = _at(base, 4)
    assert await _answers(app, tenant, NEWSLETTER, None) == {ALLOW_GRANTED}
    assert await suppressed(app, tenant, NEWSLETTER) == {}
    # As of before the new grant, it was still erased.
    assert await _answers(app, tenant, NEWSLETTER, _at(base, 2)) == {(Decision.DENY, Reason.ERASED)}


async def test_breach_scope_counts_contact_points_erased_since(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Five subjects written in a window, one erased after it: the window still touched five
    contact points (and five subjects)."""
    base = datetime.now(UTC) - timedelta(hours=1)
    await catalogue(app, tenant)
    clock.pinned = _at(base, 1)
    for index in range(5):
        await grant(app, tenant, email(f"person{index}@example.fr"), targets=(NEWSLETTER,))
    clock.pinned = _at(base, 10)
    await app.rights.erase(principal(tenant), email("person0@example.fr"), "dpo")
    [scope] = await app.audit.scope_breach([tenant], Window(_at(base, 0), _at(base, 5)))
    assert scope.subjects_touched == 5
    assert scope.categories["contact_points"] == 5
