"""Mailbox names that look like others: letters of alphabets that look alike mixed in one name
(jane@ with a Cyrillic a, U+0430, was imported as a second person, shown as jane; probe YD), or
compatibility forms of plain letters (full-width, mathematical, ligatures; probe ZA)."""

from __future__ import annotations

import unicodedata

# Alphabets whose letters look alike (Unicode names start with them).
_LOOK_ALIKE = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})


def looks_like_another(local: str) -> bool:
    """Whether the part before @ of an address mixes look-alike alphabets or holds
    compatibility forms (NFKC would change it)."""
    if not unicodedata.is_normalized("NFKC", local):
        return True
    named = (unicodedata.name(c, "").partition(" ")[0] for c in local if c.isalpha())
    return len({script for script in named if script in _LOOK_ALIKE}) > 1
