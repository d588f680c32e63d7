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
    return not unicodedata.is_normalized("NFKC", local) or mixes_alphabets(local)


def mixes_alphabets(text: str) -> bool:
    """Whether `text` holds letters of more than one look-alike alphabet (a domain label's
    test too: example.fr with a Cyrillic a, U+0430, was another domain; probe ZE)."""
    named = (unicodedata.name(c, "").partition(" ")[0] for c in text if c.isalpha())
    return len({script for script in named if script in _LOOK_ALIKE}) > 1
