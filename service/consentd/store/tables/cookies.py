"""Cookie policies, visitors, choices, their monthly counts and the cookie purge's runs."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, UUID

from consentd.domain.cookies import ChoiceMethod
from consentd.store.tables._base import KEY, TZ, metadata, sql_values, tenant_fk

# --- Cookie choices (issue #3) -------------------------------------------------------------------
METHODS = sql_values(ChoiceMethod)


SIGNALS = (
    "('ad_storage','ad_user_data','ad_personalization','analytics_storage',"
    "'functionality_storage','personalization_storage','security_storage')"
)


VISITOR = "'^[A-Za-z0-9_-]{16,64}$'"


cookie_policies = sa.Table(
    "cookie_policies",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
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
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
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
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("month", sa.Date, primary_key=True),
    sa.Column("method", sa.Text, primary_key=True),
    sa.Column("choices", sa.BigInteger, nullable=False),
    sa.CheckConstraint(f"method IN {METHODS}", name="method"),
    sa.CheckConstraint("choices >= 0", name="choices_not_negative"),
    sa.CheckConstraint("extract(day FROM month) = 1", name="month_start"),
)


# One row per cookie purge run and tenant: what it deleted, never whose. It tracks a run while it
# is in flight (running -> finished | interrupted); the audit chain gets one `cookies.purged`
# entry per finished run (the proof, append-only).
purge_runs = sa.Table(
    "purge_runs",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
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
