"""Free text that outlives an erasure (an actor, a rights request's outcome or reason, in the
events, the requests and the append-only audit log) keeps no contact point: e-mail addresses
and phone numbers become markers."""

from __future__ import annotations

import re

import phonenumbers

from consentd.domain.cookies import without_emails

PHONE_MARKER = "(phone)"
# One character for one (offsets stay those of the text): the spaces of French typography, and
# slashes (06/12/34/56/78), read as spaces by the phone matcher.
_SPACES = str.maketrans(dict.fromkeys("\u00a0\u202f\u2007\u2009/", " "))
# A year in a match is a date (05.12.2026 10:45 read as 05 12 20 26 10), not a phone number.
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# Fewer digits than this cannot hold a phone number: most actors and reasons skip the matcher.
_FEWEST_DIGITS = 8


def without_contacts(value: str, region: str = "FR") -> str:
    """`value` with e-mail addresses (without_emails) and phone numbers (libphonenumber's
    matcher, valid numbers only, national ones read in `region`) replaced by markers: dates,
    file numbers and SIRETs stay."""
    text = without_emails(value)
    if sum(c.isdigit() for c in text) < _FEWEST_DIGITS:
        return text
    found = phonenumbers.PhoneNumberMatcher(
        text.translate(_SPACES), region, leniency=phonenumbers.Leniency.VALID
    )
    spans = [(m.start, m.end) for m in found if not _YEAR.search(m.raw_string)]
    for start, end in reversed(spans):
        text = text[:start] + PHONE_MARKER + text[end:]
    return text
