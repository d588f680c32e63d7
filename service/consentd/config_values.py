"""Checks of single setting values (config.py reads the environment): kept apart and free of
heavy imports, as `consentd health` reads the settings too."""

from __future__ import annotations

from pathlib import Path


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
    """A folder, or a path where one can be made: not a file."""
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
