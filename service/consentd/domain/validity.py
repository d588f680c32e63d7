"""How long a grant counts: the caller may ask for less than the purpose allows, never more."""

from __future__ import annotations

from datetime import datetime, timedelta

from consentd.domain.errors import InvalidInput
from consentd.domain.model import ConsentState, Purpose


def valid_until(
    purpose: Purpose,
    state: ConsentState,
    recorded_at: datetime,
    requested: datetime | None,
    field: str,
) -> datetime | None:
    """End of validity of a new fact: the earlier of the caller's ask and the purpose's maximum.

    Only grants expire. Raises InvalidInput when the ask is not in the future or is set on a
    refusal.
    """
    if state is not ConsentState.GRANTED:
        if requested is not None:
            raise InvalidInput(field, "valid_until applies only to GRANTED choices")
        return None
    if requested is not None and requested <= recorded_at:
        raise InvalidInput(field, "must be in the future")
    ceiling = (
        recorded_at + timedelta(days=purpose.max_validity_days)
        if purpose.max_validity_days
        else None
    )
    if requested is None or ceiling is None:
        return requested or ceiling
    return min(requested, ceiling)
