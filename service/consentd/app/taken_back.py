"""Contact points only the person takes back (domain/contact_points.Closed: erased at their
request, left by a holder who objected or sent a STOP): a system's grant never does, whoever holds
them now must have granted in person since. And what "a system" and "in person" mean. Used by
app/standing.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from consentd.app.commands import RecordConsent
from consentd.app.ports import Digest, UnitOfWork
from consentd.domain.contact_points import Closed, reached
from consentd.domain.decision import PERSON_SOURCES
from consentd.domain.errors import FailedPrecondition
from consentd.domain.model import Channel, ConsentState, Target
from consentd.domain.rights import BlockKind

# What "only the person" means, in the refusals' messages.
IN_PERSON = (
    "source PORTAL, BANNER or SUPPORT, from a key with scope consent:attest or admin; a "
    "source API or IMPORT, or a key without either, is a system"
)


def refuse_systems_return(command: RecordConsent, closed: Closed | None) -> None:
    """A grant a system sends never takes back a contact point only the person takes back
    (`closed`; None: it is not): erased at the person's request (they objected, had themselves
    erased, and the next CRM sync's grant made a new subject and a check ALLOW), or left by a
    holder who objected (RectifyContact: their "no" stays on the old address). Only the person
    does (a grant through the portal, a banner or support). Raises FailedPrecondition, saying
    no time: the instant of another person's erasure or objection matched their subject's in
    the change feed (probe XA)."""
    if closed is None or not systems_grant(command):
        return
    if not closed.whole:
        # Of the targets it closed, those this record grants: the others are not the
        # caller's business, and all of them overflowed the status's 16 KiB (probe DQ).
        asked = {c.target for c in command.choices if c.state is ConsentState.GRANTED}
        raise FailedPrecondition(
            "the person who held this contact point before said no to "
            f"{_named(closed.targets & asked)} themselves, and that stays on it: a grant from "
            f"a system does not lift it; only the person who holds it now does ({IN_PERSON})",
            code="STOP_IN_FORCE",
        )
    if closed.reason is BlockKind.ERASED:
        raise _erased_point()
    raise FailedPrecondition(
        "the person who held this contact point before objected (or withdrew "
        "everything on its channel: a STOP), and that stays on it: a grant from a system does "
        "not lift it; only the person who "
        f"holds it now does ({IN_PERSON})",
        code="OBJECTION_IN_FORCE",
    )


def _named(targets: Iterable[Target], most: int = 5) -> str:
    """Targets as a message names them, `most` at most: purpose (channel, scope)."""
    names = sorted(f"{t.purpose} ({t.channel.value}, {t.scope.value})" for t in targets)
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def systems_grant(command: RecordConsent) -> bool:
    """A grant from a system, not from the person (refuse_grant_over_objection): source API or
    IMPORT, or a source in person from a caller that does not vouch for it."""
    return not command.in_person and any(c.state is ConsentState.GRANTED for c in command.choices)


async def without_closed_grants(
    uow: UnitOfWork, command: RecordConsent, closures: Mapping[Digest, Closed]
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without a system's grants that would take back a closed contact point
    (erased, left by an objector or under a STOP) whose holder now has not come back in person
    since it was closed (came_back; the holder of that contact point, not of another identifier
    named beside it: probe S): grants of the channels it reaches (an address: e-mail; a phone:
    SMS and calls; held by someone or by nobody; probe BL: a customer's e-mail grant was refused
    for a number they held). Its refusals and other grants stand (a refusal beside such a grant
    was lost with the whole call; probe BL). Raises (refuse_systems_return) when nothing else is
    left. Returns the command left and the targets dropped."""
    if not closures or not systems_grant(command):
        return command, ()
    held = await uow.rights.holdings({d: c.at for d, c in closures.items()})
    shut: list[Closed] = []
    # Per closed channel set, the targets taken back on it nonetheless.
    rules: list[tuple[frozenset[Channel], frozenset[Target]]] = []
    targets: set[Target] = set()
    for digest, closure in closures.items():
        back = await _back(uow, held.get(digest), closure)
        # An earlier holder's own "no" to these targets: each taken back by the holder's own
        # "yes" to it (probe DP: a "yes" to another purpose reopened it to systems).
        still = closure.targets - back
        targets |= still
        channels = reached([digest[0]])
        # On a STOP's channels its holder sent themselves: target by target (probe DS); on the
        # others, the holder's "yes" to anything on them takes it back.
        own = channels if Channel.ALL in closure.per_target else channels & closure.per_target
        open_ = any(t.channel in channels for t in back)  # the rest taken back by any "yes"
        if closure.whole and own:
            rules.append((own, back))
        if closure.whole and not open_:
            rules.append((channels - own, frozenset()))
        if closure.whole and (own or not open_):
            shut.append(closure._replace(targets=still))
        elif still:
            shut.append(Closed(closure.reason, closure.at, still, whole=False))
    left, blocked = command.without_grants(
        lambda c: (
            c.target in targets
            or any(c.target.channel in on and c.target not in taken for on, taken in rules)
        )
    )
    if blocked and not left.choices:  # the reason of a closure that blocked one of them
        why = (c for c in shut if c.whole or c.targets.intersection(blocked))
        refuse_systems_return(command, latest_closure(why))
    return left, blocked


