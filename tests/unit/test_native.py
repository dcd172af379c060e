"""The mypyc build of the classifier (scripts/build_native.py): used, equal, never stale.

CI runs the compiled modules (``make install`` builds them), so these tests prove that
what runs there is what the source says: the same answer for every corpus sample and
every message of the benchmark's backlog, pickling across the classifier processes, and
a fall-back to the sources the moment one of them no longer matches its build.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import worker._native
from tests.bench.bench_intake import corpus_like_backlog
from tests.conftest import service_missing
from tests.corpus.metrics import corpus_root, load_samples, message_bytes
from worker.core.prepared import prepare

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "worker" / "core"

_PROBE = (
    "import json, worker._native as c, worker.core.classify as m, worker.core.message as g\n"
    "from worker.core.prepared import prepare\n"
    "p = prepare(b'From: a@example.org\\r\\nSubject: stop\\r\\n\\r\\n'\n"
    "            b'Please unsubscribe me\\r\\n')\n"
    "print(json.dumps([list(c.COMPILED), m.__file__, g.__file__,"
    " p.classification.message_class.value]))\n"
)


@pytest.fixture(scope="module")
def compiled() -> tuple[str, ...]:
    if not worker._native.COMPILED:
        service_missing(
            "the classifier is not compiled: run `make install` (scripts/build_native.py; "
            "mypyc's log in .venv/native-build.log), and leave OPTOUT_PURE_PYTHON unset "
            f"(it is {os.environ.get('OPTOUT_PURE_PYTHON')!r})"
        )
    return worker._native.COMPILED


def _probe(pythonpath: Path, **env: str) -> tuple[list[str], str, str, str]:
    full = {k: v for k, v in os.environ.items() if k != "OPTOUT_PURE_PYTHON"}
    full.update(env, PYTHONPATH=str(pythonpath))
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=full, cwd=pythonpath, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    names, classify_file, message_file, klass = json.loads(out.stdout)
    return names, classify_file, message_file, klass


def test_the_classifier_runs_compiled(compiled: tuple[str, ...]) -> None:
    import worker.core.classify
    import worker.core.message

    assert {"classify", "message", "bounces", "intent"} <= set(compiled)
    for module in (worker.core.classify, worker.core.message):
        assert module.__file__ is not None
        assert module.__file__.endswith(".so")


def test_compiled_and_source_give_the_same_answer_for_every_message(
    compiled: tuple[str, ...], tmp_path: Path
) -> None:
    root = corpus_root()
    if not root.is_dir():
        service_missing(f"public email corpus not found at {root}")
    messages = [message_bytes(root, s) for s in load_samples(root)]
    messages += list(corpus_like_backlog(1500, seed=5))
    messages += [b"", b"\xff\xfe garbage", b"Subject: =?x-unknown?B?AAAA?=\r\n\r\nhi"]
    messages += list(_eight_bit_headers(messages[:400]))
    pure = _pure_answers(messages, tmp_path)
    native = [repr(prepare(m)) for m in messages]
    assert len(pure) == len(native) == len(messages)
    differing = [i for i, (a, b) in enumerate(zip(pure, native, strict=True)) if a != b]
    assert differing == [], (pure[differing[0]], native[differing[0]])


def _eight_bit_headers(messages: list[bytes], seed: int = 1) -> Iterator[bytes]:
    """Each message again with raw 8-bit bytes in header lines, its parts' included.

    The email package hands such a value out as an ``email.header.Header``, not the str
    its stubs promise; compiled code checks values against the stubs, so every place
    that keeps a header value must say ``object`` or ``Any`` (two did not: an ARF
    report lost its fields, a bounce gate its subject).
    """
    rnd = random.Random(seed)
    for raw in messages:
        lines = raw.split(b"\n")
        named = [i for i, line in enumerate(lines) if b":" in line[:40]]
        if not named:
            continue
        for _ in range(2):
            out = list(lines)
            for i in rnd.sample(named, min(3, len(named))):
                line = bytearray(out[i])
                line[rnd.randrange(len(line))] = rnd.randrange(0x80, 0x100)
                out[i] = bytes(line)
            yield b"\n".join(out)


def test_answers_cross_a_process_boundary(compiled: tuple[str, ...]) -> None:
    for raw in corpus_like_backlog(40, seed=3):
        p = prepare(raw)
        assert pickle.loads(pickle.dumps(p)) == p


@pytest.fixture
def copy(compiled: tuple[str, ...], tmp_path: Path) -> Path:
    """The package with its build, somewhere else (the build is tied to its sources)."""
    shutil.copytree(ROOT / "worker", tmp_path / "worker",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    return tmp_path


def test_a_copy_of_the_build_runs_compiled(copy: Path) -> None:
    names, classify_file, _message_file, klass = _probe(copy)
    assert names == sorted(json.loads((CORE / "_native.json").read_text())["sources"])
    assert classify_file.startswith(str(copy))
    assert classify_file.endswith(".so")
    assert klass == "unsubscribe"


def test_an_edited_source_turns_the_whole_build_off(copy: Path) -> None:
    intent = copy / "worker" / "core" / "intent.py"
    intent.write_text(intent.read_text() + "\n# edited after the build\n")
    names, classify_file, message_file, klass = _probe(copy)
    assert names == []
    # all or none: the unedited modules run from source too
    assert classify_file.endswith("classify.py")
    assert message_file.endswith("message.py")
    assert klass == "unsubscribe"


def test_pure_python_on_request(copy: Path) -> None:
    names, classify_file, _, klass = _probe(copy, OPTOUT_PURE_PYTHON="1")
    assert names == []
    assert classify_file.endswith("classify.py")
    assert klass == "unsubscribe"


def test_a_build_without_its_manifest_is_not_used(copy: Path) -> None:
    (copy / "worker" / "core" / "_native.json").unlink()
    names, classify_file, _, klass = _probe(copy)
    assert names == []
    assert classify_file.endswith("classify.py")
    assert klass == "unsubscribe"


def _pure_answers(messages: list[bytes], tmp_path: Path) -> list[str]:
    """``repr(prepare(m))`` for each message, from the sources, in another process."""
    batch = tmp_path / "pure.pickle"
    batch.write_bytes(pickle.dumps(messages))
    script = (
        "import pickle, sys, worker._native as c\n"
        "from worker.core.prepared import prepare\n"
        "assert c.COMPILED == (), c.COMPILED\n"
        "msgs = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "sys.stdout.write(''.join(repr(prepare(m)) + '\\n' for m in msgs))\n"
    )
    env = {**os.environ, "OPTOUT_PURE_PYTHON": "1"}
    return subprocess.run(
        [sys.executable, "-c", script, str(batch)], env=env, capture_output=True, text=True,
        check=True,
    ).stdout.splitlines()  # fmt: skip


def _nested(depth: int, kind: str) -> bytes:
    """A request to unsubscribe inside ``depth`` levels of multipart or message/rfc822."""
    body = b"Content-Type: text/plain\n\nPlease unsubscribe me\n"
    for i in range(depth):
        if kind == "multipart":
            body = b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n%s\n--b%d--\n" % (
                i, i, body, i,
            )  # fmt: skip
        else:
            body = b"Content-Type: message/rfc822\n\n" + body
    return b"From: a@example.org\nSubject: x\n" + body


def test_deep_nesting_reads_the_same_compiled_and_from_source(
    compiled: tuple[str, ...], tmp_path: Path
) -> None:
    # the source's parser recursed into Python's recursion limit (twice a multipart
    # level: near 500 levels, sooner from a deeper stack) and fell back to the unparsed
    # message, while the compiled one, which has no such limit, parsed on: an
    # unsubscribe request nested 500 deep was one compiled and "other" from source
    messages = [_nested(d, k) for d in (99, 101, 300, 600, 1200) for k in ("multipart", "rfc822")]
    assert _pure_answers(messages, tmp_path) == [repr(prepare(m)) for m in messages]


def test_nesting_deeper_than_the_cap_is_the_unparsed_message() -> None:
    from worker.core.message import parse_checked

    for kind in ("multipart", "rfc822"):
        assert parse_checked(_nested(99, kind))[1]
        assert not parse_checked(_nested(101, kind))[1]


def test_absurd_nesting_does_not_crash_the_compiled_classifier(compiled: tuple[str, ...]) -> None:
    # 100,000 levels of message/rfc822 (3 MB, under the size limit) overflowed the C stack
    # of the compiled parser, which keeps no recursion limit: a segfault of the worker
    script = (
        "from worker.core.prepared import prepare\n"
        "raw = b'From: a@example.org\\n' + b'Content-Type: message/rfc822\\n\\n' * 100000\n"
        "print(prepare(raw + b'\\nPlease unsubscribe me\\n').classification.message_class.value)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPTOUT_PURE_PYTHON"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert (out.returncode, out.stdout.strip()) == (0, "other"), out.stderr[-2000:]


def test_a_final_capital_sigma_lowers_as_python_lowers_it(
    compiled: tuple[str, ...], tmp_path: Path
) -> None:
    # mypyc compiles text.lower() to its own routine, which on Python 3.11 maps non-ASCII
    # text one code point at a time and missed str.lower's context rule (a capital sigma
    # ending a word is "ς"): compiled, the sender "ΟΔΟΣ@example.gr" was "οδοσ@…" (another
    # address, another suppression hash), a DSN's Action read otherwise, and so did every
    # caseless() text
    from worker.core.addresses import normalise
    from worker.core.message import caseless

    assert normalise("ΟΔΟΣ@example.gr") == "οδος@example.gr"
    assert caseless("ΕΚΤΟΣ ΓΡΑΦΕΙΟΥ") == "εκτος γραφειου"
    messages = [
        "From: ΟΔΟΣ@example.gr\nSubject: stop\n\nPlease unsubscribe me\n".encode(),
        (
            b"From: MAILER-DAEMON@example.net\nSubject: Undelivered Mail Returned to Sender\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
            b"--b\nContent-Type: message/delivery-status\n\n"
            + "Final-Recipient: rfc822; x@example.org\nAction: ΑΣ\nStatus: 4.4.7\n".encode()
            + b"\n--b--\n"
        ),
    ]
    answers = [repr(prepare(m)) for m in messages]
    assert "sender='οδος@example.gr'" in answers[0]
    assert "evidence=('DSN ας 4.4.7',)" in answers[1]
    assert _pure_answers(messages, tmp_path) == answers
