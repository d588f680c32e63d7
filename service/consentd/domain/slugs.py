"""A tenant's slug: the rule the admin commands and the settings check (no dependency, so
that reading the settings stays cheap for `consentd health`)."""

from __future__ import annotations

import re

SLUG = re.compile(r"[a-z][a-z0-9-]{0,62}")
SLUG_RULE = "must be 1 to 63 of a-z, 0-9 and '-', starting with a letter"
