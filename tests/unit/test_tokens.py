"""Unsubscribe tokens: unreadable, unforgeable, unalterable, and they survive rotation."""

from __future__ import annotations

import base64
import binascii
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.core.addresses import normalise
from worker.core.tokens import (
    MIN_SECRET_LENGTH,
    ExpiredToken,
    InvalidToken,
    KeyRing,
    decode_mailto,
    decode_url,
    mailto_token_from_local_part,
)
from worker.errors import ConfigError, UserError

SECRET_A = "a-secret-of-thirty-two-characters"
SECRET_B = "another-secret-0123456789abcdef!"
RING = KeyRing.parse(f"k1:{SECRET_A}")
NOW = 1_750_000_000
ADDRESS = "jane.doe@example.com"  # 20 characters: the "typical" address of the report
URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MAILTO_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"

addresses = st.one_of(
    st.emails(),
    st.builds(
        "{}@{}.example".format,
        st.text(st.characters(categories=["Ll", "Lu", "Nd"]), min_size=1, max_size=20),
        st.sampled_from(["mail", "xn--bcher-kva", "b\u00fccher"]),
    ),
).filter(lambda a: _valid(a))
scopes = st.one_of(
    st.just("all"),
    st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,63}", fullmatch=True).filter(
        lambda s: s not in ("all", "every")
    ),
)


def _valid(address: str) -> bool:
    try:
        normalise(address)
    except UserError:
        return False
    return True


def _b64_any_alignment(token: str) -> list[bytes]:
    """The token decoded from every starting offset, as someone fishing for text would."""
    out = []
    for skip in range(4):
        chunk = token[skip:]
        chunk = chunk[: len(chunk) - len(chunk) % 4]
        for alt in (b"-_", b"+/"):
            with contextlib.suppress(binascii.Error):  # a shifted chunk may not decode
                out.append(base64.b64decode(chunk, altchars=alt))
    return out


def _b32_any_alignment(token: str) -> list[bytes]:
    out = []
    for skip in range(8):
        chunk = token[skip:].upper()
        out.append(base64.b32decode(chunk[: len(chunk) - len(chunk) % 8]))
    return out


# -- round trips ----------------------------------------------------------------------


@settings(max_examples=200)
@given(address=addresses, scope=scopes, now=st.integers(0, 2**32 - 1))
def test_url_token_round_trips_any_valid_address_and_scope(
    address: str, scope: str, now: int
) -> None:
    claims = RING.verify(RING.mint(address, scope, now))
    assert (claims.address, claims.scope, claims.key_id, claims.minted_at) == (
        normalise(address),
        scope,
        "k1",
        now,
    )


@given(address=addresses, scope=scopes)
def test_mailto_token_round_trips_after_a_relay_changes_its_case(address: str, scope: str) -> None:
    token = RING.mint_mailto(address, scope, NOW)
    assert token == token.lower()
    for seen in (token, token.upper(), token.swapcase()):
        assert RING.verify_mailto(seen).address == normalise(address)


def test_url_and_mailto_forms_are_the_same_token() -> None:
    url = RING.verify(RING.mint(ADDRESS, "newsletter", NOW))
    mail = RING.verify_mailto(RING.mint_mailto(ADDRESS, "newsletter", NOW))
    assert url == mail


def test_every_spelling_of_one_mailbox_gets_the_same_claims() -> None:
    a = RING.verify(RING.mint("Jane.Doe@EXAMPLE.com", "all", NOW))
    b = RING.verify(RING.mint(ADDRESS, "all", NOW))
    assert a.address == b.address == ADDRESS


def test_age_is_the_seconds_since_minting() -> None:
    claims = RING.verify(RING.mint(ADDRESS, "all", NOW))
    assert claims.age(NOW + 90) == 90
    assert claims.age(NOW - 5) == 0  # another instance's clock may run behind


# -- nothing readable -------------------------------------------------------------------


@given(address=addresses, scope=scopes)
def test_the_address_is_not_in_the_token_nor_in_its_decoded_bytes(address: str, scope: str) -> None:
    canonical = normalise(address)
    url = RING.mint(address, scope, NOW)
    mail = RING.mint_mailto(address, scope, NOW)
    for text in (url, mail):  # in any case: the mailto form may be re-cased on the way
        assert canonical.lower() not in text.lower()
    encoded = canonical.encode("utf-8")
    for blob in [*_b64_any_alignment(url), *_b32_any_alignment(mail)]:
        assert encoded.lower() not in blob.lower()


