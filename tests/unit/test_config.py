"""Settings come from environment variables with documented defaults and clear errors."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from consentd.bootstrap import bootstrap
from consentd.config import ConfigError, Settings
from consentd.runtime import database
from consentd.wiring.api import REPOSITORY_WEB, preferences_dir, web_dir

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def test_defaults_need_no_variable() -> None:
    """With nothing set: embedded database, loopback gRPC, the `local` tenant, France for phones."""
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert settings.grpc_address == "127.0.0.1:50051"
    assert settings.default_tenant == "local"
    assert settings.phone_region == "FR"
    assert settings.secret_key is None
    assert settings.migrate_on_start is True


def test_every_variable_is_read() -> None:
    """Each documented variable changes its setting."""
    key = base64.b64encode(bytes(range(32))).decode()
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql+asyncpg://u:p@db/consentd",
            "CONSENTD_SECRET_KEY": key,
            "CONSENTD_GRPC_ADDRESS": "0.0.0.0:6000",
            "CONSENTD_DATA_DIR": "/srv/consentd",
            "CONSENTD_DEFAULT_TENANT": "acme",
            "CONSENTD_PHONE_REGION": "be",
            "CONSENTD_LOG_LEVEL": "DEBUG",
            "CONSENTD_LOG_FORMAT": "JSON",
            "CONSENTD_SHUTDOWN_GRACE_SECONDS": "2.5",
            "CONSENTD_DB_POOL_SIZE": "4",
            "CONSENTD_MIGRATE_ON_START": "false",
            "CONSENTD_MIGRATIONS_DIR": str(MIGRATIONS),
            "CONSENTD_REUSE_PORT": "TRUE",
            "CONSENTD_EVENT_LOOP": "asyncio",
            "CONSENTD_AUDIT_SIGNING_KEY": key,
            "CONSENTD_AUDIT_CHECKPOINT_EVERY": "50",
            "CONSENTD_EMBEDDED_POSTGRES_PORT": "55432",
        }
    )
    assert settings.database_url == "postgresql+asyncpg://u:p@db/consentd"
    assert settings.secret_key == bytes(range(32))
    assert settings.grpc_address == "0.0.0.0:6000"
    assert settings.data_dir == Path("/srv/consentd")
    assert (settings.default_tenant, settings.phone_region) == ("acme", "BE")
    assert (settings.log_level, settings.log_format) == ("debug", "json")
    assert settings.shutdown_grace_seconds == 2.5
    assert settings.db_pool_size == 4
    assert settings.migrate_on_start is False
    assert settings.migrations_dir == MIGRATIONS
    assert (settings.reuse_port, settings.event_loop) == (True, "asyncio")
    assert settings.audit_signing_key == bytes(range(32))
    assert settings.audit_checkpoint_every == 50
    # Probes DV, DW: an operator given a port range could not keep the embedded one in it.
    assert (settings.embedded_pg_port, Settings.from_env({}).embedded_pg_port) == (55432, None)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONSENTD_SECRET_KEY", "not base64!", "must be base64"),
        ("CONSENTD_SECRET_KEY", base64.b64encode(b"short").decode(), "at least 32 bytes"),
        ("CONSENTD_SHUTDOWN_GRACE_SECONDS", "soon", "must be a number"),
        ("CONSENTD_EVENT_LOOP", "trio", "must be one of uvloop, asyncio"),
        ("CONSENTD_DB_POOL_SIZE", "0", "must be positive"),
        ("CONSENTD_AUDIT_SIGNING_KEY", "not base64!", "must be base64"),
        ("CONSENTD_AUDIT_SIGNING_KEY", base64.b64encode(bytes(33)).decode(), "exactly 32 bytes"),
        ("CONSENTD_AUDIT_CHECKPOINT_EVERY", "-1", "must be positive"),
        # A probe found these ended in tracebacks (KeyError, grpc's RuntimeError, ...).
        ("CONSENTD_LOG_LEVEL", "verbose", "must be one of debug, info"),
        ("CONSENTD_LOG_FORMAT", "xml", "must be one of auto, json, console"),
        ("CONSENTD_GRPC_ADDRESS", "not-an-address", "must be host:port"),
        ("CONSENTD_DATA_DIR", __file__, "must name a folder"),
        ("CONSENTD_DATA_DIR", "", "is set but empty"),  # probe PB: ran on the default folder
        ("CONSENTD_DATA_DIR", "  ", "is set but empty"),
        # A probe: nan and inf ended in tracebacks (some after PostgreSQL had started), 0.5
        # connections a pool of 0 (SERVING, every check INTERNAL), a port past 65535 accepted.
        ("CONSENTD_DB_POOL_SIZE", "nan", "must be a finite number"),
        ("CONSENTD_SHUTDOWN_GRACE_SECONDS", "inf", "must be a finite number"),
        ("CONSENTD_DB_TIMEOUT_SECONDS", "nan", "must be a finite number"),
        ("CONSENTD_RATE_LIMIT", "nan", "must be a finite number"),
        # Probe XD: a burst of 0.5 refused every call but withdrawals, health SERVING.
        ("CONSENTD_RATE_BURST", "0.5", "must be at least 1"),
        ("CONSENTD_DB_POOL_SIZE", "0.5", "must be a whole number"),
        ("CONSENTD_PURGE_BATCH_SIZE", "2.5", "must be a whole number"),
        ("CONSENTD_SMTP_PORT", "99999", "whole number of at most 65535"),
        ("CONSENTD_EMBEDDED_POSTGRES_PORT", "70000", "whole number of at most 65535"),
        ("CONSENTD_CONFIRMATION_DAYS", "100000000", "whole number of at most 90"),
        # Past any sensible value: an OverflowError traceback (1e308) or PostgreSQL's refusal of
        # the statement_timeout or max_connections they became, after it had started (probe W).
        ("CONSENTD_DB_TIMEOUT_SECONDS", "1e308", "must be at most 3600"),
        ("CONSENTD_DB_TIMEOUT_SECONDS", "10000000", "must be at most 3600"),
        ("CONSENTD_DB_POOL_SIZE", "100000", "whole number of at most 500"),
        ("CONSENTD_PURGE_INTERVAL_SECONDS", "1e300", "must be at most 31622400"),
        ("CONSENTD_MIGRATE_ON_START", "off", "must be true or false"),
        ("DATABASE_URL", "mysql://u:p@db/c", "must be a postgresql:// URL"),
        # It was checked after the embedded PostgreSQL had started, without naming the variable.
        ("CONSENTD_DEFAULT_TENANT", "Acme Corp", "must be 1 to 63 of a-z"),
        # A probe: a traceback (alembic), a URL nobody could open, a region served then every
        # national number refused.
        ("CONSENTD_MIGRATIONS_DIR", "/nonexistent", "folder of migrations"),
        ("CONSENTD_CONFIRM_URL", "not a url {token}", "http\\(s\\) URL containing"),
        ("CONSENTD_UNSUBSCRIBE_URL", "https://example.fr/u/", "http\\(s\\) URL containing"),
        ("CONSENTD_PHONE_REGION", "France", "two-letter region code"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    """A bad value is a ConfigError that names the variable and what is wrong."""
    with pytest.raises(ConfigError, match=message) as raised:
        Settings.from_env({variable: value})
    assert variable in str(raised.value)


def test_switches_read_alike_and_usual_database_urls_are_taken() -> None:
    """CONSENTD_MIGRATE_ON_START was off only for `false` (0 and no migrated) and
    CONSENTD_REUSE_PORT on only for `true`: both read as every switch does. postgresql:// and
    postgres:// URLs asked SQLAlchemy for psycopg (not installed): taken for asyncpg."""
    read = Settings.from_env(
        {
            "CONSENTD_MIGRATE_ON_START": "0",
            "CONSENTD_REUSE_PORT": "yes",
            "DATABASE_URL": "postgresql://app:secret@db:5432/consentd",
            "CONSENTD_MIGRATION_DATABASE_URL": "postgres://owner:secret@db/consentd",
        }
    )
    assert (read.migrate_on_start, read.reuse_port) == (False, True)
    assert read.database_url == "postgresql+asyncpg://app:secret@db:5432/consentd"
    assert read.migration_database_url == "postgresql+asyncpg://owner:secret@db/consentd"
    assert Settings.from_env({"CONSENTD_MIGRATE_ON_START": "no"}).migrate_on_start is False


