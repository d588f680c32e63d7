"""The schema, as SQLAlchemy Core tables. Alembic migrations must match it (`alembic check`).

Every table that holds a tenant's data leads its primary key and unique indexes with tenant_id,
so row-level security and distribution by tenant need no rewrite. Invariants are constraints.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, UUID

from consentd.domain.tenancy import Scope

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

TZ = sa.DateTime(timezone=True)
CHANNELS = "('email','sms','voice_call','chat','social','postal','push','*')"
SCOPES = "('first_party','partners','*')"
STATES = "('granted','refused','withdrawn','expired','erased')"
SOURCES = "('portal','banner','api','import','support')"
ROLES = "('controller','processor')"
KEY = "'^[a-z][a-z0-9_-]{0,63}$'"
SCOPE_NAMES = tuple(scope.value for scope in Scope)


def _tenant_fk() -> sa.ForeignKey:
    return sa.ForeignKey("tenants.tenant_id", ondelete="RESTRICT")


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("processing_role", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.CheckConstraint("slug ~ '^[a-z][a-z0-9-]{0,62}$'", name="slug_format"),
    sa.CheckConstraint(f"processing_role IN {ROLES}", name="processing_role"),
)

subjects = sa.Table(
    "subjects",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("created_at", TZ, nullable=False),
)

subject_identifiers = sa.Table(
    "subject_identifiers",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("digest", BYTEA, primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    ),
    sa.CheckConstraint("kind IN ('external_id','email','phone')", name="kind"),
    sa.CheckConstraint("octet_length(digest) = 32", name="digest_length"),
    sa.Index("ix_subject_identifiers_subject", "tenant_id", "subject_id"),
)

notice_heads = sa.Table(
    "notice_heads",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("notice_id", sa.Text, primary_key=True),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("reconsent_floor", sa.Integer),
    sa.CheckConstraint(f"notice_id ~ {KEY}", name="notice_id_format"),
    sa.CheckConstraint("latest_version > 0", name="latest_version_positive"),
    sa.CheckConstraint("reconsent_floor <= latest_version", name="floor_not_ahead"),
)

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("notice_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("content_sha256", sa.Text, nullable=False),
    sa.Column("requires_reconsent", sa.Boolean, nullable=False),
    sa.Column("published_at", TZ, nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "notice_id"], ["notice_heads.tenant_id", "notice_heads.notice_id"]
    ),
    sa.CheckConstraint("version > 0", name="version_positive"),
    sa.CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
)

purposes = sa.Table(
    "purposes",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("purpose_id", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("lawful_basis", sa.Text, nullable=False),
    sa.Column("notice_id", sa.Text),
    sa.Column("max_validity_days", sa.Integer, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "notice_id"], ["notice_heads.tenant_id", "notice_heads.notice_id"]
    ),
    sa.CheckConstraint(f"purpose_id ~ {KEY}", name="purpose_id_format"),
    sa.CheckConstraint("lawful_basis IN ('consent','legitimate_interest')", name="lawful_basis"),
    sa.CheckConstraint("max_validity_days >= 0", name="max_validity_days"),
)


def _target_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("purpose_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
    ]


def _target_checks() -> list[sa.CheckConstraint]:
    # '*' in all three columns is the "everything" target; it can only be withdrawn.
    return [
        sa.CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        sa.CheckConstraint(f"scope IN {SCOPES}", name="scope"),
        sa.CheckConstraint(f"state IN {STATES}", name="state"),
        sa.CheckConstraint(
            "(purpose_id = '*') = (channel = '*') AND (channel = '*') = (scope = '*')",
            name="all_target_whole",
        ),
        sa.CheckConstraint("purpose_id <> '*' OR state = 'withdrawn'", name="all_only_withdrawn"),
    ]


consent_events = sa.Table(
    "consent_events",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("sequence", sa.BigInteger, sa.Identity(always=True), nullable=False),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    *_target_columns(),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("notice_id", sa.Text),
    sa.Column("notice_version", sa.Integer),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("processing_role", sa.Text, nullable=False),
    sa.Column("recorded_at", TZ, nullable=False),
    sa.Column("valid_until", TZ),
    sa.Column("evidence_reference", sa.Text, nullable=False),
    sa.Column("evidence_ip_digest", BYTEA),
    sa.Column("evidence_ua_digest", BYTEA),
    sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    ),
    sa.ForeignKeyConstraint(
        ["tenant_id", "notice_id", "notice_version"],
        ["notices.tenant_id", "notices.notice_id", "notices.version"],
    ),
    *_target_checks(),
    sa.CheckConstraint(f"source IN {SOURCES}", name="source"),
    sa.CheckConstraint(f"processing_role IN {ROLES}", name="processing_role"),
    sa.CheckConstraint("valid_until IS NULL OR valid_until > recorded_at", name="valid_after"),
    sa.Index("ix_consent_events_subject_sequence", "tenant_id", "subject_id", "sequence"),
)

current_consents = sa.Table(
    "current_consents",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("purpose_id", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("notice_version", sa.Integer),
    sa.Column("valid_until", TZ),
    sa.Column("updated_at", TZ, nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "event_id"], ["consent_events.tenant_id", "consent_events.event_id"]
    ),
    *_target_checks(),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    # The public part of the key, after the tenant: looked up, never secret.
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("secret_sha256", BYTEA, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("scopes", sa.ARRAY(sa.Text), nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("expires_at", TZ),
    sa.Column("revoked_at", TZ),
    sa.CheckConstraint("key_id ~ '^[a-z2-7]{16}$'", name="key_id_format"),
    sa.CheckConstraint("octet_length(secret_sha256) = 32", name="secret_sha256_length"),
    sa.CheckConstraint(f"scopes <@ ARRAY{list(SCOPE_NAMES)}::text[]", name="known_scopes"),
    sa.CheckConstraint("cardinality(scopes) > 0", name="some_scope"),
)

token_issuers = sa.Table(
    "token_issuers",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("issuer", sa.Text, primary_key=True),
    sa.Column("audience", sa.Text, nullable=False),
    sa.Column("public_key_pem", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("caller", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("request_sha256", BYTEA, nullable=False),
    sa.Column("response", BYTEA, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("expires_at", TZ, nullable=False),
    sa.CheckConstraint("char_length(key) BETWEEN 1 AND 255", name="key_length"),
    sa.Index("ix_idempotency_keys_expires", "tenant_id", "expires_at"),
)

# --- Cookie choices (issue #3) -------------------------------------------------------------------
METHODS = "('accept_all','refuse_all','custom','gpc')"
SIGNALS = (
    "('ad_storage','ad_user_data','ad_personalization','analytics_storage',"
    "'functionality_storage','personalization_storage','security_storage')"
)
VISITOR = "'^[A-Za-z0-9_-]{16,64}$'"

cookie_policies = sa.Table(
    "cookie_policies",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("refusal_validity_months", sa.Integer, nullable=False),
    sa.Column("acceptance_validity_months", sa.Integer, nullable=False),
    sa.Column("allowed_origins", ARRAY(sa.Text), nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.CheckConstraint("revision > 0", name="revision_positive"),
    sa.CheckConstraint("refusal_validity_months BETWEEN 1 AND 12", name="refusal_months"),
    sa.CheckConstraint("acceptance_validity_months BETWEEN 1 AND 12", name="acceptance_months"),
    sa.CheckConstraint("cardinality(allowed_origins) <= 50", name="origins_count"),
)

cookie_categories = sa.Table(
    "cookie_categories",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("category_id", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(["tenant_id"], ["cookie_policies.tenant_id"], ondelete="CASCADE"),
    sa.CheckConstraint(f"category_id ~ {KEY}", name="category_id_format"),
    sa.CheckConstraint("category_id <> 'necessary'", name="not_necessary"),
)

cookie_consent_modes = sa.Table(
    "cookie_consent_modes",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("signal", sa.Text, primary_key=True),
    sa.Column("categories", ARRAY(sa.Text), nullable=False),
    sa.ForeignKeyConstraint(["tenant_id"], ["cookie_policies.tenant_id"], ondelete="CASCADE"),
    sa.CheckConstraint(f"signal IN {SIGNALS}", name="signal"),
    sa.CheckConstraint("cardinality(categories) >= 1", name="categories_present"),
)

cookie_visitors = sa.Table(
    "cookie_visitors",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("visitor_id", sa.Text, primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True)),
    sa.Column("first_seen_at", TZ, nullable=False),
    sa.Column("last_seen_at", TZ, nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    ),
    sa.CheckConstraint(f"visitor_id ~ {VISITOR}", name="visitor_id_format"),
    sa.Index("ix_cookie_visitors_last_seen", "tenant_id", "last_seen_at"),
)

cookie_choices = sa.Table(
    "cookie_choices",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("choice_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("sequence", sa.BigInteger, sa.Identity(always=True), nullable=False),
    sa.Column("visitor_id", sa.Text, nullable=False),
    sa.Column("subject_id", UUID(as_uuid=True)),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("granted", ARRAY(sa.Text), nullable=False),
    sa.Column("refused", ARRAY(sa.Text), nullable=False),
    sa.Column("policy_revision", sa.Integer, nullable=False),
    sa.Column("gpc", sa.Boolean, nullable=False),
    sa.Column("recorded_at", TZ, nullable=False),
    sa.Column("expires_at", TZ, nullable=False),
    sa.Column("page_url", sa.Text, nullable=False),
    sa.Column("ip_digest", BYTEA),
    sa.Column("ua_digest", BYTEA),
    # TCF provenance: the string as received and the core fields decoded from it.
    sa.Column("tcf_string", sa.Text),
    sa.Column("tcf_cmp_id", sa.Integer),
    sa.Column("tcf_cmp_version", sa.Integer),
    sa.Column("tcf_created", TZ),
    sa.Column("tcf_last_updated", TZ),
    sa.Column("tcf_consent_screen", sa.Integer),
    sa.Column("tcf_consent_language", sa.Text),
    sa.Column("tcf_vendor_list_version", sa.Integer),
    sa.Column("tcf_policy_version", sa.Integer),
    sa.Column("tcf_purposes_consent", ARRAY(sa.Integer)),
    sa.Column("tcf_purposes_legitimate_interest", ARRAY(sa.Integer)),
    sa.ForeignKeyConstraint(
        ["tenant_id", "visitor_id"], ["cookie_visitors.tenant_id", "cookie_visitors.visitor_id"]
    ),
    sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    ),
    sa.CheckConstraint(f"method IN {METHODS}", name="method"),
    sa.CheckConstraint("'necessary' = ANY(granted)", name="necessary_granted"),
    sa.CheckConstraint("NOT (granted && refused)", name="granted_or_refused"),
    sa.CheckConstraint("method <> 'gpc' OR gpc", name="gpc_method_has_signal"),
    sa.CheckConstraint("policy_revision > 0", name="revision_positive"),
    sa.CheckConstraint("expires_at > recorded_at", name="expires_after"),
    # The privacy policy's ceiling, in UTC calendar months whatever the session time zone.
    sa.CheckConstraint(
        "(expires_at AT TIME ZONE 'UTC') <= "
        "(recorded_at AT TIME ZONE 'UTC') + interval '12 months'",
        name="at_most_12_months",
    ),
    sa.CheckConstraint("char_length(page_url) <= 2048", name="page_url_length"),
    sa.CheckConstraint("octet_length(ip_digest) = 32", name="ip_digest_length"),
    sa.CheckConstraint("octet_length(ua_digest) = 32", name="ua_digest_length"),
    sa.CheckConstraint("char_length(tcf_string) <= 4096", name="tcf_string_length"),
    sa.CheckConstraint("(tcf_string IS NULL) = (tcf_cmp_id IS NULL)", name="tcf_decoded"),
    sa.Index("ix_cookie_choices_visitor", "tenant_id", "visitor_id", "sequence"),
    sa.Index("ix_cookie_choices_subject", "tenant_id", "subject_id", "sequence"),
    sa.Index("ix_cookie_choices_expires", "tenant_id", "expires_at"),
)

# What the purge keeps of the choices it deletes: counts per month recorded and method.
cookie_choice_counts = sa.Table(
    "cookie_choice_counts",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("month", sa.Date, primary_key=True),
    sa.Column("method", sa.Text, primary_key=True),
    sa.Column("choices", sa.BigInteger, nullable=False),
    sa.CheckConstraint(f"method IN {METHODS}", name="method"),
    sa.CheckConstraint("choices >= 0", name="choices_not_negative"),
    sa.CheckConstraint("extract(day FROM month) = 1", name="month_start"),
)

# One row per purge run and tenant: what it deleted, never whose. Issue #5's audit chain will
# take these over.
purge_runs = sa.Table(
    "purge_runs",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("run_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("started_at", TZ, nullable=False),
    sa.Column("finished_at", TZ),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("cutoff", TZ, nullable=False),
    sa.Column("choices_deleted", sa.BigInteger, nullable=False),
    sa.Column("visitors_deleted", sa.BigInteger, nullable=False),
    sa.Column("batches", sa.Integer, nullable=False),
    sa.CheckConstraint("status IN ('running','finished','interrupted')", name="status"),
    sa.CheckConstraint("(status = 'running') = (finished_at IS NULL)", name="finished_when_done"),
    sa.CheckConstraint(
        "choices_deleted >= 0 AND visitors_deleted >= 0 AND batches >= 0", name="counts"
    ),
    sa.Index("ix_purge_runs_started", "tenant_id", "started_at"),
)