def test_neither_part_of_a_typical_address_shows() -> None:
    url = RING.mint(ADDRESS, "newsletter", NOW)
    mail = RING.mint_mailto(ADDRESS, "newsletter", NOW)
    blobs = [*_b64_any_alignment(url), *_b32_any_alignment(mail)]
    for part in ("jane", "doe", "example"):
        assert part not in url.lower()
        assert part not in mail.lower()
        assert all(part.encode() not in blob.lower() for blob in blobs)


# -- nothing changeable -----------------------------------------------------------------


def test_every_single_character_change_of_a_url_token_is_rejected() -> None:
    token = RING.mint(ADDRESS, "newsletter", NOW)
    for position, original in enumerate(token):
        for replacement in URL_ALPHABET + "+/=.~":
            if replacement == original:
                continue
            changed = token[:position] + replacement + token[position + 1 :]
            with pytest.raises(InvalidToken):
                RING.verify(changed)


def test_every_single_character_change_of_a_mailto_token_is_rejected() -> None:
    token = RING.mint_mailto(ADDRESS, "newsletter", NOW)
    for position, original in enumerate(token):
        for replacement in MAILTO_ALPHABET + "0189=":
            if replacement == original:
                continue
            changed = token[:position] + replacement + token[position + 1 :]
            with pytest.raises(InvalidToken):
                RING.verify_mailto(changed)


@settings(max_examples=300)
@given(
    address=addresses,
    scope=scopes,
    data=st.data(),
)
def test_a_random_single_character_change_is_rejected(
    address: str, scope: str, data: st.DataObject
) -> None:
    token = RING.mint(address, scope, NOW)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from(URL_ALPHABET).filter(lambda c: c != token[position]))
    with pytest.raises(InvalidToken):
        RING.verify(token[:position] + replacement + token[position + 1 :])


@settings(max_examples=300)
@given(data=st.data(), mask=st.integers(1, 255))
def test_any_single_byte_change_is_rejected(data: st.DataObject, mask: int) -> None:
    raw = decode_url(RING.mint(ADDRESS, "offers", NOW))
    position = data.draw(st.integers(0, len(raw) - 1))
    changed = bytearray(raw)
    changed[position] ^= mask
    with pytest.raises(InvalidToken):
        RING.unseal(bytes(changed))


def test_every_truncation_and_extension_is_rejected() -> None:
    token = RING.mint(ADDRESS, "all", NOW)
    for length in range(len(token)):
        with pytest.raises(InvalidToken):
            RING.verify(token[:length])
        with pytest.raises(InvalidToken):
            RING.verify(token[length + 1 :])
    for extra in ("A", "AA", "AAAA", "="):
        with pytest.raises(InvalidToken):
            RING.verify(token + extra)


def test_a_token_from_another_secret_is_rejected() -> None:
    foreign = KeyRing.parse(f"k1:{SECRET_B}").mint(ADDRESS, "all", NOW)
    with pytest.raises(InvalidToken):
        RING.verify(foreign)


def test_oversized_and_foreign_text_is_rejected_before_decoding() -> None:
    for text in ("", "A" * 5000, "abc def", "ab\u00e9", "mailto:x"):
        with pytest.raises(InvalidToken):
            RING.verify(text)
        with pytest.raises(InvalidToken):
            RING.verify_mailto(text)


def test_the_rejection_says_nothing_about_key_or_address() -> None:
    token = RING.mint(ADDRESS, "all", NOW)
    with pytest.raises(InvalidToken) as caught:
        KeyRing.parse(f"k2:{SECRET_B}").verify(token)
    message = str(caught.value)
    assert message == "invalid or unknown unsubscribe link"
    assert "k1" not in message
    assert "k2" not in message


# -- rotation ---------------------------------------------------------------------------


def test_a_token_minted_before_rotation_verifies_after_it() -> None:
    old_ring = KeyRing.parse(f"old:{SECRET_A}")
    token = old_ring.mint(ADDRESS, "newsletter", NOW)
    rotated = KeyRing.parse(f"new:{SECRET_B}, old:{SECRET_A}")
    claims = rotated.verify(token)
    assert (claims.address, claims.key_id) == (ADDRESS, "old")
    assert rotated.verify(rotated.mint(ADDRESS, "all", NOW)).key_id == "new"


