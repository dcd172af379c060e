"""The classifier's patterns compiled ahead (worker/regex_cache.py): each one read from the
file is the pattern ``re.compile`` makes; anything else falls back to ``re.compile``."""

from __future__ import annotations

import marshal
import re
import subprocess
import sys
from pathlib import Path

import pytest

from worker import regex_cache


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rx") / "cache.marshal"
    out = subprocess.run(
        [sys.executable, "-m", "worker.regex_cache", "--record", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert int(out.stdout) > 1000  # the phrase lists alone are hundreds
    return path


def test_every_recorded_pattern_is_the_one_re_compile_makes(built: Path) -> None:
    table = regex_cache.load(built)
    assert len(table) > 1000
    with regex_cache.precompiled(built):
        for pattern, flags in table:
            fast = re.compile(pattern, flags)
            assert fast == re._compile(pattern, flags)  # type: ignore[attr-defined]
            assert fast.groupindex == re._compile(pattern, flags).groupindex  # type: ignore[attr-defined]


def test_the_patterns_match_as_re_compiles_do(built: Path) -> None:
    texts = ["Please unsubscribe me", "Bitte tragen Sie mich aus", "550 5.1.1 user unknown",
             "Out of office until Monday", "配信停止してください", "x" * 50]  # fmt: skip
    table = regex_cache.load(built)
    with regex_cache.precompiled(built):
        fast = [re.compile(p, f) for p, f in table]
    for pattern in fast:
        if isinstance(pattern.pattern, bytes):
            continue
        slow = re._compile(pattern.pattern, pattern.flags)  # type: ignore[attr-defined]
        for text in texts:
            a, b = pattern.search(text), slow.search(text)
            assert (a and a.span()) == (b and b.span())


def test_a_pattern_not_in_the_file_is_compiled_as_always(built: Path) -> None:
    original = re.compile
    with regex_cache.precompiled(built):
        assert re.compile is not original
        made = re.compile(r"not (in|from) the (file|table)\d+", re.IGNORECASE)
    assert made.search("NOT FROM THE TABLE42")
    assert re.compile is original  # put back after the block


def test_another_python_or_a_damaged_file_means_no_table(tmp_path: Path, built: Path) -> None:
    stamp, table = marshal.loads(built.read_bytes())
    stale = tmp_path / "stale.marshal"
    stale.write_bytes(marshal.dumps((((2, 7), *stamp[1:]), table)))
    assert regex_cache.load(stale) == {}
    damaged = tmp_path / "damaged.marshal"
    damaged.write_bytes(built.read_bytes()[:1000])
    assert regex_cache.load(damaged) == {}
    assert regex_cache.load(tmp_path / "absent.marshal") == {}
    original = re.compile
    with regex_cache.precompiled(damaged):
        assert re.compile is original  # nothing patched


def test_code_refused_by_sre_falls_back(tmp_path: Path, built: Path) -> None:
    stamp, table = marshal.loads(built.read_bytes())
    (key, entry), *_ = table.items()
    flags, _code, groups, groupindex, indexgroup = entry
    broken = tmp_path / "broken.marshal"
    broken.write_bytes(marshal.dumps((stamp, {key: (flags, b"\xff" * 8, groups, groupindex,
                                                    indexgroup)})))  # fmt: skip
    with regex_cache.precompiled(broken):
        made = re.compile(*key)
    assert made == re._compile(*key)  # type: ignore[attr-defined]
