"""CookieService messages <-> use-case commands and results. Every field is checked here or in
the domain, and InvalidInput names it."""

from __future__ import annotations

from urllib.parse import quote, unquote

from consent.v1 import cookies_pb2 as pb

from consentd.api.converters import (
    enum_in,
    enum_out,
    required_in,
    subject_ref_in,
    time_in,
    time_out,
)
from consentd.app.commands import SubjectSelector
from consentd.app.cookie_choices import CookieAnswer, RecordCookieChoice
from consentd.app.paging import Page
from consentd.domain.catalog import check_text
from consentd.domain.cookie_policy import CookieCategory, CookiePolicy
from consentd.domain.cookies import (
    MAX_USER_AGENT,
    ChoiceMethod,
    ChoiceStatus,
    CookieChoice,
    check_page_url,
    check_visitor_id,
    truncate_ip,
)
from consentd.domain.errors import InvalidInput
from consentd.domain.free_text import without_contacts
from consentd.domain.tcf import MAX_TC_STRING, TcfCore

METHODS = {
    pb.COOKIE_CHOICE_METHOD_ACCEPT_ALL: ChoiceMethod.ACCEPT_ALL,
    pb.COOKIE_CHOICE_METHOD_REFUSE_ALL: ChoiceMethod.REFUSE_ALL,
    pb.COOKIE_CHOICE_METHOD_CUSTOM: ChoiceMethod.CUSTOM,
    pb.COOKIE_CHOICE_METHOD_GPC: ChoiceMethod.GPC,
}
STATUSES = {
    pb.COOKIE_CHOICE_STATUS_NONE: ChoiceStatus.NONE,
    pb.COOKIE_CHOICE_STATUS_VALID: ChoiceStatus.VALID,
    pb.COOKIE_CHOICE_STATUS_EXPIRED: ChoiceStatus.EXPIRED,
    pb.COOKIE_CHOICE_STATUS_REVISION_OUTDATED: ChoiceStatus.REVISION_OUTDATED,
}
# Longer lists than this are not a banner's doing: refuse them before looking at the items.
MAX_LISTED = 50


def _names(values: list[str], field: str) -> tuple[str, ...]:
    if len(values) > MAX_LISTED:
        raise InvalidInput(field, f"must hold at most {MAX_LISTED} categories")
    names = tuple(check_text(f"{field}[{i}]", v, 64) for i, v in enumerate(values))
    for i, name in enumerate(names):
        if name in names[:i]:
            # As a policy's category or a consent's target named twice (it was kept once).
            first = names.index(name)
            raise InvalidInput(f"{field}[{i}]", f"appears twice (as [{first}]): name it once")
    return names


def record_in(request: pb.RecordCookieChoiceRequest, phone_region: str) -> RecordCookieChoice:
    tcf = request.tcf_string
    if len(tcf) > MAX_TC_STRING:
        raise InvalidInput("tcf_string", f"must be at most {MAX_TC_STRING} characters")
    return RecordCookieChoice(
        visitor_id=check_visitor_id(request.visitor_id),
        method=enum_in(METHODS, request.method, "method"),
        policy_revision=request.policy_revision,
        subject=subject_ref_in(request.subject, "subject", phone_region)
        if request.HasField("subject")
        else None,
        granted=_names(list(request.granted_categories), "granted_categories"),
        refused=_names(list(request.refused_categories), "refused_categories"),
        gpc=request.gpc,
        tcf_string=tcf,
        page_url=_without_contacts_in_path(check_page_url(request.page_url), phone_region),
        user_agent=check_text("user_agent", request.user_agent, MAX_USER_AGENT, one_line=True),
        ip_network=truncate_ip(request.ip_address) if request.ip_address else "",
        expires_at=time_in(request.expires_at, "expires_at")
        if request.HasField("expires_at")
        else None,
    )


def _without_contacts_in_path(url: str, region: str) -> str:
    """The page's URL with the phone numbers and IP addresses of its path (percent-decoded)
    replaced by markers, as its e-mail addresses are (check_page_url): `/tel/+33612345101/`
    was kept in clear, beyond the erasure (probe TA). The path is then percent-encoded again:
    stored decoded, `%0D%0A` or `%3F` came back as a line break or a query (probe WA)."""
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if not slash or not any(c.isdigit() or c == ":" for c in path):
        return url
    plain = unquote(path)
    scrubbed = without_contacts(plain, region)
    if scrubbed == plain:
        return url
    return f"{scheme}://{host}/{quote(scrubbed, safe=_PATH_SAFE)}"


