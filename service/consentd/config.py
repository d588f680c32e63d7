"""Settings, read from environment variables by the composition root only."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consentd import config_values
from consentd.config_values import (
    ConfigError,
    folder,
    migrations,
    region,
    retired_keys,
    signing_key,
)
from consentd.domain.slugs import SLUG, SLUG_RULE

__all__ = ["ConfigError", "Settings", "UnsafeRuntimeRole"]


class UnsafeRuntimeRole(RuntimeError):
    """The service was given a connection that row-level security would not hold."""


# Upper bounds of durations: past these a value is a typo, and some broke the start (probe W).
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Settings:
    """Every setting with its default. docs/configuration.md lists each variable."""

    database_url: str | None = None
    migration_database_url: str | None = None
    grpc_address: str = "127.0.0.1:50051"
    http_address: str = "127.0.0.1:8080"
    data_dir: Path | None = None
    secret_key: bytes | None = None
    default_tenant: str = "local"
    phone_region: str = "FR"
    log_level: str = "info"
    log_format: str = "auto"
    shutdown_grace_seconds: float = 10.0
    db_pool_size: int = 10
    # The ceiling of every database wait: a statement, a lock, a connection attempt (seconds).
    db_timeout_seconds: float = 5.0
    # Connections of the bulk read pool (StreamCheckConsent, BatchCheckConsent, the change feed,
    # suppression exports): bulk work queues for these, never for single checks' connections.
    bulk_concurrency: int = 4
    migrate_on_start: bool = True
    migrations_dir: Path | None = None
    reuse_port: bool = False
    event_loop: str = "uvloop"
    audit_signing_key: bytes | None = None
    # The public halves of the keys it replaced (their heads and checkpoints still verify).
    audit_retired_keys: tuple[bytes, ...] = ()
    audit_checkpoint_every: int = 1000
    demo: bool = False
    purge_interval_seconds: float = 86400.0
    purge_batch_size: int = 1000
    rate_limit_per_second: float = 2000.0
    rate_limit_burst: float = 4000.0
    tenant_writers: int = 32
    write_batch: int = 64  # a tenant's concurrent writes sharing one transaction (1: none)
    embedded_postgres: bool = True  # false (the container image): DATABASE_URL is required
    embedded_pg_settings: tuple[str, ...] = ()  # its extra server settings, after its sizing
    embedded_pg_port: int | None = None  # its port on 127.0.0.1 (None: a free one each start)
    # Prometheus text on http://<address>/metrics; None (CONSENTD_METRICS_ADDRESS=off): no port.
    metrics_address: str | None = "127.0.0.1:9464"
    # Where spans go (OTLP over gRPC); None: no exporter, spans are not recorded.
    otlp_endpoint: str | None = None
    # The SMTP relay of confirmations and rights codes; None: only logged (docs/double-opt-in.md).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_sender: str = ""
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_tls: str = "starttls"
    sms_gateway: config_values.SmsGateway | None = None  # texts to phones (sms.py)
    notify_language: str = "fr"
    # The page that confirms a double opt-in, with {token} where the token goes ("" : none).
    confirm_url: str = ""
    unsubscribe_url: str = ""
    preferences_url: str = ""  # the preference centre's, with {token}: links in check answers
    preference_link_days: int = 7
    confirmation_days: int = 7
    # The preference centre page on the browser port (/preferences/), off unless set.
    preferences: bool = False
    # The folder holding demo/ and preferences/ with their bundles ("": the repository's web/).
    web_dir: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read CONSENTD_* and DATABASE_URL. Raises ConfigError naming a bad variable."""
        data_dir = env.get("CONSENTD_DATA_DIR")
        return cls(
            database_url=_database_url(env, "DATABASE_URL"),
            migration_database_url=_database_url(env, "CONSENTD_MIGRATION_DATABASE_URL"),
            grpc_address=_address(env, "CONSENTD_GRPC_ADDRESS", cls.grpc_address),
            http_address=_address(env, "CONSENTD_HTTP_ADDRESS", cls.http_address),
            data_dir=None if data_dir is None else folder("CONSENTD_DATA_DIR", data_dir),
            secret_key=_secret(env.get("CONSENTD_SECRET_KEY")),
            default_tenant=_slug(env, "CONSENTD_DEFAULT_TENANT", cls.default_tenant),
            phone_region=region(env.get("CONSENTD_PHONE_REGION", cls.phone_region)),
            log_level=_choice(env, "CONSENTD_LOG_LEVEL", _LEVELS, cls.log_level),
            log_format=_choice(env, "CONSENTD_LOG_FORMAT", _FORMATS, cls.log_format),
            shutdown_grace_seconds=_number(env, "CONSENTD_SHUTDOWN_GRACE_SECONDS", 10.0, high=HOUR),
            db_pool_size=_whole(env, "CONSENTD_DB_POOL_SIZE", 10, high=500),
            db_timeout_seconds=_number(env, "CONSENTD_DB_TIMEOUT_SECONDS", 5.0, high=HOUR),
            bulk_concurrency=_whole(env, "CONSENTD_BULK_CONCURRENCY", 4, high=64),
            migrate_on_start=_flag(env, "CONSENTD_MIGRATE_ON_START", default=True),
            rate_limit_per_second=_number(env, "CONSENTD_RATE_LIMIT", 2000.0),
            # 1 at least: 0.5 refused every call, health SERVING (probe XD).
            rate_limit_burst=_number(env, "CONSENTD_RATE_BURST", 4000.0, low=1.0),
            tenant_writers=_whole(env, "CONSENTD_TENANT_WRITERS", 32, high=1024),
            write_batch=_whole(env, "CONSENTD_WRITE_BATCH", 64, high=10_000),
            migrations_dir=migrations(env.get("CONSENTD_MIGRATIONS_DIR", "")),
            reuse_port=_flag(env, "CONSENTD_REUSE_PORT", default=False),
            event_loop=_choice(env, "CONSENTD_EVENT_LOOP", ("uvloop", "asyncio"), "uvloop"),
            audit_signing_key=signing_key(env.get("CONSENTD_AUDIT_SIGNING_KEY")),
            audit_retired_keys=retired_keys(env.get("CONSENTD_AUDIT_RETIRED_KEYS", "")),
            audit_checkpoint_every=_whole(env, "CONSENTD_AUDIT_CHECKPOINT_EVERY", 1000, high=10**9),
            demo=_flag(env, "CONSENTD_DEMO", default=False),
            purge_interval_seconds=_number(
                env, "CONSENTD_PURGE_INTERVAL_SECONDS", 86400.0, zero=True, high=366 * DAY
            ),
            purge_batch_size=_whole(env, "CONSENTD_PURGE_BATCH_SIZE", 1000, high=100_000),
            embedded_postgres=_flag(env, "CONSENTD_EMBEDDED_POSTGRES", default=True),
            embedded_pg_settings=config_values.pg_settings(env),
            embedded_pg_port=_whole(env, "CONSENTD_EMBEDDED_POSTGRES_PORT", 0, high=65535) or None,
            metrics_address=_metrics_address(env),
            otlp_endpoint=_otlp_endpoint(env),
            **_mail(env),
        )


