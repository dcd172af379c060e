"""The bulk check's hashing loop gives exactly what normalise + hash give one by one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.core.addresses import hash_of, hashes_of
from worker.errors import InvalidAddress

LOCAL = st.text(alphabet="abcXYZ019._+-!#'\"", min_size=0, max_size=70)
LABEL = st.text(alphabet="abcXYZ09-_", min_size=0, max_size=66)
TLD = st.sampled_from(["com", "org", "x", "test", "local", "localhost", "onion", "arpa", "museum"])
ADDRESS = st.builds(
    lambda local, labels, tld, pad: (lambda a: f" {a}  " if pad else a)(
        f"{local}@{'.'.join([*labels, tld])}"
    ),
    LOCAL,
    st.lists(LABEL, min_size=0, max_size=3),
    TLD,
    st.booleans(),
)


def one_by_one(raw: str) -> str | None:
    try:
        return hash_of(raw)
    except InvalidAddress:
        return None


@settings(max_examples=300, deadline=None)
@given(st.lists(ADDRESS | st.emails() | st.text(max_size=30), max_size=20))
def test_hashes_of_agrees_with_hash_of(raws: list[str]) -> None:
    assert hashes_of(raws) == [one_by_one(r) for r in raws]


def test_special_use_and_long_local_parts_leave_the_fast_path_for_the_same_answer() -> None:
    raws = [
        "a@example.com",
        "A@Example.COM ",
        "a@x.test",
        "a@x.localhost",
        "a@localhost",
        "a@x.onion",
        "a@home.arpa",
        "x" * 64 + "@example.com",
        "x" * 65 + "@example.com",
        "a--b@example.com",
        "a@xn--bcher-kva.example",
        "jörg@example.de",
        "mailto:a@example.com",
        "",
        "nope",
    ]
    got = hashes_of(raws)
    assert got == [one_by_one(r) for r in raws]
    assert got[0] == got[1] is not None
    assert got[2:7] == [None] * 5  # special-use names are refused either way
