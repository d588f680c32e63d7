"""Checks of single setting values (config.py reads the environment): kept apart and free of
heavy imports, as `consentd health` reads the settings too."""

from __future__ import annotations

import base64
import binascii
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting has a value the service cannot use; the message names the variable."""


def region(value: str) -> str:
    """A region code's shape (two letters): whether libphonenumber knows it is checked where it
    is loaded (bootstrap), not here (`consentd health` reads the settings and must stay light)."""
    region = value.strip().upper()
    if len(region) != 2 or not region.isalpha() or not region.isascii():
        raise ConfigError(
            f"CONSENTD_PHONE_REGION must be a two-letter region code (e.g. FR), got {value!r}"
        )
    return region


def migrations(value: str) -> Path | None:
    """A folder of Alembic migrations (it has env.py), or None for the bundled ones."""
    if not value:
        return None
    path = Path(value)
    if not (path / "env.py").is_file():
        raise ConfigError(
            f"CONSENTD_MIGRATIONS_DIR must name a folder of migrations (with env.py): {value!r}"
        )
    return path


def folder(name: str, value: str) -> Path:
    """A folder, or a path where one can be made: not a file, nor empty (an empty
    CONSENTD_DATA_DIR, a `${VAR}` of a manifest expanded to nothing, ran on the default folder:
    another instance's data and keys; probe PB)."""
    if not value.strip():
        raise ConfigError(f"{name} is set but empty: name a folder, or unset it for the default")
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name} must name a folder, and {value!r} is a file")
    return path


def link(value: str, name: str) -> str:
    """A page's URL with {token} where a message's token goes (empty: none)."""
    if value and ("{token}" not in value or not value.startswith(("https://", "http://"))):
        raise ConfigError(
            f"{name} must be an http(s) URL containing {{token}}, "
            "e.g. https://example.fr/page?t={token}"
        )
    return value


def page_urls(env: Mapping[str, str]) -> dict[str, str]:
    """CONSENTD_CONFIRM_URL, CONSENTD_UNSUBSCRIBE_URL and CONSENTD_PREFERENCES_URL: the pages a
    message links to, each with {token}."""
    return {
        f"{page}_url": link(
            env.get(f"CONSENTD_{page.upper()}_URL", ""), f"CONSENTD_{page.upper()}_URL"
        )
        for page in ("confirm", "unsubscribe", "preferences")
    }


@dataclass(frozen=True)
class SmsGateway:
    """The operator's HTTP gateway for text messages (sms.py): its URL, the sender shown on the
    phone, and the bearer token it takes (never printed)."""

    url: str
    sender: str
    token: str = field(default="", repr=False)


# An alphanumeric sender id (1 to 11 letters and digits) or a number in E.164.
_SENDER = re.compile(r"[A-Za-z0-9]{1,11}|\+[1-9][0-9]{6,14}")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def smtp_tls(env: Mapping[str, str], host: str | None) -> str:
    """CONSENTD_SMTP_TLS: starttls (the default), tls or none, `none` only for a relay on this
    host: codes, confirmation links and the relay's password would cross the network in clear
    (probe AS). Raises ConfigError."""
    tls = env.get("CONSENTD_SMTP_TLS", "starttls").lower()
    allowed = ("starttls", "tls", "none")
    if tls not in allowed:
        raise ConfigError(f"CONSENTD_SMTP_TLS must be one of {', '.join(allowed)}, got {tls!r}")
    if tls == "none" and host and host not in _LOOPBACK:
        raise ConfigError(
            "CONSENTD_SMTP_TLS=none is for a relay on this host (127.0.0.1, ::1, localhost):"
            " use starttls or tls for another host"
        )
    return tls


def sms_gateway(env: Mapping[str, str]) -> SmsGateway | None:
    """CONSENTD_SMS_GATEWAY_URL (https, or http on the same host), _SENDER and _TOKEN; None
    without a URL. Raises ConfigError naming the variable."""
    url = env.get("CONSENTD_SMS_GATEWAY_URL", "")
    if not url:
        given = [n for n in ("CONSENTD_SMS_SENDER", "CONSENTD_SMS_GATEWAY_TOKEN") if env.get(n)]
        if given:  # a sender without a gateway: no text would go, and nothing said so
            raise ConfigError(f"{given[0]} is set without CONSENTD_SMS_GATEWAY_URL: set both")
        return None
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or past 65535
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigError("CONSENTD_SMS_GATEWAY_URL must be an http(s) URL")
    if not url.isprintable() or " " in url:
        raise ConfigError("CONSENTD_SMS_GATEWAY_URL must not hold spaces or control characters")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ConfigError(
            "CONSENTD_SMS_GATEWAY_URL must be https (its token and the numbers go in clear over"
            " http), or http to a gateway on this host"
        )
    sender = env.get("CONSENTD_SMS_SENDER", "")
    if not _SENDER.fullmatch(sender):
        raise ConfigError(
            f"CONSENTD_SMS_SENDER {'must be' if sender else 'is required with SMS, as'}"
            " 1 to 11 letters and digits, or a number in E.164 (+33...)"
        )
    return SmsGateway(url, sender, env.get("CONSENTD_SMS_GATEWAY_TOKEN", ""))