# What a path keeps unescaped (RFC 3986 pchar and "/"): the markers' parentheses among them.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def tcf_out(core: TcfCore | None) -> pb.TcfCore | None:
    if core is None:
        return None
    return pb.TcfCore(
        version=core.version,
        created=time_out(core.created),
        last_updated=time_out(core.last_updated),
        cmp_id=core.cmp_id,
        cmp_version=core.cmp_version,
        consent_screen=core.consent_screen,
        consent_language=core.consent_language,
        vendor_list_version=core.vendor_list_version,
        tcf_policy_version=core.tcf_policy_version,
        is_service_specific=core.is_service_specific,
        purposes_consent=core.purposes_consent,
        purposes_legitimate_interest=core.purposes_legitimate_interest,
        special_feature_opt_ins=core.special_feature_opt_ins,
        publisher_country_code=core.publisher_country_code,
        vendor_consent_count=len(core.vendor_consents),
        vendor_legitimate_interest_count=len(core.vendor_legitimate_interests),
    )


def choice_out(choice: CookieChoice | None) -> pb.CookieChoice | None:
    if choice is None:
        return None
    return pb.CookieChoice(
        choice_id=str(choice.choice_id),
        visitor_id=choice.visitor_id,
        subject_id=str(choice.subject_id) if choice.subject_id else "",
        method=enum_out(METHODS, choice.method),
        granted_categories=choice.granted,
        refused_categories=choice.refused,
        policy_revision=choice.policy_revision,
        gpc=choice.gpc,
        recorded_at=time_out(choice.recorded_at),
        expires_at=time_out(choice.expires_at),
        page_url=choice.page_url,
        tcf_string=choice.tcf_string,
        tcf=tcf_out(choice.tcf),
    )


def record_out(answer: CookieAnswer) -> pb.RecordCookieChoiceResponse:
    return pb.RecordCookieChoiceResponse(
        choice=choice_out(answer.choice),
        status=enum_out(STATUSES, answer.status),
        consent_mode=answer.consent_mode,
    )


def get_in(request: pb.GetCookieChoiceRequest) -> str:
    return check_visitor_id(request.visitor_id)


def get_out(answer: CookieAnswer) -> pb.GetCookieChoiceResponse:
    return pb.GetCookieChoiceResponse(
        status=enum_out(STATUSES, answer.status),
        choice=choice_out(answer.choice),
        consent_mode=answer.consent_mode,
        policy_revision=answer.policy_revision,
    )


def list_in(
    request: pb.ListCookieChoicesRequest, phone_region: str
) -> tuple[str | SubjectSelector, int, str]:
    which = request.WhichOneof("owner")
    if which is None:
        raise InvalidInput("owner", "is required: set visitor_id or subject")
    owner: str | SubjectSelector = (
        check_visitor_id(request.visitor_id)
        if which == "visitor_id"
        else subject_ref_in(request.subject, "subject", phone_region)
    )
    return owner, request.page_size, request.page_token


def list_out(page: Page[CookieChoice]) -> pb.ListCookieChoicesResponse:
    choices = [c for c in (choice_out(item) for item in page.items) if c is not None]
    return pb.ListCookieChoicesResponse(choices=choices, next_page_token=page.next_page_token)


def link_in(request: pb.LinkVisitorRequest, phone_region: str) -> tuple[str, SubjectSelector]:
    return (
        check_visitor_id(request.visitor_id),
        subject_ref_in(request.subject, "subject", phone_region),
    )


def policy_in(request: pb.PutCookiePolicyRequest) -> CookiePolicy:
    """The policy to put. A request without one is refused: the put replaces the whole policy,
    so it would silently drop the allowed origins and reset every period to its default."""
    required_in(request, "policy", "the put replaces the whole policy (send it whole)")
    message = request.policy
    if message.HasField("updated_at"):
        raise InvalidInput("policy.updated_at", "is set by the server: leave it empty")
    return CookiePolicy(
        categories=tuple(
            CookieCategory(c.category_id, c.display_name, c.description) for c in message.categories
        ),
        revision=message.revision,
        refusal_validity_months=message.refusal_validity_months,
        acceptance_validity_months=message.acceptance_validity_months,
        consent_mode=tuple((m.signal, tuple(m.categories)) for m in message.consent_mode),
        allowed_origins=tuple(message.allowed_origins),
    )


def policy_out(policy: CookiePolicy) -> pb.CookiePolicy:
    return pb.CookiePolicy(
        categories=[
            pb.CookieCategory(
                category_id=c.category_id, display_name=c.display_name, description=c.description
            )
            for c in policy.categories
        ],
        revision=policy.revision,
        refusal_validity_months=policy.refusal_validity_months,
        acceptance_validity_months=policy.acceptance_validity_months,
        consent_mode=[
            pb.ConsentModeMapping(signal=signal, categories=needs)
            for signal, needs in policy.consent_mode
        ],
        allowed_origins=policy.allowed_origins,
        updated_at=time_out(policy.updated_at),
    )
