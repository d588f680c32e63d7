"""One POST to a webhook's receiver, and what webhook_delivery.py needs around it: the signed
headers, the words for what went wrong (never the URL), and the cursor's write after a 2xx."""

from __future__ import annotations

import asyncio
import socket
import ssl
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import NamedTuple

import httpx

from consentd.domain.webhooks import signature

# One POST and its answer, the whole exchange (a receiver trickling its answer is cut off).
POST_SECONDS = 10.0
# How long a stop waits for the cursor's write after a 2xx.
WRITE_SECONDS = 0.5
# A receiver's Retry-After (with 429 or 503) is honoured up to this long.
ASKED_AT_MOST = timedelta(hours=1)


class Failed(NamedTuple):
    """What went wrong, in words without the URL; and how long the receiver asked to be left
    alone (Retry-After with a 429 or 503), if it did."""

    error: str
    asked: timedelta | None = None


def posting_client(limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    """The HTTP client of webhook POSTs: redirects not followed, and no proxy from the
    environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY sent every page, loopback `http://` ones
    included, to the proxy in clear; probe VE), while SSL_CERT_FILE / SSL_CERT_DIR still name
    the roots receivers' certificates are checked against."""
    tls = httpx.create_ssl_context(trust_env=True)
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=POST_SECONDS,
        limits=limits or httpx.Limits(),
        trust_env=False,
        verify=tls,
    )


async def send(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> Failed | None:
    """None when the receiver answered 2xx; else what went wrong (its answer's body is never
    read)."""
    try:
        async with (
            asyncio.timeout(POST_SECONDS),
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            status = response.status_code
            asked = response.headers.get("retry-after") if status in (429, 503) else None
    except TimeoutError:
        return Failed(f"no answer within {POST_SECONDS:g} s")
    except Exception as error:  # noqa: BLE001 - any transport error is the receiver's failure
        return Failed(f"not delivered: {type(error).__name__}{why(error)}")
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return Failed(f"answered HTTP {status} (redirects are not followed: give the final URL)")
    return Failed(f"answered HTTP {status}", asked_wait(asked, datetime.now(UTC)))


def asked_wait(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header's wait (seconds, or an HTTP date), ASKED_AT_MOST at most; None for
    none, one in the past, or one that does not parse (a 429's Retry-After: 120 was retried
    5 s later, probe XC)."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        digits = value.lstrip("0") or "0"  # 0005 is 5 s (probe YA); 5,000 digits no error
        wait = timedelta(seconds=int(digits) if len(digits) <= 8 else 10**8)
    else:
        try:
            wait = parsedate_to_datetime(value) - now
        except (TypeError, ValueError):
            return None
    return min(wait, ASKED_AT_MOST) if wait > timedelta(0) else None


def headers_for(keys: list[bytes], message: str, stamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "consentd-webhooks/1",
        "webhook-id": message,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature(keys, message, stamp, body),
    }


def why(error: BaseException) -> str:
    """What a connection error was, in words that name no host (a DNS failure read as any
    other ConnectError; probe JB)."""
    seen: BaseException | None = error
    for _ in range(8):  # a chain is short; never follow a cycle
        if seen is None:
            break
        if isinstance(seen, socket.gaierror):
            return " (the host name did not resolve)"
        if isinstance(seen, ConnectionRefusedError):
            return " (connection refused)"
        if isinstance(seen, ssl.SSLCertVerificationError):
            return " (TLS: its certificate is not trusted, or not for this host)"
        if isinstance(seen, ssl.SSLError):
            return " (TLS handshake failed)"
        seen = seen.__cause__ or seen.__context__
    return ""


async def written(write: asyncio.Future[bool]) -> None:
    """Wait for the cursor's write after a 2xx; a stop meanwhile (SIGTERM cancels the delivery
    first thing) lets it end, WRITE_SECONDS at most, before going: cut, the next start sent
    that page again (probe JC). Not written (the database away): the page goes again."""
    write.add_done_callback(retrieved)  # its error, even once nobody waits for it
    try:
        await asyncio.shield(write)
    except asyncio.CancelledError:
        await asyncio.wait([write], timeout=WRITE_SECONDS)
        raise
    except Exception:  # noqa: BLE001, S110 - at least once: the page is sent again
        pass


def retrieved(write: asyncio.Future[bool]) -> None:
    """A write that failed after its waiter left (the database frozen at a stop) logged an
    error-level "Task exception was never retrieved" (probe JD)."""
    if not write.cancelled():
        write.exception()
