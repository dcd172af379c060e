"""The classifier's regular expressions, compiled ahead: read from a file made at install.

Importing the classifier (``worker.core.prepared``) compiles some 1,260 patterns: the
phrase lists of fourteen languages, the bounce and complaint vocabularies. CPython
compiles a pattern in Python code (``re._parser``, ``re._compiler``) into a list of
integers that it hands to ``_sre.compile``; for these patterns that took 0.08 s of the
import's 0.145 s of CPU, in every classifier process `optout poll` starts and at every
start of the daemon and of `optout classify`. ``make install`` records each pattern's
list (``python -m worker.regex_cache --build``), and :func:`precompiled` hands it to
``_sre.compile`` itself: the import takes 0.067 s.

The file is stamped with what makes a compiled pattern valid: the Python version and
``_sre``'s ``MAGIC``, ``CODESIZE``, ``MAXREPEAT`` and ``MAXGROUPS``. Another Python, a
missing or damaged file, or a pattern not in it (a changed source, a pattern built at
run time) is compiled by ``re.compile`` as always; a pattern from the file is equal to
``re.compile``'s (``Pattern.__eq__`` compares the compiled code: see
tests/unit/test_regex_cache.py).
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]  # CPython's regex engine, no stubs
import array
import importlib
import marshal
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

PATH = Path(__file__).resolve().parent / "core" / "_regex_cache.marshal"
#: the modules whose import is recorded: the classifier and everything it imports
MODULE = "worker.core.prepared"

# (pattern, flags as given) -> (flags compiled, code as array('I') bytes, groups,
# groupindex, indexgroup): ``_sre.compile``'s arguments but the pattern
_Entry = tuple[int, bytes, int, dict[str, int], tuple[str | None, ...]]


def stamp() -> tuple[Any, ...]:
    return (
        tuple(sys.version_info[:2]),
        _sre.MAGIC,
        _sre.CODESIZE,
        _sre.MAXREPEAT,
        _sre.MAXGROUPS,
    )


def load(path: Path = PATH) -> dict[tuple[str | bytes, int], _Entry]:
    """The recorded patterns, or {} (no file, another Python, a damaged file)."""
    try:
        with path.open("rb") as fh:
            found, table = marshal.load(fh)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if found != stamp() or not isinstance(table, dict):
        return {}
    return table


def _compiled(pattern: str | bytes, entry: _Entry) -> re.Pattern[Any]:
    flags, code, groups, groupindex, indexgroup = entry
    return _sre.compile(  # type: ignore[no-any-return]
        pattern, flags, array.array("I", code).tolist(), groups, groupindex, indexgroup
    )


@contextmanager
def precompiled(path: Path = PATH) -> Iterator[None]:
    """``re.compile`` answers from the file while the block runs (an import)."""
    table = load(path)
    if not table:
        yield
        return
    original = re.compile

    def compile_(pattern: Any, flags: Any = 0) -> re.Pattern[Any]:
        try:
            entry = table.get((pattern, int(flags)))
        except TypeError:  # an unhashable or odd argument: re.compile's business
            entry = None
        if entry is None:
            return original(pattern, flags)
        try:
            return _compiled(pattern, entry)
        except (TypeError, ValueError, RuntimeError):  # _sre refused the code
            return original(pattern, flags)

    re.compile = compile_
    try:
        yield
    finally:
        re.compile = original


def import_module(name: str = MODULE) -> ModuleType:
    """``import name`` with the recorded patterns, unless it is imported already."""
    module = sys.modules.get(name)
    if module is None:
        with precompiled():
            module = importlib.import_module(name)
    return module


def _record() -> dict[tuple[str | bytes, int], _Entry]:
    """Import :data:`MODULE` here, recording what ``re.compile`` was asked for."""
    from re import _compiler, _parser  # type: ignore[attr-defined]

    table: dict[tuple[str | bytes, int], _Entry] = {}
    original = re.compile

    def recording(pattern: Any, flags: Any = 0) -> re.Pattern[Any]:
        compiled = original(pattern, flags)
        if isinstance(pattern, (str, bytes)):
            given = int(flags)
            parsed = _parser.parse(pattern, given)
            code = _compiler._code(parsed, given)
            groupindex = dict(parsed.state.groupdict)
            indexgroup: list[str | None] = [None] * parsed.state.groups
            for name, index in groupindex.items():
                indexgroup[index] = name
            entry: _Entry = (
                int(given | parsed.state.flags),
                array.array("I", code).tobytes(),
                parsed.state.groups - 1,
                groupindex,
                tuple(indexgroup),
            )
            if _compiled(pattern, entry) == compiled:  # only what gives the same pattern
                table[(pattern, given)] = entry
        return compiled

    re.compile = recording
    try:
        __import__(MODULE)
    finally:
        re.compile = original
    return table


def build(path: Path = PATH) -> int:
    """Record the patterns in a fresh interpreter (this one may have imported the
    classifier already) and write them to ``path``; the number of patterns."""
    out = subprocess.run(
        [sys.executable, "-m", "worker.regex_cache", "--record", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip())


def main(argv: list[str]) -> int:
    if argv[:1] == ["--record"] and len(argv) == 2:
        table = _record()
        target = Path(argv[1])
        tmp = target.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            marshal.dump((stamp(), table), fh)
        tmp.replace(target)
        print(len(table))
        return 0
    if argv == ["--build"]:
        print(f"recorded {build()} compiled patterns in {PATH}")
        return 0
    print("usage: python -m worker.regex_cache --build", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
