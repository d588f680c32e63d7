"""What the other port modules share: the clock and how a subject is named in a check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from consentd.domain.identifiers import IdentifierKind

Clock = Callable[[], datetime]


Digest = tuple[IdentifierKind, bytes]


# A subject named by consentd's id or by the keyed digest of one identifier.
CheckKey = UUID | Digest
