"""Tenants, their API keys and token issuers, idempotency keys and retention settings."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, UUID

from consentd.store.tables._base import ROLES, SCOPE_NAMES, TZ, metadata, tenant_fk

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("processing_role", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    # Migration 0059: the address mailed a daily digest of the rights requests to answer, and
    # when the last one was taken (rights_desk.py).
    sa.Column("rights_desk", sa.Text),
    sa.Column("rights_digest_at", TZ),
    sa.CheckConstraint("slug ~ '^[a-z][a-z0-9-]{0,62}$'", name="slug_format"),
    sa.CheckConstraint(f"processing_role IN {ROLES}", name="processing_role"),
    sa.CheckConstraint(
        "rights_desk IS NULL OR length(rights_desk) BETWEEN 3 AND 320", name="rights_desk"
    ),
)


# A keyed digest of a fixed text under the service secret (domain/sealing.secret_check), kept
# when every subject is erased: what a start checks the secret against once no data key is left
# (migration 0050). Not personal data; the tenant purge keeps it.
tenant_secret_checks = sa.Table(
    "tenant_secret_checks",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("digest", BYTEA, nullable=False),
    sa.Column("made_at", TZ, nullable=False),
    sa.CheckConstraint("octet_length(digest) = 32", name="digest_length"),
)

tenant_retention = sa.Table(
    "tenant_retention",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("contract_ended_at", TZ),
    sa.Column("legal_hold", sa.Boolean, nullable=False),
    sa.Column("legal_hold_reason", sa.Text, nullable=False),
    sa.Column("storage_extension", sa.Boolean, nullable=False),
    sa.Column("purged_at", TZ),
    sa.Column("updated_at", TZ, nullable=False),
    # When the current contract_ended_at was set (0027): the purge waits a month after it too.
    sa.Column("contract_end_recorded_at", TZ),
    # Subjects nobody heard from in this many months are erased by the job; 0: never (0054).
    sa.Column(
        "inactive_subject_months", sa.SmallInteger, nullable=False, server_default=sa.text("0")
    ),
    sa.CheckConstraint("NOT legal_hold OR legal_hold_reason <> ''", name="hold_has_reason"),
    sa.CheckConstraint(
        "inactive_subject_months = 0 OR inactive_subject_months BETWEEN 12 AND 120",
        name="inactive_subject_months",
    ),
)


api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
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
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("issuer", sa.Text, primary_key=True),
    sa.Column("audience", sa.Text, nullable=False),
    sa.Column("public_key_pem", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
)


idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
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


# A tenant's endpoint the change feed is pushed to, and where delivery stands (0057): the
# signing secret is derived from the service secret and `salt`, never stored.
webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("webhook_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("salt", BYTEA, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("removed_at", TZ),
    sa.Column("generation", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("cursor", sa.Text, nullable=False, server_default=sa.text("''")),
    sa.Column("delivered_position", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("attempted_through", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("delivered_at", TZ),
    sa.Column("failures", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("next_attempt_at", TZ, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("leased_by", UUID(as_uuid=True)),
    sa.Column("leased_until", TZ),
    # A rotation (0058): the salt before it, still signed with until `previous_until`.
    sa.Column("previous_salt", BYTEA),
    sa.Column("previous_until", TZ),
    sa.Column("rotated_at", TZ),
    sa.CheckConstraint("char_length(url) BETWEEN 8 AND 2048", name="url_length"),
    sa.CheckConstraint("octet_length(salt) = 32", name="salt_length"),
    sa.CheckConstraint("char_length(cursor) <= 512", name="cursor_length"),
    sa.CheckConstraint("char_length(last_error) <= 300", name="error_length"),
    sa.CheckConstraint(
        "(previous_salt IS NULL) = (previous_until IS NULL) "
        "AND (previous_salt IS NULL OR octet_length(previous_salt) = 32)",
        name="previous_salt",
    ),
)


# Preference links made until `revoked_at` are refused (0060): a person's (`subject:<id>`), or
# those naming one identifier (their caller name `link:<keyed digest>`, never the identifier).
preference_link_revocations = sa.Table(
    "preference_link_revocations",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("caller", sa.Text, primary_key=True),
    sa.Column("revoked_at", TZ, nullable=False),
    sa.CheckConstraint("caller ~ '^(link:[0-9a-f]{16}|subject:[0-9a-f-]{36})$'", name="caller"),
)
