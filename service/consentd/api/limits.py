"""Numeric fields of the contract whose own limit, checked where they are used, is far below
their column's range: past the column (which api/validation.py check_ranges refuses before
anything runs) they are refused with their own limit, the answer a smaller excess gets."""

from __future__ import annotations

from consentd.app.audit import MAX_BREACH_PAGE
from consentd.app.commands import MAX_PAGE_SIZE
from consentd.app.requests import MAX_DUE_WITHIN_DAYS
from consentd.domain.cookie_policy import DEFAULT_REFUSAL_MONTHS, MAX_REVISION
from consentd.domain.months import MAX_MONTHS
from consentd.domain.rights import MAX_EXTENSION_MONTHS

MAX_VALIDITY_DAYS = 3660
MAX_CHANGES = 1000
# Change feeds (WatchConsentChanges) a tenant may hold open on one server (api/campaign_servicer).
MAX_FEEDS_PER_TENANT = 32
# StreamCheckConsent calls a tenant may hold open on one server, and how long one may wait for
# its caller's next message: one key held 4,800 quiet streams for good, 20-36 KB each (probe QB).
MAX_CHECK_STREAMS_PER_TENANT = 64
STREAM_IDLE_SECONDS = 120.0

# By field name, or by `Message.field` for one whose limit is not the others' (read first).
FIELD_LIMITS = {
    "page_size": f"must be between 1 and {MAX_PAGE_SIZE} (0 or unset: the method's default)",
    # Each list's own default, as a smaller excess is told it (probe IB: 501 was told "0 or
    # unset: 50", 2**32 - 1 "the method's default").
    **{
        f"{request}.page_size": f"must be between 1 and {MAX_PAGE_SIZE} (0 or unset: {default})"
        for request, default in (
            ("ListPurposesRequest", 100),
            ("ListNoticesRequest", 100),
            ("ListConsentHistoryRequest", 50),
            ("ListRightsRequestsRequest", 100),
        )
    },
    # Probe DV: told the others' 500, where 5,000 is taken.
    "ListBreachSubjectsRequest.page_size": (
        f"must be between 1 and {MAX_BREACH_PAGE} (0 or unset: 1000)"
    ),
    "max_validity_days": f"must be at most {MAX_VALIDITY_DAYS}",
    "max_changes": f"must be between 1 and {MAX_CHANGES} (0 or unset: 500)",
    # The cookie policy's (domain/cookie_policy.py): 2**31 was told "at most 2147483647".
    "acceptance_validity_months": f"must be 1 to {MAX_MONTHS} months (0: {MAX_MONTHS})",
    "refusal_validity_months": f"must be 1 to {MAX_MONTHS} months (0: {DEFAULT_REFUSAL_MONTHS})",
    # Probe DO: 2**32 - 1 was told "at most 2147483647" where 3 is told "1 to 2".
    "months": f"must be 1 to {MAX_EXTENSION_MONTHS}",
    "due_within_days": f"must be 1 to {MAX_DUE_WITHIN_DAYS} (or unset)",
    "revision": f"must be 1 to {MAX_REVISION} (0 keeps the current revision)",
}
