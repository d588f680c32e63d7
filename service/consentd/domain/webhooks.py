"""Webhooks: a tenant's endpoint the change feed is pushed to, signed as Standard Webhooks.

Each delivery is one POST of a page of the feed (the JSON of a WatchConsentChangesResponse),
with the headers of the Standard Webhooks specification: `webhook-id` (the same for every
attempt of one page: a receiver drops a page it already took), `webhook-timestamp` (Unix
seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`),
under the webhook's secret `whsec_<base64>`. The secret is derived from the service secret and
a salt the row keeps, so a database dump does not hold it (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import socket
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import httpx

from consentd.domain.errors import InvalidInput

MAX_URL = 2048
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
# After n failures in a row the next attempt waits FIRST_RETRY * 2^(n-1), LAST_RETRY at most:
# a receiver back after an outage hears of the withdrawals it missed within minutes.
FIRST_RETRY = timedelta(seconds=5)
LAST_RETRY = timedelta(minutes=5)
_LOOPBACK_NAMES = {"localhost"}
# Names clouds give their instance metadata service (at 169.254.169.254 or fd00:ec2::254).
_METADATA_NAMES = {
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.internal",
    "instance-data",
    "instance-data.ec2.internal",
}
# Metadata services outside link-local: AWS over IPv6, Alibaba Cloud, Oracle's former one.
_METADATA_ADDRESSES = {
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("192.0.0.192"),
}
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True, slots=True)
class Webhook:
    """One endpoint of one tenant, and where its delivery stands."""

    tenant_id: UUID
    webhook_id: UUID
    url: str
    salt: bytes
    created_at: datetime
    next_attempt_at: datetime
    removed_at: datetime | None = None
    generation: int = 0
    cursor: str = ""
    # The position the cursor stands at (what was taken), and the last position of the page
    # being sent (a retry sends that same page again, under the same id).
    delivered_position: int = 0
    attempted_through: int = 0
    delivered_at: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    # A rotation's salt before it, still signed with until `previous_until` (both or neither).
    previous_salt: bytes | None = None
    previous_until: datetime | None = None
    rotated_at: datetime | None = None

    def salts(self, now: datetime) -> list[bytes]:
        """The salts of the secrets a delivery at `now` is signed with: the current one, and
        the one before a rotation until its overlap ends."""
        before = self.previous_salt
        if before is None or self.previous_until is None or now >= self.previous_until:
            return [self.salt]
        return [self.salt, before]


def checked_url(url: str) -> str:
    """The URL as given, when consentd may post to it: https, or http to this machine's
    loopback (a relay beside the service); no user or password in it (they would be shown by
    `webhooks list` and kept in the database: use the signature to authenticate consentd).
    Raises InvalidInput."""
    if not url or len(url) > MAX_URL or not url.isascii() or not url.isprintable():
        raise InvalidInput("url", f"must be a printable ASCII URL of at most {MAX_URL} chars")
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:
        raise InvalidInput("url", f"is not a URL: {error}") from None
    if " " in url:
        raise InvalidInput("url", "must not hold spaces (percent-encode them)")
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidInput("url", "must be an https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url", "must not hold a user or password: the signature authenticates")
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        raise InvalidInput("url", "has a % not followed by two hex digits")
    if parts.fragment:
        raise InvalidInput("url", "must not have a #fragment (it is never sent)")
    if parts.scheme == "http" and not _loopback(host):
        raise InvalidInput("url", "must be https:// (http:// only to 127.0.0.1, ::1 or localhost)")
    if _no_receiver(host):
        raise InvalidInput(
            "url",
            "names a link-local, multicast, reserved or unspecified address, or a cloud's "
            "instance metadata: no webhook receiver lives there",
        )
    try:  # what the delivery's client will make of it (an A-label that is no IDNA, ...)
        httpx.Request("POST", url)
    except (httpx.InvalidURL, ValueError) as error:
        raise InvalidInput("url", f"is not a URL consentd can post to: {error}") from None
    return url


def endpoint(url: str) -> tuple[str, str, int, bytes]:
    """What two URLs of one receiver share: scheme and host in lower case, the port (the
    default one when none is written), path and query as given."""
    parsed = httpx.URL(url)
    port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)
    # `host.` is the host; an empty query is none; %70 is p, but %2F is no / (RFC 3986 6.2.2).
    path = _ESCAPE.sub(_normal, parsed.raw_path.removesuffix(b"?"))
    return parsed.scheme, parsed.host.rstrip("."), port, path


_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normal(escape: re.Match[bytes]) -> bytes:
    """An unreserved character decoded, any other escape in upper case (%2f is %2F)."""
    code = int(escape[1], 16)
    return bytes([code]) if code in _UNRESERVED else b"%" + escape[1].upper()


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _no_receiver(host: str) -> bool:
    """Where an operator pasting a URL a customer gave must not send consentd (probe WB: 169.254
    and metadata.google.internal were taken, and connected to): instance metadata (link-local),
    multicast, reserved and unspecified addresses, in any spelling. Private networks and loopback
    stay allowed: a receiver inside the company, a relay beside the service."""
    name = host.lower().rstrip(".")
    if name in _METADATA_NAMES:
        return True
    address = _address(name)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address):  # an IPv4 inside (Teredo's client too)
        teredo = address.teredo[1] if address.teredo else None
        address = address.ipv4_mapped or address.sixtofour or teredo or address
    return address in _METADATA_ADDRESSES or (
        not address.is_loopback
        and (
            address.is_link_local
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
        )
    )


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host names, in any spelling a resolver takes: 2852039166,
    0xa9fea9fe and 169.254.43518 are 169.254.169.254 to getaddrinfo (probe YA)."""
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])  # fd00:ec2::254%eth0: its zone off
    except ValueError:
        pass
    if not re.fullmatch(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}", name):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def origin(url: str) -> str:
    """Scheme, host and port: what logs and the audit log name (a path or query may hold a
    receiver's token)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def signing_key(service_secret: bytes, tenant_id: UUID, webhook_id: UUID, salt: bytes) -> bytes:
    """The webhook's 32-byte secret: the service secret's, for this tenant, webhook and salt."""
    message = b"consentd webhook secret|" + tenant_id.bytes + webhook_id.bytes + salt
    return hmac.new(service_secret, message, hashlib.sha256).digest()


def secret_text(key: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(key).decode()


def signature(keys: list[bytes], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header's value (Standard Webhooks, version 1): one `v1,`
    signature per key, separated by spaces (during a rotation's overlap, two)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in keys
    )


def message_id(webhook_id: UUID, generation: int, first: int, last: int, mark: str) -> str:
    """The same for every attempt of one page: positions `first` to `last` of the feed, read
    from the `generation`th start (a rewind starts another), the last change known by `mark`
    (its fact's id: a database restored from an earlier backup holds other changes at the
    positions sent since, which must not read as pages already taken)."""
    return f"{webhook_id}.{generation}.{first}-{last}.{mark}"


def retry_after(failures: int) -> timedelta:
    """How long after its `failures`th failure in a row a webhook is tried again."""
    doubled: timedelta = FIRST_RETRY * (2 ** min(max(failures - 1, 0), 16))
    return min(doubled, LAST_RETRY)
