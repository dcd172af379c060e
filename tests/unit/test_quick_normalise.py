"""The fast path of normalise gives exactly what the full validation gives, or defers to it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.core.addresses import full_normalise as normalise
from worker.core.addresses import normalise as quick_normalise
from worker.errors import InvalidAddress

LOCAL = st.text(alphabet="abcXYZ019._+-!#'\"", min_size=0, max_size=70)
LABEL = st.text(alphabet="abcXYZ09-_", min_size=0, max_size=66)
TLD = st.sampled_from(["com", "org", "c0m", "x", "test", "local", "xn--p1ai", "museum", "123"])


def same(raw: str) -> None:
    try:
        expected: str | None = normalise(raw)
    except InvalidAddress:
        expected = None
    try:
        got: str | None = quick_normalise(raw)
    except InvalidAddress:
        got = None
    assert got == expected, raw


@settings(max_examples=3000, deadline=None)
@given(local=LOCAL, labels=st.lists(LABEL, min_size=0, max_size=3), tld=TLD, pad=st.booleans())
def test_fast_path_agrees_with_email_validator(
    local: str, labels: list[str], tld: str, pad: bool
) -> None:
    raw = f"{local}@{'.'.join([*labels, tld])}"
    same(f"  {raw} " if pad else raw)


@settings(max_examples=1000, deadline=None)
@given(st.emails())
def test_agrees_on_generated_valid_addresses(raw: str) -> None:
    same(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "A@Example.COM",
        "a..b@example.com",
        ".a@example.com",
        "a@ex-.com",
        "a@x.test",
        "a@sub.localhost",
        "x" * 65 + "@example.com",
        "a@" + "b" * 64 + ".com",
        "mailto:a@example.com",
        "<a@example.com>",
        "jörg@example.de",
        "a@xn--bcher-kva.example",
    ],
)
def test_edge_cases(raw: str) -> None:
    same(raw)


def test_special_use_names_are_email_validators() -> None:
    """The fast path refuses the special-use names email_validator refuses; the list is
    written out (importing email_validator costs every command's start 20 ms), so it must
    stay the library's."""
    import email_validator

    from worker.core.addresses import SPECIAL_USE_DOMAIN_NAMES

    assert sorted(SPECIAL_USE_DOMAIN_NAMES) == sorted(email_validator.SPECIAL_USE_DOMAIN_NAMES)