async def test_an_external_database_needs_the_audit_signing_key() -> None:
    """With DATABASE_URL the checkpoint key must be given: it must never live in the database."""
    settings = Settings(database_url="postgresql+asyncpg://u:p@db/c", secret_key=bytes(32))
    with pytest.raises(ConfigError, match="CONSENTD_AUDIT_SIGNING_KEY"):
        async with database(settings):
            pass


def test_browser_port_demo_and_purge_settings() -> None:
    """The browser port, demo mode and the scheduled purge are read, with their defaults."""
    defaults = Settings.from_env({})
    assert defaults.http_address == "127.0.0.1:8080"
    assert defaults.demo is False
    assert (defaults.purge_interval_seconds, defaults.purge_batch_size) == (86400.0, 1000)
    settings = Settings.from_env(
        {
            "CONSENTD_HTTP_ADDRESS": "0.0.0.0:0",
            "CONSENTD_DEMO": "TRUE",
            "CONSENTD_PURGE_INTERVAL_SECONDS": "0",
            "CONSENTD_PURGE_BATCH_SIZE": "50",
        }
    )
    assert settings.http_address == "0.0.0.0:0"
    assert settings.demo is True
    assert (settings.purge_interval_seconds, settings.purge_batch_size) == (0.0, 50)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CONSENTD_HTTP_ADDRESS", "8080", "host:port"),
        ("CONSENTD_HTTP_ADDRESS", "localhost:http", "host:port"),
        ("CONSENTD_DEMO", "maybe", "true or false"),
        ("CONSENTD_PURGE_INTERVAL_SECONDS", "-1", "positive or 0"),
        ("CONSENTD_PURGE_BATCH_SIZE", "0", "positive"),
    ],
)
def test_bad_browser_and_purge_settings_name_the_variable(
    name: str, value: str, message: str
) -> None:
    """Each bad value is a ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=f"{name}.*{message}"):
        Settings.from_env({name: value})


def test_the_web_folder_is_the_repository_s_unless_named(tmp_path: Path) -> None:
    """CONSENTD_WEB_DIR moves the demo and the preference centre (the image's
    /opt/consentd/web); a folder without the bundles is refused, naming the file missing."""
    assert web_dir(Settings.from_env({})) == REPOSITORY_WEB
    named = {"CONSENTD_WEB_DIR": str(tmp_path), "CONSENTD_PREFERENCES": "true"}
    with pytest.raises(ConfigError, match=f"{tmp_path}/preferences/dist/preferences.js"):
        preferences_dir(Settings.from_env(named))
    bundle = tmp_path / "preferences" / "dist" / "preferences.js"
    bundle.parent.mkdir(parents=True)
    bundle.write_text("// built")
    assert preferences_dir(Settings.from_env(named)) == tmp_path / "preferences"


def test_an_unknown_phone_region_stops_the_start() -> None:
    """ZZ has the shape of a region: bootstrap (where libphonenumber is loaded) refuses it,
    naming the variable, before anything serves."""
    settings = Settings.from_env({"CONSENTD_PHONE_REGION": "zz"})
    with pytest.raises(ConfigError, match="CONSENTD_PHONE_REGION 'ZZ' is no region"):
        bootstrap(settings, "postgresql+asyncpg://nobody@127.0.0.1:1/none", bytes(32))


def test_an_sms_gateway_is_https_or_on_this_host_with_a_sender() -> None:
    """Texts carry numbers and codes: the gateway is https, or http on this host; a sender is
    required; the token never shows in the settings' repr."""
    on_host = {
        "CONSENTD_SMS_GATEWAY_URL": "http://127.0.0.1:8080/sms",
        "CONSENTD_SMS_SENDER": "ACME",
        "CONSENTD_SMS_GATEWAY_TOKEN": "s3cret-token",
    }
    gateway = Settings.from_env(on_host).sms_gateway
    assert gateway is not None
    assert (gateway.url, gateway.sender, gateway.token) == (
        "http://127.0.0.1:8080/sms",
        "ACME",
        "s3cret-token",
    )
    assert "s3cret-token" not in repr(Settings.from_env(on_host))
    assert Settings.from_env({}).sms_gateway is None
    international = {**on_host, "CONSENTD_SMS_SENDER": "+33612345678"}
    assert Settings.from_env(international).sms_gateway is not None
    for changed, says in (
        ({"CONSENTD_SMS_GATEWAY_URL": "http://sms.example/send"}, "must be https"),
        ({"CONSENTD_SMS_GATEWAY_URL": "ftp://127.0.0.1/x"}, "an http"),
        ({"CONSENTD_SMS_SENDER": ""}, "CONSENTD_SMS_SENDER is required"),
        ({"CONSENTD_SMS_SENDER": "TWELVE-CHARS"}, "CONSENTD_SMS_SENDER must be 1 to 11"),
        ({"CONSENTD_SMS_GATEWAY_URL": "http://127.0.0.1:99999/sms"}, "an http"),
        ({"CONSENTD_SMS_GATEWAY_URL": "http://127.0.0.1/sms\r\nX: y"}, "control characters"),
        # A sender or a token without a gateway was taken silently: no text would ever go.
        ({"CONSENTD_SMS_GATEWAY_URL": ""}, "CONSENTD_SMS_SENDER is set without"),
    ):
        with pytest.raises(ConfigError, match=says):
            Settings.from_env({**on_host, **changed})
    with pytest.raises(ConfigError, match="CONSENTD_SMS_GATEWAY_TOKEN is set without"):
        Settings.from_env({"CONSENTD_SMS_GATEWAY_TOKEN": "x"})


