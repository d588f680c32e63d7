"""Preference links: the preference centre opened from a message, for people no portal knows.

A portal token needs an identity provider of the tenant's own and the person's external id: a
subscriber known by an e-mail address or a phone number alone could not reach the page (probe
KC; the consent platforms it is compared with send a "manage my preferences" link). consentd
makes these links itself, under a key of their own derived from the service secret:

    p1.<payload>.<mac>

`payload` is base64url JSON `{"tid": tenant id, "kind": "email" | "phone" | "external_id" |
"cal_id", "sub": the identifier, normalised, "iat", "exp": Unix seconds}`: the person as the
campaign names them (the page reads who it is for, as it reads a portal token's `sub`); `mac` is the
base64url HMAC-SHA256 of `p1.<payload>`. A link acts for that person as a portal token does
(subject:self) until `exp`, on every replica; nobody can make one for someone else or change
its person or time. `consentd preference-link ... --revoke` refuses the person's links made
until then (a link made before `iat` existed counts as made MAX_DAYS before it expires); the
person's erasure ends what a link can do (NOT_FOUND), a new service secret ends every link; keep
lifetimes short (7 days by default, 30 at most).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from consentd.app.ports import Clock
from consentd.app.token_refusals import numeric_date, refused
from consentd.domain.canonical import b64url, unb64url
from consentd.domain.confirmations import TOKEN_PLACEHOLDER
from consentd.domain.identifiers import Identifier, IdentifierHasher, IdentifierKind
from consentd.domain.tenancy import tenant_id_of

PREFIX = "p1."
DEFAULT_DAYS = 7  # CONSENTD_PREFERENCE_LINK_DAYS's default; MAX_DAYS at most (config.py)
MAX_DAYS = 30
LONGEST = timedelta(days=MAX_DAYS, minutes=1)
SKEW = timedelta(minutes=5)  # a replica's clock ahead of this one's
# Our links are about 150 to 600 characters (an identifier is 256 at most); more is not one.
MAX_LINK = 1024


class Opened(NamedTuple):
    tenant_id: UUID
    person: Identifier
    expires: datetime
    issued: datetime  # its `iat` (a link made before it: MAX_DAYS before it expires)


class PreferenceLinks:
    def __init__(
        self, secret: bytes, clock: Clock, url_template: str = "", days: int = DEFAULT_DAYS
    ) -> None:
        self._key = hmac.new(secret, b"consentd preference links", hashlib.sha256).digest()
        self._hasher = IdentifierHasher(secret)  # the service's own (the same secret)
        self._clock = clock
        self._template = url_template
        self.lifetime = timedelta(days=days)

    @property
    def serves_urls(self) -> bool:
        """Whether a page's address is configured (CONSENTD_PREFERENCES_URL)."""
        return bool(self._template)

    def token(
        self, tenant_id: UUID, person: Identifier, lifetime: timedelta | None = None
    ) -> tuple[str, datetime]:
        """A link's token for `person` of the tenant, and when it expires (`lifetime` from now,
        or the configured one)."""
        now = self._clock()
        expires = int((now + (lifetime or self.lifetime)).timestamp())
        claims = {"tid": str(tenant_id), "kind": person.kind.value, "sub": person.value}
        # `iat` to the microsecond, as a revocation's time: a link made the same second is not
        # refused, one made the instant before is (probe SB: rounded to the millisecond).
        times = {"iat": round(now.timestamp(), 6), "exp": expires}
        encoded = json.dumps({**claims, **times}, separators=(",", ":"), ensure_ascii=False)
        signed = PREFIX + b64url(encoded.encode())
        return f"{signed}.{b64url(self._mac(signed))}", datetime.fromtimestamp(expires, UTC)

    def url(self, token: str) -> str:
        """The page's address with the token in it ("" when no address is configured)."""
        return self._template.replace(TOKEN_PLACEHOLDER, token) if self._template else ""

    def opened(self, credential: str) -> Opened:
        """The tenant, person, expiry and making time of a link this service made and that is
        still valid. Raises Unauthenticated (said as `portal_token_refused`, `link_*` reasons)."""
        signed, _, mac = credential.rpartition(".")
        if len(credential) > MAX_LINK or not signed.startswith(PREFIX) or not credential.isascii():
            raise refused("link_malformed")
        # Compared as written: one spelling per link (the other base64 alphabet, or another
        # last character with the same bits, passed a check of the decoded bytes; probe LA).
        if not hmac.compare_digest(b64url(self._mac(signed)), mac):
            raise refused("link_signature")
        try:  # ours (the mac says so), yet read as any input: a format that changed, a secret
            # shared with another build said INTERNAL (probe PA)
            claims = json.loads(unb64url(signed.removeprefix(PREFIX)))
            expires = numeric_date(claims["exp"])
            if not isinstance(claims["sub"], str):
                raise TypeError("sub")
            person = Identifier(IdentifierKind(claims["kind"]), claims["sub"])
            tenant_id = tenant_id_of(claims["tid"])
            made = claims.get("iat")
            issued = numeric_date(made) if made is not None else expires - timedelta(MAX_DAYS)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            raise refused("link_malformed") from None
        now = self._clock()
        # Ours, yet bounded as any input (probe SB): one spelling of the tenant, made in the
        # past (a link made "later" outlived every revocation), living MAX_DAYS at most.
        if tenant_id is None or expires - issued > LONGEST:
            raise refused("link_malformed")
        if issued > now + SKEW:  # made by a host whose clock ran ahead (said as such: probe VA)
            raise refused("link_made_ahead")
        if now >= expires:
            raise refused("link_expired")
        return Opened(tenant_id, person, expires, issued)

    def digest(self, tenant_id: UUID, person: Identifier) -> bytes:
        """The keyed digest the tenant's identifiers are stored by (domain/identifiers.py)."""
        return self._hasher.digest(tenant_id, person)

    def caller(self, person: Identifier) -> str:
        """The caller name of a link's person in logs and audit entries: `link:<pseudonym>`."""
        return f"link:{self.pseudonym(f'{person.kind}:{person.value}')}"

    def pseudonym(self, text: str) -> str:
        """A caller's name in logs and audit entries for a person named by `text`: keyed, so
        an erased person's address cannot be found again from it by hashing guesses (probe
        LA: a plain SHA-256 of a phone number fell to a search of the numbering plan)."""
        return hmac.new(self._key, b"caller|" + text.encode(), hashlib.sha256).hexdigest()[:16]

    def _mac(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode(), hashlib.sha256).digest()
