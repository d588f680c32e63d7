"""Which scopes may call which RPC. Default deny: a method missing here answers PERMISSION_DENIED,
so a new RPC cannot be forgotten open (tests/e2e/test_scopes.py walks every service descriptor)."""

from __future__ import annotations

from consentd.domain.errors import PermissionDenied
from consentd.domain.tenancy import Principal, Scope

CHECK, WRITE, COOKIES, SELF, ADMIN, SUPPORT = (
    Scope.CHECK,
    Scope.WRITE,
    Scope.COOKIES,
    Scope.SELF,
    Scope.ADMIN,
    Scope.SUPPORT,
)
CATALOG_READERS = frozenset({CHECK, WRITE, COOKIES, SELF, ADMIN, SUPPORT})

ALLOWED: dict[str, frozenset[Scope]] = {
    # A portal token (SELF): the person's own grant or refusal, for itself alone (opting back
    # in from the preference centre; app/consents.py).
    "/consent.v1.ConsentService/RecordConsent": frozenset({WRITE, SELF, ADMIN}),
    "/consent.v1.ConsentService/WithdrawConsent": frozenset({WRITE, SELF, ADMIN}),
    "/consent.v1.ConsentService/CheckConsent": frozenset({CHECK, WRITE, ADMIN}),
    "/consent.v1.ConsentService/GetSubjectConsents": frozenset({CHECK, WRITE, SELF, ADMIN}),
    "/consent.v1.ConsentService/ListConsentHistory": frozenset({WRITE, SELF, ADMIN}),
    # The token is the proof; a portal token may confirm its own person's grants only.
    "/consent.v1.ConsentService/ConfirmConsent": frozenset({WRITE, SELF, ADMIN}),
    # Campaign tools read at scale what CheckConsent answers one at a time: the same scopes.
    # HashContactPoints goes with the suppression export (matching a list against it).
    "/consent.v1.CampaignService/BatchCheckConsent": frozenset({CHECK, WRITE, ADMIN}),
    "/consent.v1.CampaignService/StreamCheckConsent": frozenset({CHECK, WRITE, ADMIN}),
    "/consent.v1.CampaignService/WatchConsentChanges": frozenset({CHECK, WRITE, ADMIN}),
    "/consent.v1.CampaignService/ExportSuppressionList": frozenset({CHECK, WRITE, ADMIN}),
    "/consent.v1.CampaignService/HashContactPoints": frozenset({CHECK, WRITE, ADMIN}),
    # Counts of people per target and state, no person in them.
    "/consent.v1.CampaignService/SummarizeConsents": frozenset({CHECK, WRITE, ADMIN}),
    "/consent.v1.CatalogService/PutPurpose": frozenset({ADMIN}),
    "/consent.v1.CatalogService/PublishNotice": frozenset({ADMIN}),
    "/consent.v1.CatalogService/GetPurpose": CATALOG_READERS,
    "/consent.v1.CatalogService/ListPurposes": CATALOG_READERS,
    "/consent.v1.CatalogService/ListNotices": CATALOG_READERS,
    # cookies:write is the publishable key of web pages: whatever it may do, anyone may. So it
    # records and reads a visitor's choice by the visitor's own random id, and nothing that
    # names a person (a choice with a subject, LinkVisitor, a subject's list: servers' keys).
    "/consent.v1.CookieService/RecordCookieChoice": frozenset({COOKIES, WRITE, ADMIN}),
    "/consent.v1.CookieService/GetCookieChoice": frozenset({COOKIES, CHECK, WRITE, ADMIN}),
    "/consent.v1.CookieService/ListCookieChoices": frozenset({WRITE, ADMIN}),
    "/consent.v1.CookieService/LinkVisitor": frozenset({WRITE, ADMIN}),
    "/consent.v1.CookieService/PutCookiePolicy": frozenset({ADMIN}),
    "/consent.v1.CookieService/GetCookiePolicy": CATALOG_READERS,
    # Rights, audit and retention are the data protection officer's (admin). A portal token
    # (subject:self) may export its own data and file its own rights request; the use cases
    # guard it to its own subject (app/subjects.py guard). A support desk (rights:support) files
    # a caller's request, checks their identity, records their objection or restriction at
    # once and reads where requests stand (probe GG: it needed admin, which also erases
    # anyone, rewrites the catalogue and lifts legal holds); erasing, exporting and deciding a
    # request stay admin's.
    "/consent.v1.RightsService/ExportSubject": frozenset({SELF, ADMIN}),
    "/consent.v1.RightsService/EraseSubject": frozenset({ADMIN}),
    "/consent.v1.RightsService/RestrictProcessing": frozenset({SUPPORT, ADMIN}),
    "/consent.v1.RightsService/RecordObjection": frozenset({SUPPORT, ADMIN}),
    "/consent.v1.RightsService/RectifyContact": frozenset({ADMIN}),
    "/consent.v1.RightsService/SubmitRightsRequest": frozenset({SELF, SUPPORT, ADMIN}),
    "/consent.v1.RightsService/ResendVerificationCode": frozenset({SUPPORT, ADMIN}),
    "/consent.v1.RightsService/ConfirmIdentity": frozenset({SUPPORT, ADMIN}),
    "/consent.v1.RightsService/StartRightsRequest": frozenset({ADMIN}),
    "/consent.v1.RightsService/ExtendRightsRequest": frozenset({ADMIN}),
    "/consent.v1.RightsService/RecordPersonTold": frozenset({SUPPORT, ADMIN}),
    "/consent.v1.RightsService/CompleteRightsRequest": frozenset({ADMIN}),
    "/consent.v1.RightsService/RefuseRightsRequest": frozenset({ADMIN}),
    "/consent.v1.RightsService/GetRightsRequest": frozenset({SUPPORT, ADMIN}),
    "/consent.v1.RightsService/ListRightsRequests": frozenset({SUPPORT, ADMIN}),
    "/consent.v1.AuditService/VerifyAuditChain": frozenset({ADMIN}),
    "/consent.v1.AuditService/CreateAuditCheckpoint": frozenset({ADMIN}),
    "/consent.v1.AuditService/ListAuditCheckpoints": frozenset({ADMIN}),
    "/consent.v1.AuditService/GetAuditTreeHead": frozenset({ADMIN}),
    "/consent.v1.AuditService/ProveAuditInclusion": frozenset({ADMIN}),
    "/consent.v1.AuditService/ProveAuditConsistency": frozenset({ADMIN}),
    "/consent.v1.AuditService/ScopeBreach": frozenset({ADMIN}),
    "/consent.v1.AuditService/ListBreachSubjects": frozenset({ADMIN}),
    "/consent.v1.RetentionService/GetRetentionSettings": frozenset({ADMIN}),
    "/consent.v1.RetentionService/PutRetentionSettings": frozenset({ADMIN}),
}


def authorize(method: str, principal: Principal) -> None:
    """Raises PermissionDenied unless one of the caller's scopes may call `method`."""
    allowed = ALLOWED.get(method, frozenset())
    if not allowed & principal.scopes:
        # Which scopes would (probe DF: support's key, write + attest, was refused
        # RectifyContact with no word of the admin scope it needs).
        needs = ", ".join(sorted(allowed)) or "none: not served"
        # A portal token (or link) is named only where one may call (probe NA: SummarizeConsents
        # suggested one could).
        who = "a key, or a portal token for subject:self," if SELF in allowed else "a key"
        raise PermissionDenied(
            f"the caller's scopes do not allow {method.rsplit('/', 1)[-1]} ({who} with one of: "
            f"{needs})"
        )


def reads_history(principal: Principal) -> bool:
    """Whether the caller may read a subject's history (ListConsentHistory): who recorded an
    event and its evidence reference are shown on the change feed to those callers only (a
    consent:check key of a campaign tool got on the feed the free text the history refused it)."""
    return bool(ALLOWED["/consent.v1.ConsentService/ListConsentHistory"] & principal.scopes)
