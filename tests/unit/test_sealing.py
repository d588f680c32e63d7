"""Crypto-shredding keys: sealed values open only with the subject's key, in the same field."""

from __future__ import annotations

from uuid import uuid4

import pytest

from consentd.domain.sealing import Keyring, SealError

TENANT, SUBJECT = uuid4(), uuid4()


def test_a_sealed_value_opens_with_its_key_and_label_only() -> None:
    """Round trip; another field label, subject or key does not open it."""
    keyring = Keyring(bytes(range(32)))
    key, wrapped = keyring.new_key(TENANT, SUBJECT)
    sealed = key.seal("email", "jeanne@example.fr")
    assert b"jeanne" not in sealed
    assert key.open("email", sealed) == "jeanne@example.fr"
    with pytest.raises(SealError):
        key.open("phone", sealed)
    other, _ = keyring.new_key(TENANT, uuid4())
    with pytest.raises(SealError):
        other.open("email", sealed)
    assert keyring.unwrap(TENANT, SUBJECT, wrapped).open("email", sealed) == "jeanne@example.fr"
    assert "jeanne" not in repr(key)


def test_a_wrapped_key_opens_only_under_the_same_secret_and_subject() -> None:
    """The stored key is useless without the service secret, or on another subject's row."""
    keyring = Keyring(bytes(range(32)))
    _, wrapped = keyring.new_key(TENANT, SUBJECT)
    with pytest.raises(SealError):
        Keyring(bytes(32)).unwrap(TENANT, SUBJECT, wrapped)
    with pytest.raises(SealError):
        keyring.unwrap(TENANT, uuid4(), wrapped)
    with pytest.raises(SealError):
        keyring.unwrap(TENANT, SUBJECT, b"\x02" + wrapped[1:])
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring(b"short")