def test_a_token_whose_key_was_removed_is_rejected() -> None:
    token = KeyRing.parse(f"new:{SECRET_B},old:{SECRET_A}").mint(ADDRESS, "all", NOW)
    with pytest.raises(InvalidToken):
        KeyRing.parse(f"newer:{SECRET_A}").verify(token)
    with pytest.raises(InvalidToken):
        KeyRing.parse(f"new:{SECRET_A}").verify(token)  # same id, other secret


# -- expiry -----------------------------------------------------------------------------


def test_tokens_never_expire_by_default() -> None:
    token = RING.mint(ADDRESS, "all", NOW)
    assert RING.verify(token, now=NOW + 20 * 365 * 86400).minted_at == NOW


def test_max_age_rejects_only_older_tokens() -> None:
    token = RING.mint(ADDRESS, "all", NOW)
    assert RING.verify(token, now=NOW + 100, max_age=100).address == ADDRESS
    with pytest.raises(ExpiredToken):
        RING.verify(token, now=NOW + 101, max_age=100)
    with pytest.raises(InvalidToken):  # callers that only care about "invalid" catch it too
        RING.verify_mailto(RING.mint_mailto(ADDRESS, "all", NOW), now=NOW + 101, max_age=100)


def test_max_age_without_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="now"):
        RING.verify(RING.mint(ADDRESS, "all", NOW), max_age=10)


# -- minting inputs ---------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["every", "News", "", "a b", "news\n", "x" * 65])
def test_a_token_is_only_for_all_or_a_category_name(scope: str) -> None:
    with pytest.raises(ValueError, match="scope"):
        RING.mint(ADDRESS, scope, NOW)


@pytest.mark.parametrize("now", [-1, 2**32])
def test_minting_time_must_fit_the_format(now: int) -> None:
    with pytest.raises(ValueError, match="minting time"):
        RING.mint(ADDRESS, "all", now)


def test_a_malformed_address_is_refused_at_minting() -> None:
    with pytest.raises(UserError):
        RING.mint("not-an-address", "all", NOW)


# -- key ring configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "no keys"),
        ("   ", "no keys"),
        (f"k1{SECRET_A}", "entry 1 is not in the form 'id:secret'"),
        (f":{SECRET_A}", "entry 1 has an empty key id"),
        (f"k1:{SECRET_A},", "entry 2 is empty"),
        (f"k 1:{SECRET_A}", "key id 'k 1' may use only"),
        (f"{'k' * 16}:{SECRET_A}", "entry 1 has a key id of 16 characters; at most 15"),
        (f"k1:{SECRET_A},k2:short", "entry 2 (key id 'k2'): secret is 5 characters"),
        (f"k1:{SECRET_A},k1:{SECRET_B}", "key id 'k1' appears twice"),
    ],
)
def test_a_bad_key_ring_names_the_problem_and_not_the_secret(spec: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="OPTOUT_TOKEN_KEYS") as caught:
        KeyRing.parse(spec, source="OPTOUT_TOKEN_KEYS")
    message = str(caught.value)
    assert problem in message
    for secret in (SECRET_A, SECRET_B, "short"):
        assert secret not in message


def test_secrets_of_the_minimum_length_are_accepted() -> None:
    ring = KeyRing.parse("k1:" + "s" * MIN_SECRET_LENGTH + ",k2:with:colons:0123456789")
    assert ring.key_ids == ("k1", "k2")
    assert ring.minting_key_id == "k1"


def test_the_ring_never_shows_its_secrets() -> None:
    ring = KeyRing.parse(f"k1:{SECRET_A}")
    assert SECRET_A not in repr(ring)
    assert "k1" in repr(ring)


# -- mailto helpers ---------------------------------------------------------------------


def test_the_token_is_found_in_an_unsubscribe_local_part_of_any_case() -> None:
    token = RING.mint_mailto(ADDRESS, "all", NOW)
    local = f"UNSUBSCRIBE+{token.upper()}"
    found = mailto_token_from_local_part(local)
    assert found is not None
    assert RING.verify_mailto(found).address == ADDRESS
    assert mailto_token_from_local_part("unsubscribe") is None
    assert mailto_token_from_local_part(f"sales+{token}") is None


def test_decoders_accept_only_the_canonical_spelling() -> None:
    raw = decode_url(RING.mint(ADDRESS, "all", NOW))
    assert decode_mailto(RING.mint_mailto(ADDRESS, "all", NOW).upper()) == raw