def _mail(env: Mapping[str, str]) -> dict[str, Any]:
    """The CONSENTD_SMTP_* relay, the messages' language and the confirmation page."""
    host = env.get("CONSENTD_SMTP_HOST") or None
    sender = env.get("CONSENTD_SMTP_FROM", "")
    if host and "@" not in sender:
        said = "is required" if not sender else "must be an address (name@domain)"
        raise ConfigError(f"CONSENTD_SMTP_FROM {said} with CONSENTD_SMTP_HOST")
    for name in ("CONSENTD_SMTP_USERNAME", "CONSENTD_SMTP_PASSWORD"):  # no mail would go (TB)
        if env.get(name) and not host:
            raise ConfigError(f"{name} is set without CONSENTD_SMTP_HOST")
    return {
        "smtp_host": host,
        "smtp_port": _whole(env, "CONSENTD_SMTP_PORT", 587, high=65535),
        "smtp_sender": sender,
        "smtp_username": env.get("CONSENTD_SMTP_USERNAME", ""),
        "smtp_password": env.get("CONSENTD_SMTP_PASSWORD", ""),
        "smtp_tls": config_values.smtp_tls(env, host),
        "sms_gateway": config_values.sms_gateway(env),
        "notify_language": _choice(env, "CONSENTD_NOTIFY_LANGUAGE", ("fr", "en"), "fr"),
        **config_values.page_urls(env),
        "preference_link_days": _whole(env, "CONSENTD_PREFERENCE_LINK_DAYS", 7, high=30),
        # Bounded: 100,000,000 started, then every double opt-in grant was INTERNAL (overflow).
        "confirmation_days": _whole(env, "CONSENTD_CONFIRMATION_DAYS", 7, high=90),
        "preferences": _flag(env, "CONSENTD_PREFERENCES", default=False),
        "web_dir": env.get("CONSENTD_WEB_DIR", ""),
    }