async def without_an_erased_persons_grants(
    uow: UnitOfWork, command: RecordConsent, subject_id: UUID
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without any of a system's grants when its subject was made holding a
    contact point erased before and has not come back in person (store/reborn.py): the erased
    person named again, on no channel brought back, where without_closed_grants drops only the
    erased point's channels. A subject known before the erasure, given the address since,
    keeps its grants on other channels. Its refusals stand. Raises when nothing else is left."""
    if not systems_grant(command) or not await uow.rights.born_erased(subject_id):
        return command, ()
    left, blocked = command.without_grants(lambda c: True)
    if not left.choices:
        raise _erased_point()
    return left, blocked


def _erased_point() -> FailedPrecondition:
    return FailedPrecondition(
        "this contact point was erased (at the person's request, or "
        "by the tenant's retention of inactive subjects): a grant from a system does not "
        f"bring the person back; only the person does ({IN_PERSON})",
        code="CONTACT_POINT_ERASED",
    )


async def _back(
    uow: UnitOfWork, holding: tuple[UUID, datetime] | None, closure: Closed
) -> frozenset[Target]:
    """What the holder of a closed contact point (`holding`: who, since when; None: nobody)
    took back since (came_back). A grant before the holder took the address over says nothing
    of it: a customer's portal grant, then RectifyContact giving them the address, let a CRM
    grant through (probe U). A grant made with the address (at its holding's start) counts,
    and so does one made with it before they moved away and back since it was closed (probe
    BR)."""
    if holding is None:
        return frozenset()
    return await came_back(uow, holding[0], max(closure.at, holding[1] - timedelta(microseconds=1)))


async def without_held_closed_grants(
    uow: UnitOfWork, command: RecordConsent, subject_id: UUID, named: Sequence[Digest]
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """without_closed_grants for the contact points the subject holds besides the named ones: a
    CRM grant naming a customer by external id took back the erased address an operator had
    given them (RectifyContact), and a check of the address said ALLOW (probe BI)."""
    if not systems_grant(command):
        return command, ()
    held, named_ = await uow.rights.held_closures(subject_id), set(named)
    others = {d: c for d, c in held.items() if d not in named_}
    return await without_closed_grants(uow, command, others)


def latest_closure(found: Iterable[Closed]) -> Closed | None:
    """Of the closures of a request's contact points, the latest (an erasure on a tie)."""
    return max(found, key=lambda c: (c.at, c.reason is BlockKind.ERASED), default=None)


async def came_back(uow: UnitOfWork, subject_id: UUID, closed: datetime) -> frozenset[Target]:
    """The targets the person holding a closed contact point (erased, left by an objector)
    granted themselves since it was closed: their latest word on it (persons_words, whatever a
    system wrote since: a CRM's bounce "no" closed it again for good, probe DS) a grant from
    the portal, a banner or support decided after it. A closure of every target takes it back
    on a channel that contact point reaches (a grant for their phone took back an erased
    address, probe BN; one sent late with a decided_at from before they held it says nothing
    of it). A refusal or withdrawal (the objector clicking "unsubscribe" in an old newsletter
    let the next CRM grant through; probe S), a system's fact, a rights request or another
    identifier linked is not the person taking it back. Nor is a grant in person from a
    caller that does not speak for the person (attested False): a plain write key's PORTAL
    grant for the holder's phone, then a CRM grant for the erased address, reopened it (probe
    Y; events from before migration 0033 are trusted on their source, as they were)."""
    return frozenset(
        word.target
        for word in await uow.consents.persons_words(subject_id)
        if word.source in PERSON_SOURCES
        and word.attested is not False
        and word.state is ConsentState.GRANTED
        and (word.decided_at or word.recorded_at) > closed
    )
