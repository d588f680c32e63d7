"""The schema, as SQLAlchemy Core tables. Alembic migrations must match it (`alembic check`).

Every table that holds a tenant's data leads its primary key and unique indexes with tenant_id,
so row-level security and distribution by tenant need no rewrite. Invariants are constraints.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, JSONB, UUID

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
    # Set when the subject was erased: its key is destroyed, its history stays (pseudonymous).
    sa.Column("erased_at", TZ),
)

subject_identifiers = sa.Table(
    "subject_identifiers",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("digest", BYTEA, primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    # The normalised value sealed under the subject's data key (for exports); NULL before 0005.
    sa.Column("sealed_value", BYTEA),
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
    sa.Column("evidence_sealed", BYTEA),
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

# The change feed's transactional outbox. The head row hands out positions: a writer locks it
# (INSERT ... ON CONFLICT DO UPDATE) before it inserts its events and keeps the lock until it
# commits, so positions are 1, 2, 3... per tenant in commit order, and a rolled-back write gives
# its numbers back. An identity column could not promise that: its values are taken at insert
# time and become visible in commit order, so a reader would see gaps that fill in later.
consent_change_heads = sa.Table(
    "consent_change_heads",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.CheckConstraint("last_position >= 0", name="last_position"),
)

consent_changes = sa.Table(
    "consent_changes",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "event_id"], ["consent_events.tenant_id", "consent_events.event_id"]
    ),
    sa.CheckConstraint("position > 0", name="position_positive"),
    sa.UniqueConstraint("tenant_id", "event_id", name="uq_consent_changes_event"),
)


def _subject_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    )


subject_keys = sa.Table(
    "subject_keys",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), primary_key=True),
    # The subject's data key, wrapped under the service secret. Erasure deletes the row.
    sa.Column("wrapped_key", BYTEA, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    _subject_fk(),
)

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    # The same keyed hash as subject_identifiers.digest; no link to any subject is kept.
    sa.Column("digest", BYTEA, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.CheckConstraint("kind IN ('external_id','email','phone')", name="kind"),
    sa.CheckConstraint("octet_length(digest) = 32", name="digest_length"),
    sa.CheckConstraint("reason IN ('erased','suppressed')", name="reason"),
)

subject_blocks = sa.Table(
    "subject_blocks",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("block_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("since", TZ, nullable=False),
    sa.Column("lifted_at", TZ),
    sa.Column("request_id", UUID(as_uuid=True)),
    _subject_fk(),
    sa.CheckConstraint("kind IN ('restricted','objected')", name="kind"),
    sa.CheckConstraint("lifted_at IS NULL OR lifted_at >= since", name="lifted_after"),
    sa.Index("ix_subject_blocks_subject", "tenant_id", "subject_id"),
    # At most one block of each kind in force per subject: concurrent callers converge on it.
    sa.Index(
        "uq_subject_blocks_active",
        "tenant_id",
        "subject_id",
        "kind",
        unique=True,
        postgresql_where=sa.text("lifted_at IS NULL"),
    ),
)

contact_changes = sa.Table(
    "contact_changes",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("change_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    # The value sealed under the subject's data key; unreadable once the subject is erased.
    sa.Column("sealed_value", BYTEA),
    sa.Column("changed_at", TZ, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    _subject_fk(),
    sa.CheckConstraint("kind IN ('external_id','email','phone')", name="kind"),
    sa.CheckConstraint("action IN ('added','removed')", name="action"),
    sa.Index("ix_contact_changes_subject", "tenant_id", "subject_id", "changed_at"),
)

REQUEST_KINDS = "('access','rectify','erase','restrict','object','port')"
REQUEST_STATES = "('received','identity_verified','in_progress','done','refused')"

rights_requests = sa.Table(
    "rights_requests",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("request_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("received_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Column("verified_at", TZ),
    sa.Column("due_at", TZ),
    sa.Column("extended_due_at", TZ),
    sa.Column("extension_reason", sa.Text, nullable=False),
    sa.Column("closed_at", TZ),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("verification_method", sa.Text, nullable=False),
    sa.Column("code_digest", BYTEA),
    sa.Column("code_expires_at", TZ),
    sa.Column("code_attempts", sa.Integer, nullable=False),
    _subject_fk(),
    sa.CheckConstraint(f"kind IN {REQUEST_KINDS}", name="kind"),
    sa.CheckConstraint(f"state IN {REQUEST_STATES}", name="state"),
    sa.CheckConstraint("code_attempts >= 0", name="code_attempts"),
    sa.CheckConstraint(
        "(state = 'received') = (verified_at IS NULL AND due_at IS NULL) OR state = 'refused'",
        name="due_once_verified",
    ),
    sa.CheckConstraint("extended_due_at IS NULL OR extended_due_at > due_at", name="extension"),
    sa.CheckConstraint("(closed_at IS NULL) = (state NOT IN ('done','refused'))", name="closed"),
    sa.Index("ix_rights_requests_subject", "tenant_id", "subject_id"),
    sa.Index("ix_rights_requests_open", "tenant_id", "state", "due_at"),
)

audit_heads = sa.Table(
    "audit_heads",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", BYTEA, nullable=False),
    # Entries up to here were removed by retention; a checkpoint at this seq anchors the rest.
    sa.Column("pruned_through", sa.BigInteger, nullable=False),
    sa.CheckConstraint("last_seq >= 0", name="last_seq"),
    sa.CheckConstraint("octet_length(last_hash) = 32", name="hash_length"),
    sa.CheckConstraint("pruned_through >= 0 AND pruned_through <= last_seq", name="pruned"),
    # The Merkle tree over the entries (0009): its compact range (the roots of the perfect
    # subtrees covering 1..last_seq, left to right, 32 bytes each) and its root.
    sa.Column("tree_frontier", BYTEA),
    sa.Column("root_hash", BYTEA),
    # The compact range of the entries retention pruned (1..pruned_through): proofs need it.
    sa.Column("pruned_frontier", BYTEA),
    sa.CheckConstraint("octet_length(tree_frontier) % 32 = 0", name="frontier_length"),
    sa.CheckConstraint("octet_length(root_hash) = 32", name="root_length"),
)

audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("prev_hash", BYTEA, nullable=False),
    sa.Column("entry_hash", BYTEA, nullable=False),
    sa.Column("recorded_at", TZ, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("subject_id", UUID(as_uuid=True)),
    sa.Column("payload", JSONB, nullable=False),
    # 1: entries before 0009 (subject_id and format outside the hash); 2: every column hashed.
    sa.Column("format", sa.SmallInteger, nullable=False, server_default=sa.text("1")),
    # The fact row the entry records (consent event, cookie choice), when it records one.
    sa.Column("fact_id", UUID(as_uuid=True)),
    sa.CheckConstraint("seq > 0", name="seq_positive"),
    sa.CheckConstraint("format IN (1, 2)", name="format"),
    sa.CheckConstraint("octet_length(prev_hash) = 32", name="prev_hash_length"),
    sa.CheckConstraint("octet_length(entry_hash) = 32", name="entry_hash_length"),
    sa.Index("ix_audit_entries_time", "tenant_id", "recorded_at"),
    sa.Index("ix_audit_entries_subject", "tenant_id", "subject_id"),
    sa.Index("ix_audit_entries_fact", "tenant_id", "fact_id"),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("entry_hash", BYTEA, nullable=False),
    sa.Column("signed_at", TZ, nullable=False),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("signature", BYTEA, nullable=False),
    sa.CheckConstraint("seq > 0", name="seq_positive"),
    sa.CheckConstraint("octet_length(signature) = 64", name="signature_length"),
)

tenant_retention = sa.Table(
    "tenant_retention",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("contract_ended_at", TZ),
    sa.Column("legal_hold", sa.Boolean, nullable=False),
    sa.Column("legal_hold_reason", sa.Text, nullable=False),
    sa.Column("storage_extension", sa.Boolean, nullable=False),
    sa.Column("purged_at", TZ),
    sa.Column("updated_at", TZ, nullable=False),
    sa.CheckConstraint("NOT legal_hold OR legal_hold_reason <> ''", name="hold_has_reason"),
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

# One row per cookie purge run and tenant: what it deleted, never whose. It tracks a run while it
# is in flight (running -> finished | interrupted); the audit chain gets one `cookies.purged`
# entry per finished run (the proof, append-only).
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

# `consentd import consents`: one row per imported file (its SHA-256) and tenant, advanced in the
# transaction that writes each batch, so a killed import resumes after its last committed line.
# No personal data: the file's digest, its name, line numbers and counts.
consent_imports = sa.Table(
    "consent_imports",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("file_sha256", sa.Text, primary_key=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("rows_total", sa.Integer, nullable=False),
    sa.Column("last_line", sa.Integer, nullable=False),
    sa.Column("imported", sa.Integer, nullable=False),
    sa.Column("superseded", sa.Integer, nullable=False),
    sa.Column("started_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Column("completed_at", TZ),
    sa.CheckConstraint("file_sha256 ~ '^[0-9a-f]{64}$'", name="file_sha256"),
    sa.CheckConstraint("last_line >= 1 AND imported >= 0 AND superseded >= 0", name="counts"),
)

# The write queue of the audit log and its signed tree heads (0009) live in their own module.
from consentd.store import tables_audit as _tables_audit  # noqa: E402, F401 - registers them