_LEVELS = ("debug", "info", "warning", "error", "critical")
_FORMATS = ("auto", "json", "console")


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(name, default).lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _secret(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        key = base64.b64decode(value.strip(), validate=True)  # a Secret made from a file ends
    except binascii.Error:  # in a line break (probe EB)
        raise ConfigError("CONSENTD_SECRET_KEY must be base64 (32 random bytes or more)") from None
    if len(key) < 32:
        raise ConfigError("CONSENTD_SECRET_KEY must decode to at least 32 bytes")
    return key


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    zero: bool = False,
    low: float = 0.0,
    high: float | None = None,
) -> float:
    """A positive number (or 0 when `zero` allows it: "off"), at most `high` (1e308 for the
    database ceiling ended the start in an OverflowError traceback; probe W)."""
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):  # nan passed every comparison; inf broke the pools
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if value < 0 or (value == 0 and not zero):
        raise ConfigError(f"{name} must be positive" + (" or 0" if zero else ""))
    if value < low:
        raise ConfigError(f"{name} must be at least {low:g}, got {raw!r}")
    if high is not None and value > high:
        most = int(high) if high.is_integer() else high
        raise ConfigError(f"{name} must be at most {most}, got {raw!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, *, high: int | None = None) -> int:
    """A positive whole number, at most `high` (0.5 pool connections became a pool of 0)."""
    value = _number(env, name, default)
    if value != int(value) or (high is not None and value > high):
        within = f" of at most {high}" if high is not None else ""
        raise ConfigError(f"{name} must be a whole number{within}, got {env.get(name)!r}")
    return int(value)


def _slug(env: Mapping[str, str], name: str, default: str) -> str:
    """A tenant slug, checked before anything starts."""
    value = env.get(name, default)
    if not SLUG.fullmatch(value):
        raise ConfigError(f"{name} {SLUG_RULE}")
    return value


def _database_url(env: Mapping[str, str], name: str) -> str | None:
    """A PostgreSQL URL for asyncpg (postgresql:// and postgres:// asked SQLAlchemy for psycopg,
    not installed), its query only TLS settings (config_values.tls_query)."""
    url = env.get(name) or None
    if url is None:
        return None
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+asyncpg"):
        raise ConfigError(f"{name} must be a postgresql:// URL")
    where, _, query = rest.partition("?")
    return f"postgresql+asyncpg://{where}{config_values.tls_query(name, query)}"


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return raw in ("true", "1", "yes")


def _address(env: Mapping[str, str], name: str, default: str) -> str:
    """host:port with a numeric port (0 picks a free one)."""
    value = env.get(name, default)
    if not config_values.host_port(value):
        raise ConfigError(f"{name} must be host:port, got {value!r}")
    return value


def _metrics_address(env: Mapping[str, str]) -> str | None:
    name = "CONSENTD_METRICS_ADDRESS"
    if env.get(name, "").strip().lower() in ("off", "false", "none"):
        return None
    return _address(env, name, "127.0.0.1:9464")


def _otlp_endpoint(env: Mapping[str, str]) -> str | None:
    """The standard OpenTelemetry variables: the traces endpoint, else the general one. The
    exporter reads the rest (headers, certificates, timeout) itself; it speaks OTLP over gRPC."""
    endpoint = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ) or None
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(name, "").strip().lower()
        if protocol and protocol != "grpc":
            raise ConfigError(f"{name}: consentd exports OTLP over grpc only, got {protocol!r}")
    return endpoint