# What a database URL's query may set, read by asyncpg's DSN parser: TLS (`ssl` is taken for
# `sslmode`, `true`/`false` for require/disable), and the hosts of a multi-host URL with the
# session it must reach (operations.md: `?host=n0:5432&host=n1:5432&target_session_attrs=
# read-write`). Anything else was sent to PostgreSQL as a setting it refused at every
# connection (health NOT_SERVING for good), or crashed the start (probe EB).
TLS_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
TLS_FILES = ("sslrootcert", "sslcert", "sslkey", "sslcrl")
_HOSTS = ("host", "port", "target_session_attrs")
_SSL_WORDS = {"true": "require", "false": "disable"}


def tls_query(name: str, query: str) -> str:
    """The query as given (`ssl=` read as `sslmode=`), or "" when none; each key once, each TLS
    file readable. Raises ConfigError naming what the URL may set."""
    if not query:
        return ""
    taken: list[tuple[str, str]] = []
    for pair in query.split("&"):
        given, _, raw = pair.partition("=")
        # Unquoted as libpq does: a "+" stays a "+" (parse_qsl read it as a space; probe EC).
        key, value = urllib.parse.unquote(given), urllib.parse.unquote(raw)
        if key == "ssl":
            key, value = "sslmode", _SSL_WORDS.get(value, value)
        if key == "sslmode" and value not in TLS_MODES:
            raise ConfigError(f"{name}: {given} must be one of {', '.join(TLS_MODES)}")
        if key not in ("sslmode", *TLS_FILES, *_HOSTS):
            raise ConfigError(
                f"{name}: {key!r} is not taken in the URL (only sslmode and "
                f"{', '.join(TLS_FILES)}: TLS to the database; {', '.join(_HOSTS)}: its hosts)"
            )
        if key != "host" and key in dict(taken):
            raise ConfigError(f"{name}: {key} is given twice")
        if key in TLS_FILES and (os.path.isdir(value) or not os.access(value, os.R_OK)):
            raise ConfigError(f"{name}: {key} {value!r} is not a file consentd can read")
        taken.append((key, value))
    return "?" + "&".join(f"{k}={urllib.parse.quote(v, safe='/:,')}" for k, v in taken)


def signing_key(value: str | None) -> bytes | None:
    """CONSENTD_AUDIT_SIGNING_KEY: base64 of a 32-byte Ed25519 seed."""
    name = "CONSENTD_AUDIT_SIGNING_KEY"
    if not value:
        return None
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raise ConfigError(f"{name} must be base64 of a 32-byte Ed25519 seed") from None
    if len(key) != 32:
        raise ConfigError(f"{name} must decode to exactly 32 bytes (an Ed25519 seed)")
    return key


def retired_keys(value: str) -> tuple[bytes, ...]:
    """CONSENTD_AUDIT_RETIRED_KEYS: the public keys of earlier signing keys, as
    `consentd audit checkpoint` printed them (64 hex digits each), separated by commas."""
    keys = []
    for word in filter(None, (w.strip() for w in value.split(","))):
        if not re.fullmatch(r"[0-9a-fA-F]{64}", word):
            raise ConfigError(
                "CONSENTD_AUDIT_RETIRED_KEYS must list Ed25519 public keys, 64 hex digits each "
                "(the `public_key` of an old proof), separated by commas"
            )
        keys.append(bytes.fromhex(word))
    return tuple(keys)


_PG_SETTING = re.compile(r"[A-Za-z][A-Za-z0-9_.]*=[^\s=][^\s]*")


def pg_settings(env: Mapping[str, str]) -> tuple[str, ...]:
    """`name=value` PostgreSQL settings separated by spaces (postgres/tuning.py)."""
    settings = tuple(env.get("CONSENTD_EMBEDDED_PG_SETTINGS", "").split())
    for setting in settings:
        if not _PG_SETTING.fullmatch(setting):
            msg = f"{setting!r} is not name=value (a PostgreSQL setting)"
            raise ConfigError(f"CONSENTD_EMBEDDED_PG_SETTINGS: {msg}")
    return settings


def host_port(value: str, *, lowest: int = 0) -> bool:
    """Whether `value` is host:port with a numeric port from `lowest` to 65535 (0: a free one
    picked, for a listening address; a server to reach needs 1 at least)."""
    host, sep, port = value.rpartition(":")
    return bool(sep and host and port.isdigit() and lowest <= int(port) <= 65535)
