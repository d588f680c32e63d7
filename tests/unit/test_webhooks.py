"""Webhook signatures as the Standard Webhooks specification makes them (its own example), the
URLs consentd posts to, and the retry schedule."""

from __future__ import annotations

import base64
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from consentd.domain.errors import InvalidInput
from consentd.domain.webhooks import (
    Webhook,
    checked_url,
    endpoint,
    message_id,
    origin,
    retry_after,
    secret_text,
    signature,
    signing_key,
)
from consentd.webhook_posts import asked_wait
from consentd.webhook_posts import why as _why


def test_the_signature_is_the_specifications_example() -> None:
    """The example of the Standard Webhooks specification: any receiver library checks it."""
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    made = signature([key], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert made == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_rotation_signs_with_both_secrets_until_its_overlap_ends() -> None:
    """Standard Webhooks: several signatures, space-separated; a receiver with either secret
    finds its own."""
    now = datetime(2026, 12, 7, tzinfo=UTC)
    hook = Webhook(
        UUID(int=1), UUID(int=2), "https://h.example/x", b"n" * 32, now, now,
        previous_salt=b"o" * 32, previous_until=now + timedelta(hours=1),
    )  # fmt: skip
    assert hook.salts(now) == [b"n" * 32, b"o" * 32]
    assert hook.salts(now + timedelta(hours=1)) == [b"n" * 32]
    assert replace(hook, previous_salt=None, previous_until=None).salts(now) == [b"n" * 32]
    both = signature([b"k" * 32, b"l" * 32], "m", 1, b"{}").split(" ")
    assert both == [signature([b"k" * 32], "m", 1, b"{}"), signature([b"l" * 32], "m", 1, b"{}")]


def test_each_webhook_has_its_own_secret_from_the_service_secret() -> None:
    tenant, hook = UUID(int=1), UUID(int=2)
    one = signing_key(b"s" * 32, tenant, hook, b"a" * 32)
    assert one == signing_key(b"s" * 32, tenant, hook, b"a" * 32)
    assert one != signing_key(b"t" * 32, tenant, hook, b"a" * 32)
    assert one != signing_key(b"s" * 32, tenant, hook, b"b" * 32)
    assert one != signing_key(b"s" * 32, tenant, UUID(int=3), b"a" * 32)
    assert secret_text(one).startswith("whsec_")
    assert base64.b64decode(secret_text(one)[6:]) == one


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/hook",
        "https://crm.example.com:8443/hook?token=x",
        "http://127.0.0.1:9000/hook",
        "http://[::1]:9000/",
        "http://localhost/hook",
        "https://10.0.0.1/hook",  # a receiver inside the company
        "https://[fd00::1]/hook",
        "https://metadata.example.com/hook",
        "https://2130706433:8443/hook",  # 127.0.0.1 as one number: loopback stays allowed
        "https://0x7f.1/hook",
        "https://123.example/hook",
    ],
)
def test_urls_consentd_posts_to(url: str) -> None:
    assert checked_url(url) == url


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://crm.example.com/", "https://"),
        ("http://10.0.0.1/", "https://"),
        ("https://u:p@crm.example.com/", "user or password"),
        ("https://crm.example.com/#x", "fragment"),
        ("https://crm.example.com:70000/", "not a URL"),
        ("https://crm.example.com/a b", "spaces"),
        ("ftp://crm.example.com/", "https://"),
        ("https:///path", "https://"),
        ("https://crm.example.com/\n", "printable"),
        ("https://é.example/", "ASCII"),
        ("https://x.example/" + "a" * 2048, "2048"),
        ("", "ASCII"),
        # Taken by the URL parser, refused by the client that posts (probe JA: its delivery
        # died silently).
        ("https://xn--a.com/hook", "can post to"),
        ("https://xn--zz-.com/", "can post to"),
        ("https://[::1]x/", "URL"),
        ("https://[v1.x]/", "URL"),
        ("https://crm.example.com/%zz", "hex digits"),
        ("https://crm.example.com/%", "hex digits"),
        # No receiver there: a cloud's instance metadata, multicast, reserved (probe WB).
        ("https://169.254.169.254/latest/meta-data", "instance metadata"),
        ("https://[::ffff:169.254.169.254]/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://METADATA.google.internal./computeMetadata/", "instance metadata"),
        ("https://224.0.0.1/", "multicast"),
        ("https://240.0.0.1/", "reserved"),
        ("https://0.0.0.0/", "unspecified"),
        # The same, spelt as resolvers read it (probe YA), and other clouds' metadata.
        ("https://2852039166/hook", "instance metadata"),
        ("https://0xa9fea9fe/hook", "instance metadata"),
        ("https://0xa9.0xfe.0xa9.0xfe/hook", "instance metadata"),
        ("https://169.254.43518/hook", "instance metadata"),
        ("https://169.16689662/hook", "instance metadata"),
        ("https://[2002:a9fe:a9fe::]/", "instance metadata"),
        ("https://[fd00:ec2::254]/", "instance metadata"),
        ("https://[fd00:ec2::254%25eth0]/h", "instance metadata"),
        ("https://[2001::5601:5601]/h", "instance metadata"),  # Teredo of 169.254.169.254
        ("https://100.100.100.200/", "instance metadata"),
        ("https://192.0.0.192/", "instance metadata"),
        ("https://instance-data.ec2.internal/", "instance metadata"),
    ],
)
def test_urls_refused_with_why(url: str, said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        checked_url(url)


def test_logs_name_the_origin_only() -> None:
    assert origin("https://crm.example.com:8443/h?token=secret") == "https://crm.example.com:8443"


def test_retries_double_from_5_seconds_to_5_minutes() -> None:
    waits = [retry_after(n).total_seconds() for n in range(1, 10)]
    assert waits == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert retry_after(10_000) == timedelta(minutes=5)


def test_a_pages_id_names_the_webhook_the_start_and_the_positions() -> None:
    assert message_id(UUID(int=7), 2, 10, 19, "0a1b") == f"{UUID(int=7)}.2.10-19.0a1b"


def test_one_receiver_written_two_ways_is_one_endpoint() -> None:
    assert endpoint("HTTP://127.0.0.1:80/h?t=1") == endpoint("http://127.0.0.1/h?t=1")
    assert endpoint("https://CRM.example.com:443/h") == endpoint("https://crm.example.com/h")
    assert endpoint("https://crm.example.com/h") != endpoint("https://crm.example.com/h2")
    assert endpoint("https://crm.example.com/h") != endpoint("https://crm.example.com:8443/h")
    # Probe JB: a trailing dot, an empty query, a percent-encoded letter.
    for same in (
        "https://crm.example.com./h",
        "https://crm.example.com/h?",
        "https://crm.example.com/%68",
    ):
        assert endpoint(same) == endpoint("https://crm.example.com/h")
    # Probe JD: reserved characters encoded are other URLs.
    assert endpoint("https://crm.example/h%2Fook") != endpoint("https://crm.example/h/ook")
    assert endpoint("https://crm.example/h?a=%26") != endpoint("https://crm.example/h?a=&")
    assert endpoint("https://crm.example/h?t=a%2Bb") != endpoint("https://crm.example/h?t=a+b")
    assert endpoint("https://crm.example/%7euser") == endpoint("https://crm.example/~user")
    assert endpoint("https://crm.example/a%2fb") == endpoint("https://crm.example/a%2Fb")


def test_a_connection_error_says_why_without_the_host() -> None:
    def chained(cause: BaseException) -> Exception:
        error = ConnectionError("All connection attempts failed")
        error.__cause__ = cause
        return error

    assert _why(chained(socket.gaierror(-2, "Name or service not known"))) == (
        " (the host name did not resolve)"
    )
    assert _why(chained(ConnectionRefusedError(111, "refused"))) == " (connection refused)"
    looped = ValueError("a")
    looped.__context__ = looped
    assert _why(looped) == ""


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120),
        (" 30 ", 30),
        ("99999999", 3600),  # an hour at most
        ("0000000005", 5),
        ("9" * 5000, 3600),
        ("Mon, 07 Dec 2026 12:02:00 GMT", 120),  # an HTTP date
        ("Mon, 07 Dec 2026 11:00:00 GMT", None),  # in the past
        ("Mon, 07 Dec 2026 12:02:00", None),  # no zone
        ("0", None),
        ("-5", None),
        ("\uff11\uff12", None),  # full-width digits
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_a_retry_after_header_is_read_as_a_wait(header: str | None, seconds: int | None) -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    wait = asked_wait(header, now)
    assert (wait.total_seconds() if wait else None) == seconds
