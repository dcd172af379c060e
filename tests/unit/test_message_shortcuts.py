"""The parser's string-method shortcuts answer as the regexes and readers they replace.

Each is compared with the original on generated lines and header blocks (seeded, so a
failure is reproducible); test_headers_text.py compares whole parsed messages.
"""

from __future__ import annotations

import contextlib
import email.policy
import io
import random
import re

from worker.core.message import _HEADER_LINE, _composite, _header_line, _split_lines

_PIECES = [
    "From ", "From", "X-A", "a", ":", " ", "\t", "\r", "\n", "\r\n", "\x7f", "\x00", "~",
    "!", "9", ";", "\udce9", "é", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "-",
]  # fmt: skip


def _samples(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(_PIECES) for _ in range(rnd.randint(0, 8))) for _ in range(count)]


def test_header_line_is_the_feed_parsers_pattern() -> None:
    lines = _samples(20000, 1) + [chr(c) + ":" for c in range(0x100)]
    lines += [chr(c) for c in range(0x100)] + ["a" + chr(c) + "b: c" for c in range(0x100)]
    for line in lines:
        assert _header_line(line) == (_HEADER_LINE.match(line) is not None), repr(line)


def test_header_line_answers_again_from_its_memo() -> None:
    from worker.core.message import _HEADER_NAMES, _HEADER_NAMES_KEPT

    lines = _samples(20000, 5)
    for line in lines + lines:  # the second time from the memo, where it kept the name
        assert _header_line(line) == (_HEADER_LINE.match(line) is not None), repr(line)
    assert len(_HEADER_NAMES) <= _HEADER_NAMES_KEPT


def _old_source_field(lines: list[str], colon: int = -1) -> tuple[str, str]:
    first = lines[0]
    if colon < 0:
        colon = first.find(":")
    value = first[colon + 1 :].lstrip(" \t")
    if len(lines) > 1:
        value += "".join(lines[1:])
    return first[:colon], value.rstrip("\r\n")


def test_source_field_is_the_slices_it_replaces() -> None:
    from worker.core.message import _source_field

    rnd = random.Random(9)
    pieces = [*_PIECES, "Subject", ": ", " \t ", "\r\n", "value", "::"]
    for _ in range(20000):
        lines = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 8)))]
        lines += ["".join(rnd.choice(pieces) for _ in range(3)) for _ in range(rnd.randint(0, 2))]
        colon = lines[0].find(":") if rnd.random() < 0.5 else -1
        assert _source_field(lines, colon) == _old_source_field(lines, colon), lines


def test_split_lines_are_stringio_lines() -> None:
    # the parser's texts are ASCII/surrogateescape decodes of bytes: every byte value
    rnd = random.Random(2)
    pieces = [bytes([b]) for b in range(256)] + [b"\r\n", b"ab", b"\n", b"\r"] * 20
    for _ in range(20000):
        raw = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 8)))
        text = raw.decode("ascii", "surrogateescape")
        assert _split_lines(text) == io.StringIO(text, newline="").readlines(), raw


_COMPOSITE = re.compile(rb"(?im)^content-type:[ \t]*(?:multipart|message)/")


def test_composite_is_the_caseless_search() -> None:
    rnd = random.Random(3)
    pieces = [
        b"Content-Type:", b"content-TYPE:", b"Content-Type :", b" ", b"\t", b"\n", b"\r",
        b"multipart/", b"Message/", b"MULTIPART", b"/", b"text/plain", b"x", b"\r\n",
    ]  # fmt: skip
    for _ in range(20000):
        head = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 8)))
        assert _composite(head) == bool(_COMPOSITE.search(head)), head


def test_memoised_parts_are_freed_without_the_collector() -> None:
    # what a memo scope keeps on a part must not refer back to it: parts in reference
    # cycles would outlive their message until a collection (and cost its walks)
    import gc
    import weakref

    from tests.bench.bench_intake import corpus_like_backlog
    from worker.core.message import (
        all_text,
        content_type,
        decode_payload,
        has_header,
        headers,
        memo_scope,
        memoized,
        own_text,
        param,
        parse_bytes,
        walk,
    )

    was_on = gc.isenabled()
    gc.disable()
    try:
        for raw in corpus_like_backlog(40, seed=9):
            msg = parse_bytes(raw)
            refs = [weakref.ref(part) for part in walk(msg)]
            with memo_scope():
                for part in walk(msg):
                    headers(part, "From")
                    has_header(part, "To")
                    content_type(part)
                    decode_payload(part)
                    param(part, "charset")
                    memoized("test", part, lambda p: [p])
                all_text(msg)
                own_text(msg)
            del msg, part
            assert all(ref() is None for ref in refs)
    finally:
        if was_on:
            gc.enable()


def test_payload_bytes_are_get_payload_decoded() -> None:
    from email.message import Message

    from worker.core.message import _POLICY, _payload_bytes, parse_bytes

    rnd = random.Random(4)
    ctes = [
        None, "7bit", "8BIT", "Binary", "base64", "quoted-printable", "x-uuencode", " 7bit",
        "7bit ", "7bi\udce9t", "bïnary", "", "7bit\r\n", "=?utf-8?q?7bit?=",
    ]  # fmt: skip
    bodies = ["plain text\r\n", "aGVsbG8=\n", "caf=C3=A9\n", "caf\udcc3\udca9", "é", "", "=\n"]
    for _ in range(4000):
        cte = rnd.choice(ctes)
        head = "Content-Type: text/plain\r\n"
        if cte is not None:
            name = rnd.choice(["Content-Transfer-Encoding", "CONTENT-transfer-encoding"])
            head += f"{name}: {cte}\r\n"
        raw = (head + "\r\n" + "".join(rnd.choice(bodies) for _ in range(3))).encode(
            "utf-8", "surrogateescape"
        )
        msg = parse_bytes(raw)
        assert _payload_bytes(msg) == msg.get_payload(decode=True), raw
        other = Message(policy=rnd.choice([_POLICY, email.policy.compat32, email.policy.default]))
        for name, value in msg.raw_items():
            other[name] = value
        other.set_payload(msg.get_payload())
        assert _payload_bytes(other) == other.get_payload(decode=True), raw