def test_a_relay_in_clear_is_one_on_this_host() -> None:
    """Codes and the relay's password in clear over the network (probe AS): `none` is for a
    relay on this host only."""
    remote = {
        "CONSENTD_SMTP_HOST": "smtp.example.net",
        "CONSENTD_SMTP_FROM": "consent@example.net",
        "CONSENTD_SMTP_TLS": "none",
    }
    with pytest.raises(ConfigError, match="CONSENTD_SMTP_TLS=none is for a relay on this host"):
        Settings.from_env(remote)
    assert Settings.from_env({**remote, "CONSENTD_SMTP_HOST": "127.0.0.1"}).smtp_tls == "none"
    assert Settings.from_env({**remote, "CONSENTD_SMTP_TLS": "starttls"}).smtp_tls == "starttls"


def test_a_key_with_a_line_break_around_it_is_taken() -> None:
    """Probe EB: a Kubernetes Secret made from a file (`base64 > f`) ends in a line break, and
    was refused "must be base64"."""
    key = base64.b64encode(bytes(range(32))).decode()
    settings = Settings.from_env(
        {"CONSENTD_SECRET_KEY": f"{key}\n", "CONSENTD_AUDIT_SIGNING_KEY": f" {key}\r\n"}
    )
    assert settings.secret_key == settings.audit_signing_key == bytes(range(32))


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"CONSENTD_SMTP_HOST": "relay.local"}, "CONSENTD_SMTP_FROM is required"),
        (
            {"CONSENTD_SMTP_HOST": "relay.local", "CONSENTD_SMTP_FROM": "nobody"},
            r"CONSENTD_SMTP_FROM must be an address \(name@domain\)",
        ),
        ({"CONSENTD_SMTP_PASSWORD": "x"}, "CONSENTD_SMTP_PASSWORD is set without"),
        ({"CONSENTD_SMTP_USERNAME": "x"}, "CONSENTD_SMTP_USERNAME is set without"),
    ],
)
def test_the_mail_relays_settings_say_what_is_wrong(given: dict[str, str], says: str) -> None:
    """Probe TB: an invalid CONSENTD_SMTP_FROM was told it is "required" although set, and
    credentials without a relay were taken silently."""
    with pytest.raises(ConfigError, match=says):
        Settings.from_env(given)
