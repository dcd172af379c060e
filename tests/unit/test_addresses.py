"""Addresses: one canonical form, masked in logs, hashed for tombstones and exports."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.core.addresses import (
    address_hash,
    hash_of,
    is_valid,
    mask,
    mask_in_text,
    normalise,
    recent_address_hash,
)
from worker.errors import InvalidAddress


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A@Example.com", "a@example.com"),
        ("  john.DOE@EXAMPLE.COM ", "john.doe@example.com"),
        ("<a@example.com>", "a@example.com"),
        ("mailto:A@example.com", "a@example.com"),
        ("user@bücher.de", "user@xn--bcher-kva.de"),
        ("user@XN--BCHER-KVA.DE", "user@xn--bcher-kva.de"),
        ("Ünïcode@example.com", "ünïcode@example.com"),
    ],
)
def test_normalise_gives_one_form_per_mailbox(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "not-an-address", "a@", "@example.com", "a@@example.com", "a@localhost", "x" * 400],
)
def test_invalid_addresses_are_refused_with_a_clear_error(raw: str) -> None:
    with pytest.raises(InvalidAddress, match="not a valid email address"):
        normalise(raw)
    assert not is_valid(raw)


def test_hash_is_sha256_hex_of_normalised_address() -> None:
    expected = hashlib.sha256(b"a@example.com").hexdigest()
    assert address_hash("a@example.com") == expected
    assert hash_of("A@EXAMPLE.com") == expected


def test_idna_forms_hash_the_same() -> None:
    assert hash_of("user@bücher.de") == hash_of("user@xn--bcher-kva.de")


def test_mask_keeps_first_letter_and_domain() -> None:
    assert mask("john@example.com") == "j***@example.com"
    assert mask("not an address") == "***"


def test_mask_in_text_masks_every_address() -> None:
    text = "from john@example.com to Jane.Doe@mail.example.org, ok"
    assert mask_in_text(text) == "from j***@example.com to J***@mail.example.org, ok"


@given(st.emails())
def test_normalise_is_idempotent(raw: str) -> None:
    try:
        once = normalise(raw)
    except InvalidAddress:
        return
    assert normalise(once) == once
    assert normalise(once.upper()) == once


def test_the_remembered_hash_is_the_hash() -> None:
    for address in ("jane@example.org", "JANE@example.org", "émile@exemple.fr", ""):
        assert recent_address_hash(address) == address_hash(address)
        assert recent_address_hash(address) == address_hash(address)  # from the cache