def _old_is_attachment(part: object) -> bool:
    try:
        return part.get_content_disposition() == "attachment"  # type: ignore[attr-defined]
    except Exception:
        return False


def _old_children(part: object) -> list[object]:
    from email.message import Message

    try:
        if not part.is_multipart():  # type: ignore[attr-defined]
            return []
        payload = part.get_payload()  # type: ignore[attr-defined]
    except Exception:
        return []
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def test_children_and_attachments_read_as_the_message_methods() -> None:
    from email.message import Message

    from tests.bench.bench_intake import corpus_like_backlog
    from worker.core.message import _POLICY, children, is_attachment, parse_bytes, walk

    rnd = random.Random(6)
    dispositions = [
        "attachment", "ATTACHMENT; filename=a.txt", "inline", " attachment", "attach\udce9ment",
        "", "=?utf-8?q?attachment?=", "attachment;",
    ]  # fmt: skip
    for raw in corpus_like_backlog(300, seed=8):
        msg = parse_bytes(raw)
        for part in walk(msg):
            if rnd.random() < 0.5:
                name = rnd.choice(["Content-Disposition", "content-DISPOSITION", "X-Other"])
                part[name] = rnd.choice(dispositions)
            assert is_attachment(part) == _old_is_attachment(part)
            assert children(part) == _old_children(part)
    for policy in (_POLICY, email.policy.compat32, email.policy.default):
        for payload in (None, "text", [Message(), "not a part"], b"bytes"):
            part = Message(policy=policy)
            part["Content-Disposition"] = "attachment"
            part._payload = payload  # type: ignore[attr-defined]
            assert is_attachment(part) == _old_is_attachment(part)
            assert children(part) == _old_children(part)
            del part["Content-Disposition"]
            assert is_attachment(part) == _old_is_attachment(part)


def test_parts_without_content_type_read_as_the_message_methods() -> None:
    from email.message import Message

    from tests.bench.bench_intake import corpus_like_backlog
    from worker.core.message import (
        _POLICY,
        _charset,
        _ctype,
        _param,
        _without_content_type,
        parse_bytes,
        walk,
    )

    seen = 0
    rnd = random.Random(7)
    raws = list(corpus_like_backlog(300, seed=10))
    raws += [b"Subject: x\r\n\r\nbody", b"X: y\n\n", b"\n\nno headers"]
    for raw in raws:
        for part in walk(parse_bytes(raw)):
            if rnd.random() < 0.3:
                del part["Content-Type"]
            if rnd.random() < 0.2:
                part.set_default_type(rnd.choice(["message/rfc822", "text/plain"]))
            seen += _without_content_type(part)
            assert _ctype(part) == part.get_content_type()
            assert _param(part, "charset") == (part.get_param("charset") or "").lower()
            charset = part.get_content_charset()
            assert (_charset(part) is None) == (not charset)
    assert seen > 300
    for policy in (_POLICY, email.policy.compat32, email.policy.default):
        part = Message(policy=policy)
        assert _ctype(part) == part.get_content_type()
        assert _param(part, "charset") == ""
        assert _charset(part) is None


def test_header_items_are_the_message_items() -> None:
    from email.message import Message

    from worker.core.message import _POLICY, header_items, parse_bytes

    rnd = random.Random(8)
    names = ["Content-Type", "content-transfer-encoding", "Subject", "From", "X-A"]
    values = [
        "text/plain", "multipart/mixed; boundary=\"a b\"", "base64", "b ase64", "caf\udcc3\udca9",
        "é", "=?utf-8?q?caf=C3=A9?=", "text/plain; charset=\"utf-8\" (comment)", "", "a\r\n b",
    ]  # fmt: skip
    for _ in range(3000):
        head = "".join(
            f"{rnd.choice(names)}: {rnd.choice(values)}\r\n" for _ in range(rnd.randint(0, 5))
        )
        msg = parse_bytes((head + "\r\nbody").encode("utf-8", "surrogateescape"))
        assert _typed(header_items(msg)) == _typed(msg.items()), head
        other = Message(policy=rnd.choice([_POLICY, email.policy.compat32, email.policy.default]))
        for name, value in msg.raw_items():
            with contextlib.suppress(ValueError):  # the modern policy takes no folded value
                other[name] = value
        assert _typed(header_items(other)) == _typed(other.items()), head


def _typed(items: list[tuple[str, object]]) -> list[tuple[str, type, str]]:
    return [(k, type(v), str(v)) for k, v in items]


def test_walked_parts_are_the_walk_generators() -> None:
    from tests.bench.bench_intake import corpus_like_backlog
    from worker.core.message import _walk, _walked, parse_bytes

    deep = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n" * 30 + b"\nx\n"
    for raw in [*corpus_like_backlog(200, seed=12), deep]:
        msg = parse_bytes(raw)
        assert list(_walked(msg)) == list(_walk(msg, 0))
        for part in _walked(msg):
            assert list(_walked(part)) == list(_walk(part, 0))
