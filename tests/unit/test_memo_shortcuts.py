"""The memo scope's shortcuts answer as the reads they stand for.

``_lower_name`` is ``str.lower`` remembered; a scope's last part view is the view its
``__dict__`` holds; ``memo_scope`` is a compiled class, not a generator, and must set
and reset the scope as ``contextlib.contextmanager`` did, exceptions included. Seeded,
so a failure is reproducible.
"""

from __future__ import annotations

import random

import pytest

from tests.bench.bench_intake import corpus_like_backlog
from worker.core import message
from worker.core.message import (
    _LOWER_NAMES,
    _LOWER_NAMES_KEPT,
    _lower_name,
    _part_view,
    content_type,
    has_header,
    header,
    headers,
    memo_scope,
    param,
    parse_bytes,
    walk,
)

#: no capital sigma: compiled, ``str.lower`` maps a final one to "σ" (addresses.lower),
#: and so did the ``name.lower()`` the memo replaced; this test's own lower() does not
_NAME_PIECES = [
    "From", "TO", "x-", "Content-Type", "ς", "σ", "İ", "ß", "Ǆ", "\udce9", "é", "K", " ", ":",
]  # fmt: skip


def test_lower_name_is_str_lower() -> None:
    # more names than the memo keeps: it starts afresh, and answers the same
    rnd = random.Random(11)
    names = [
        "".join(rnd.choice(_NAME_PIECES) for _ in range(rnd.randint(0, 4))) for _ in range(3000)
    ]
    for name in names + names:  # the second time from the memo, where it kept the name
        assert _lower_name(name) == name.lower(), repr(name)
    assert len(_LOWER_NAMES) <= _LOWER_NAMES_KEPT


def test_lower_name_is_one_string_for_one_name() -> None:
    for i in range(_LOWER_NAMES_KEPT * 2):  # a full memo too
        _lower_name(f"X-Name-{i}")
        assert _lower_name("Reply-To") is _lower_name("Reply-To")
    assert len(_LOWER_NAMES) <= _LOWER_NAMES_KEPT


def _reads(msg: object, rnd: random.Random) -> list[object]:
    """Header, type and parameter reads in a random order over the parts of ``msg``."""
    assert isinstance(msg, message.Message)
    parts = list(walk(msg))
    names = ["From", "To", "Subject", "Content-Type", "X-Absent", "Return-Path", "to"]
    out: list[object] = []
    for _ in range(60):
        part = rnd.choice(parts)
        kind = rnd.randrange(5)
        name = rnd.choice(names)
        if kind == 0:
            out.append(headers(part, name))
        elif kind == 1:
            out.append(header(part, name))
        elif kind == 2:
            out.append(has_header(part, name))
        elif kind == 3:
            out.append(content_type(part))
        else:
            out.append(param(part, "charset"))
    return out


def test_reads_in_a_scope_are_the_reads_outside_it() -> None:
    # parts read in turn, so the last view is both reused and replaced
    for seed, raw in enumerate(corpus_like_backlog(120, seed=4)):
        outside = _reads(parse_bytes(raw), random.Random(seed))
        msg = parse_bytes(raw)
        with memo_scope():
            inside = _reads(msg, random.Random(seed))
            with memo_scope():  # a nested scope makes views of its own
                nested = _reads(msg, random.Random(seed))
            after = _reads(msg, random.Random(seed))  # back in the outer scope
        assert inside == outside == nested == after


def test_the_last_view_is_the_parts_own() -> None:
    msg = parse_bytes(next(iter(corpus_like_backlog(30, seed=5))))
    parts = list(walk(msg))
    with memo_scope():
        for part in parts + parts[::-1] + parts:
            view = _part_view(part)
            assert _part_view(part) is view
            assert part.__dict__[message._VIEW_ATTR] is view


def test_memo_scope_sets_and_resets_the_scope() -> None:
    assert message._SCOPE.get() is None
    with memo_scope():
        outer = message._SCOPE.get()
        assert outer is not None
        with memo_scope():
            assert message._SCOPE.get() not in (None, outer)
        assert message._SCOPE.get() is outer
    assert message._SCOPE.get() is None
    with pytest.raises(ValueError, match="inside"), memo_scope():
        raise ValueError("inside")
    assert message._SCOPE.get() is None
