"""Subjects made holding a contact point erased before (by a system's call naming it since, a
"no" most often), who have not granted in person since: the erased person named again, to whom
no system's grant counts on any channel (app/taken_back.py without_an_erased_persons_grants; the
import, app/importing.py). Probes ZA, ZE: a new phone's grant beside the erased address, or a
"no" naming both then a grant by the phone alone (API or file), made checks by the erased
address ALLOW. The suppression's time is the latest erasure (0031)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from consentd.store.driver import Driver

_BORN_ERASED = """
SELECT DISTINCT h.subject_id FROM contact_point_holdings h
JOIN subjects s ON s.tenant_id = h.tenant_id AND s.subject_id = h.subject_id
JOIN suppressions p ON p.tenant_id = h.tenant_id AND p.kind = h.kind AND p.digest = h.digest
WHERE h.tenant_id = $1 AND h.subject_id = ANY($2::uuid[]) AND h.held_until IS NULL
  AND p.reason = 'erased' AND h.held_from <= s.created_at AND s.created_at >= p.created_at
  AND NOT EXISTS (
    SELECT 1 FROM consent_events e WHERE e.tenant_id = h.tenant_id
      AND e.subject_id = h.subject_id AND e.state = 'granted' AND e.attested IS NOT FALSE
      AND e.source IN ('portal', 'banner', 'support') AND e.recorded_at > p.created_at)
"""


async def born_erased(raw: Driver, tenant_id: UUID, subject_ids: Sequence[UUID]) -> set[UUID]:
    """Those of these subjects made holding an erased contact point, not come back in person."""
    if not subject_ids:
        return set()
    rows = await raw.fetch(_BORN_ERASED, tenant_id, list(subject_ids))
    return {r["subject_id"] for r in rows}
