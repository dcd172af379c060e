"""The classifier's shortcuts give exactly what the slow paths they replace would give.

Classification reads compat32 messages through cheap decoders, runs flufl.bounce with
detectors skipped when they cannot fire, and matches rewritten patterns. None of that
may change a result, so each shortcut is compared here with the code it stands for, on
generated and mangled input (seeded, so a failure is reproducible).
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import pickle
import random
import re
import string
import sys
from email.parser import BytesParser
from typing import Any

import pytest

from tests.bench.bench_intake import KINDS, _message
from worker.core import bounces, intent, quotes
from worker.core.classify import classify
from worker.core.headers_text import render
from worker.core.message import (
    _POLICY,
    _addr_specs,
    _LineParser,
    _parse_single_part,
    caseless,
    headers,
    memo_scope,
    parse_bytes,
)
from worker.core.phrases import (
    FOOTER_CUES,
    KEYWORDS,
    LAW_REFERENCES,
    NEGATIONS,
    PERSONAL_DATA,
    PRIVACY_PHRASES,
    STRONG_PHRASES,
)

_TOKENS = [
    "a", "b.c", "@", "x.org", "<", ">", '"', " ", "  ", "\t", ",", "Reader", "1", "O'B", ".",
    "(c)", "\\", "=?utf-8?q?x?=", ";", ":", "[1.2.3.4]", "-", "é", "\udce9", "\n ", "\r\n\t",
    "+tag", "=", '""', "=?iso-8859-1?q?caf=E9?=",
]  # fmt: skip
_NAMES = ["From", "To", "Cc", "Sender", "Reply-To", "Subject", "Message-ID", "Date", "X-Other"]


def _registry(name: str, value: str) -> str:
    unfolded = "".join(email.policy.linesep_splitter.split(value))
    return str(email.policy.default.header_factory(name, unfolded))


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        return ("raised", type(exc).__name__)


def test_render_is_the_modern_policys_text() -> None:
    rnd = random.Random(1)
    values = ["".join(rnd.choice(_TOKENS) for _ in range(rnd.randint(0, 10))) for _ in range(700)]
    values += [
        "Reader 1 <reader1@mail.example.org>",
        '"Doe, Jane" <jane@example.org>, bob@example.org',
        "Mail Delivery System <MAILER-DAEMON@mx.example.net>",
        "Mon, 23 Nov 2026 10:00:00 +0000",
        "23 Nov 2026 10:00 +0000",
        "<bench.1@mail.example.org>",
        "J. Doe <j@x>",
    ]
    for value in values:
        for name in _NAMES:
            assert _outcome(render, name, value) == _outcome(_registry, name, value), (
                name,
                value,
            )


def test_addr_specs_are_getaddresses() -> None:
    rnd = random.Random(2)
    forms = ["{d}<{a}>", "{d} < {a} >", "{a}", " {a} ", "{d}<{a}> "]
    names = ["", "Reader 1 ", "Reader\t1", " ", "x", '"Q, R" ']
    addrs = ["a@b.c", "a.b+c@d-e.f", "x'y@z.com", "a..b@c", "a@b.", "unsub+T_k-1.x@ex.com"]
    for _ in range(4000):
        items = [
            rnd.choice(forms).format(d=rnd.choice(names), a=rnd.choice(addrs))
            for _ in range(rnd.randint(1, 3))
        ]
        values = [rnd.choice([",", ", ", " , ", ",,"]).join(items)]
        values += ["".join(rnd.choice(_TOKENS[:22]) for _ in range(rnd.randint(0, 6)))]
        for case in (values, values[:1], values[1:], values[:0]):  # [] too: none at all
            expected = [addr for _name, addr in email.utils.getaddresses(case)]
            assert _addr_specs(case) == expected, case


def test_caseless_lowering_is_what_ignorecase_matches() -> None:
    chars = "".join(chr(c) for c in range(128, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    lowered = caseless(chars)
    # one character in, one out (only U+0130 lower-cases to two, and caseless maps it first)
    assert len(lowered) == len(chars)
    became: dict[str, set[str]] = {}
    for index in (m.start() for m in re.finditer("[a-z]", lowered)):
        became.setdefault(lowered[index], set()).add(chars[index])
    for letter in string.ascii_lowercase:
        # every non-ASCII character IGNORECASE takes for this letter becomes it, no other
        matched = set(re.findall(letter, chars, re.IGNORECASE))
        assert became.get(letter, set()) == matched, letter


_MANGLE = [
    b"\r", b"\n", b"\r\n", b" ", b":", b"From ", b"\t", b"\xe9", b"\n\n", b"X", b"--", b"--b\n",
    b"--b--\n", b"\n--f\n", b"Content-Type: multipart/mixed; boundary=b\n", b"multipart/digest",
    b"Content-Type: message/rfc822\n\n", b"Content-Type: message/delivery-status\n\n",
]  # fmt: skip


def _mangled_messages() -> list[bytes]:
    rnd = random.Random(4)
    out: list[bytes] = []
    for index, kind in enumerate(list(KINDS) * 6):
        raw = _message(index, rnd, kind).encode()
        out += [raw, raw.replace(b"\r\n", b"\n"), raw.replace(b"\r\n", b"\r")]
        for _ in range(3):
            data = bytearray(raw[:3000])
            for _ in range(rnd.randint(1, 4)):
                at = rnd.randrange(len(data) + 1)
                if rnd.random() < 0.25:
                    del data[at : at + rnd.randint(1, 40)]
                    continue
                data[at:at] = rnd.choice(_MANGLE)
            out.append(bytes(data))
    return out


def _state(msg: Any) -> dict[str, Any]:
    state = dict(vars(msg))
    state["defects"] = [(type(d).__name__, str(d)) for d in state.get("defects", [])]
    if isinstance(state.get("_payload"), list):
        state["_payload"] = [_state(part) for part in state["_payload"]]
    return state


def test_single_part_shortcut_builds_what_the_parser_builds() -> None:
    taken = 0
    for raw in _mangled_messages():
        fast = _parse_single_part(raw)
        if fast is not None:
            taken += 1
            assert _state(fast) == _state(BytesParser(policy=_POLICY).parsebytes(raw)), raw
    assert taken > 100


def test_line_parser_builds_what_the_feed_parser_builds() -> None:
    def feed(raw: bytes) -> dict[str, Any]:
        return _state(BytesParser(policy=_POLICY).parsebytes(raw))

    def lines(raw: bytes) -> dict[str, Any]:
        return _state(_LineParser(raw).parse())

    for raw in _mangled_messages():
        assert _outcome(lines, raw) == _outcome(feed, raw), raw


def test_flufl_shortcut_finds_what_flufl_finds() -> None:
    from flufl.bounce import all_failures

    logging.getLogger("flufl.bounce").disabled = True
    found = 0
    for raw in _mangled_messages():
        msg = email.message_from_bytes(raw)
        expected = _outcome(all_failures, msg)
        assert _outcome(bounces._all_failures, msg) == expected
        found += expected[0] != "raised" and bool(expected[0] or expected[1])
    assert found > 10


def _texts() -> list[str]:
    rnd = random.Random(6)
    phrases = [p for ps in KEYWORDS.values() for p in ps]
    phrases += [p for ps in STRONG_PHRASES.values() for p in ps]
    phrases += [p for by in PRIVACY_PHRASES.values() for ps in by.values() for p in ps]
    phrases += list(NEGATIONS + LAW_REFERENCES + PERSONAL_DATA + FOOTER_CUES)
    glue = ["", " ", "x", "é", "\n", "_", "-", "1", "? ", ". ", " not ", " me "]
    return [
        "".join(rnd.choice(glue) + rnd.choice(phrases) for _ in range(rnd.randint(1, 8)))
        for _ in range(1500)
    ]


def _plain(phrase: str) -> re.Pattern[str]:
    """The original construction of a phrase pattern."""
    body = r"\s+".join(re.escape(part) for part in phrase.split())
    return re.compile(rf"(?<!\w){body}(?!\w)")


def _plain_words(words: tuple[str, ...], tail: str = r"(?!\w)") -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + ")" + tail)


def test_rewritten_phrase_patterns_match_as_the_plain_ones() -> None:
    pairs = [(_plain(p), rx) for rx, p, *_rest in intent._KEYWORD_RES + intent._STRONG_RES]
    pairs += [(_plain(p), rx) for rx, p, *_rest in intent._PRIVACY_RES]
    pairs += [
        (_plain_words(LAW_REFERENCES), intent._LAW_RE),
        (_plain_words(PERSONAL_DATA, ""), intent._DATA_RE),
        (_plain_words(FOOTER_CUES), intent._FOOTER_RE),
        (_plain_words(NEGATIONS), intent._NEGATION_RE),
    ]
    for text in _texts():
        for plain, fast in pairs:
            assert [m.span() for m in plain.finditer(text)] == [
                m.span() for m in fast.finditer(text)
            ]


def test_footer_cues_found_through_the_word_index_as_by_the_alternation() -> None:
    for text in _texts():
        for line in text.split(". "):
            assert intent._footer_cue(line) == bool(intent._FOOTER_RE.search(line))


def _reference_find(text: str, where: str, *, strong_only: bool) -> list[intent.Hit]:
    """``intent._find`` before the word index: every phrase's pattern, in order."""
    found: list[intent.Hit] = []
    tables = [(intent._STRONG_RES, True)]
    if not strong_only:
        tables.append((intent._KEYWORD_RES, False))
    for table, strong in tables:
        for rx, phrase, lang in table:
            for match in rx.finditer(text):
                if (
                    intent._negated(text, match.start())
                    or intent._NEGATED_AFTER.match(text, match.end())
                    or (phrase in intent._STATES and intent._reported(text, match.start()))
                    or (strong_only and intent._in_question(text, match))
                ):
                    continue
                found.append(intent.Hit(phrase, lang, where, strong))
                break
    return found


def test_phrase_index_finds_what_every_pattern_finds() -> None:
    for text in _texts():
        for strong_only in (True, False):
            expected = _reference_find(text, "body", strong_only=strong_only)
            assert intent._find(text, "body", strong_only=strong_only) == expected
        assert intent.privacy_intent("Re: x", text) == _reference_privacy("Re: x", text)


def _reference_privacy(subject: str, body_text: str) -> intent.PrivacyIntent:
    """``intent.privacy_intent`` before the word index (phrase part; the rest is shared)."""
    text = f"{intent.fold(intent.clean_subject(subject))}\n{body_text}"
    if intent._NOT_MY_REQUEST.search(text):
        return intent.PrivacyIntent((), ())
    kinds: list[str] = []
    hits: list[intent.Hit] = []
    for rx, phrase, lang, kind in intent._PRIVACY_RES:
        match = next((m for m in rx.finditer(text) if intent._said_of_oneself(text, m, kind)),
                     None)  # fmt: skip
        if match and not intent._negated(text, match.start()):
            hits.append(intent.Hit(phrase, lang, "body", True))
            if kind not in kinds:
                kinds.append(kind)
    law = intent._LAW_RE.search(text)
    if law and (intent._DATA_RE.search(text) or intent._ARTICLE_RE.search(text) or len(text) > 200):
        hits.append(intent.Hit(law.group(0), "law", "body", True))
        for number in intent._ARTICLE_RE.findall(text[:4000]):
            article_kind = intent._ARTICLE_KIND.get(number)
            if article_kind and article_kind not in kinds:
                kinds.append(article_kind)
                break
        if not kinds:
            kinds.append("other")
    return intent.PrivacyIntent(tuple(kinds), tuple(hits))


def _tricky_texts() -> list[str]:
    rnd = random.Random(8)
    pieces = [
        "User Unknown", "MAILBOX FULL", "will be retried", "Deferred", "5.1.1", "550 ",
        "4.4.7", "From: MAILER-DAEMON", "> from: Mail Delivery Subsystem", "by mx with",
        "Received: from x (", "\u0130", "\u0131", "\u017f", "\u212a", "É", "ß", "\n", " ", "a",
        "9", ".", "-", "Status: 5.0.0", "unzustellbar", "NO SUCH USER", "id <a@b",
        "header.from=", "X-Foo: 1", "\n\n", "1.5.1.1 ",
    ]  # fmt: skip
    return ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12))) for _ in range(4000)]


def test_bounce_patterns_match_as_the_case_insensitive_originals() -> None:
    failure = re.compile(bounces._FAILURE_CUES.pattern, re.IGNORECASE)
    soft = re.compile(bounces._SOFT_CUES.pattern, re.IGNORECASE)
    headerish = re.compile(bounces._HEADERISH.pattern, re.IGNORECASE)
    daemon = re.compile(bounces._FORWARDED_DAEMON.pattern, re.IGNORECASE | re.MULTILINE)
    status = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
    smtp = re.compile(r"(?<![\d.])([45])\d\d(?:[ -]|$)")
    permanent = re.compile(r"\b5\.\d{1,3}\.\d{1,3}\b|(?<![\d.])5\d\d[ -]")
    for text in _tricky_texts():
        low = caseless(text)
        for original, fast in (
            (failure, bounces._FAILURE_CUES),
            (soft, bounces._SOFT_CUES),
            (headerish, bounces._HEADERISH),
            (daemon, bounces._FORWARDED_DAEMON),
        ):
            assert [m.span() for m in original.finditer(text)] == [
                m.span() for m in fast.finditer(low)
            ]
        for original, fast in (
            (status, bounces._STATUS),
            (smtp, bounces._SMTP_CODE),
            (permanent, bounces._PERMANENT_CODE),
        ):
            assert [m.group(0) for m in original.finditer(text)] == [
                m.group(0) for m in fast.finditer(text)
            ]


def test_any_failure_cue_finds_what_the_failure_cue_pattern_finds() -> None:
    fast = bounces._ANY_FAILURE_CUE
    assert fast is not bounces._FAILURE_CUES  # the trie, not the fallback
    cues = bounces._finite_language(
        re._parser.parse(bounces._FAILURE_CUES.pattern)  # type: ignore[attr-defined]
    )
    assert len(cues) > 60
    for cue in cues:
        assert bounces._FAILURE_CUES.fullmatch(cue), cue
        for text in (cue, f"x {cue} y", cue[:-1], cue[1:], cue.upper()):
            low = caseless(text)
            assert bool(fast.search(low)) == bool(bounces._FAILURE_CUES.search(low)), text
    for text in _tricky_texts():
        low = caseless(text)
        assert bool(fast.search(low)) == bool(bounces._FAILURE_CUES.search(low)), text


def test_soft_cue_texts_are_the_soft_cue_pattern() -> None:
    for text in [*_tricky_texts(), *bounces._SOFT_CUE_TEXTS, "will be retr", "will retry"]:
        low = caseless(text)
        assert bounces._soft_cue(low) == bool(bounces._SOFT_CUES.search(low)), text
    for cue in bounces._SOFT_CUE_TEXTS:  # each spelled-out text is one the pattern finds
        assert bounces._SOFT_CUES.fullmatch(cue), cue
    for branch in bounces._SOFT_CUES.pattern.split("|"):  # and every branch is spelled out
        for text in {branch.replace("(?:be )?", ""), branch.replace("(?:be )?", "be ")}:
            assert bounces._soft_cue(text), text


def test_attribution_prefilter_never_hides_an_attribution() -> None:
    rnd = random.Random(9)
    words = ["On", "Mon,", "Ana", "<a@b.c>", "wrote:", "WROTE", "schrieb:", "a écrit :", "Le",
             "escribió:", "napisał:", "написал:", "am", "x" * 20, "\u0130", ":", " "]  # fmt: skip
    for _ in range(5000):
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 8)))
        following = " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 3)))
        joined = f"{line.rstrip()} {following.strip()}"
        plain = bool(quotes._ATTRIBUTION.match(line)) or (
            bool(line.strip())
            and len(joined) <= 300
            and bool(quotes._PREFIXED_ATTRIBUTION.match(joined))
        )
        assert quotes._is_attribution(line, following) == (plain and len(line) <= 300)


def test_first_marker_verb_prefilter_never_hides_an_attribution() -> None:
    def reference(lines: list[str]) -> int:  # _first_marker without the whole-text search
        for index, line in enumerate(lines):
            if quotes._SEPARATOR.match(line) or quotes._SIGNATURE.match(line):
                return index
            if quotes._RULER.match(line) and quotes._from_line_follows(lines, index):
                return index
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if quotes._is_attribution(line, following):
                return index
            if quotes._OUTLOOK_FROM.match(line) and quotes._outlook_block(lines, index):
                return index
        return len(lines)

    rnd = random.Random(10)
    words = ["On", "Mon,", "Ana", "<a@b.c>", "wrote:", "WROTE", "schrieb:", "a", "écrit :",
             "Le", "ha", "scritto:", "het", "volgende", "geschreven:", "\u0130", "\u212a",
             "napisał:", "написал:", "am", "hello", " ", "\t", "\u2003", "Thanks",
             "x" * 150, ">", "> ", ">>", "-- ", "--", "_" * 12, "-" * 12, "From:", "Sent:",
             "*From:*", "Von:", "Gesendet:", "Sent", "from", "my", "iPhone", "Original",
             "Message", "-----"]  # fmt: skip
    for _ in range(6000):
        lines = [
            " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 6)))
            for _ in range(rnd.randint(1, 8))
        ]
        assert quotes._first_marker(lines) == reference(lines), lines


def test_no_marker_pattern_matches_a_quoted_line() -> None:
    # _first_marker skips these patterns on lines that start with ">": each must need a
    # character other than ">" after its leading whitespace
    samples = ["-- ", "--", "-----Original Message-----", "Begin forwarded message:",
               "Sent from my iPhone", "_" * 20, "-" * 20, "From: a@b.c", "*From:* x",
               "Von: x", "差出人: x", "От: x", "Get Outlook for iOS", "Enviado desde mi iPhone",
               ""]  # fmt: skip
    for sample in samples:
        for prefix in (">", "> ", ">> ", ">\t"):
            line = prefix + sample
            for pattern in (quotes._SEPARATOR, quotes._SIGNATURE, quotes._RULER,
                            quotes._OUTLOOK_FROM):  # fmt: skip
                assert pattern.match(line) is None, (pattern.pattern[:40], line)
        # and the samples themselves are markers, so the test would see a wrong skip
        assert (
            any(
                p.match(sample)
                for p in (quotes._SEPARATOR, quotes._SIGNATURE, quotes._RULER, quotes._OUTLOOK_FROM)
            )
            or sample == ""
        ), sample


def test_verb_prefilter_never_hides_a_verb() -> None:
    rnd = random.Random(11)
    pieces = ["wrote", "WROTE", "ſchrieb", "a écrit", "A ÉCRIT", "escrıbió", "ESCRIBIO",
              "ha scritto", "sKrev", "\u212arev", "napisał", "НАПИСАЛ", "напиᲃав", "НАПИᲃАЛ",
              "het volgende geschreven", "a scris", "\u0130", "é", " ", "wro", "te",
              "x"]  # fmt: skip
    for _ in range(5000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 6)))
        if quotes._VERB.search(text):
            assert quotes._may_hold_verb(text), text


def test_headers_read_the_same_inside_and_outside_a_memo_scope() -> None:
    raw = _message(1, random.Random(1), "bounce").encode()
    msg = parse_bytes(raw)
    outside = [headers(msg, name) for name in _NAMES]
    with memo_scope():
        assert [headers(msg, name) for name in _NAMES] == outside
        assert [headers(msg, name) for name in _NAMES] == outside


@pytest.mark.parametrize("kind", list(KINDS))
def test_results_cross_a_process_boundary(kind: str) -> None:
    result = classify(_message(3, random.Random(3), kind).encode())
    assert pickle.loads(pickle.dumps(result)) == result


def _reference_dsn_recipients(text: str) -> list[bounces.DsnRecipient]:
    """``bounces.dsn_recipients`` without its "any field at all?" shortcut."""
    found: list[bounces.DsnRecipient] = []
    for block in re.split(r"\n\s*\n", bounces._unfold(text)):
        fields: dict[str, str] = {}
        for name, value in bounces._FIELD.findall(block):
            fields.setdefault(name.lower(), value.strip())
        addresses = [
            bounces._dsn_address(fields[key])
            for key in ("original-recipient", "final-recipient", "x-actual-recipient")
            if key in fields
        ]
        status_match = bounces._STATUS.search(fields.get("status", ""))
        status = status_match.group(0) if status_match else ""
        action = fields.get("action", "").split()[0].lower() if fields.get("action") else ""
        for address in addresses:
            if address and not any(r.address == address for r in found):
                found.append(bounces.DsnRecipient(address, action, status))
    return found


def test_dsn_shortcut_reads_what_the_full_scan_reads() -> None:
    rnd = random.Random(10)
    pieces = [
        "Final-Recipient: rfc822; a@b.example", "FINAL-RECIPIENT", "\n", "\r\n", "\n\t", "\n ",
        ":", " ; ", "Action: failed", "Status: 5.1.1", "Original-Recipient", "x@y.example",
        "\n\n", "text ", "\u0130", "X-Actual-Recipient: c@d.example", "action", "\r",
    ]  # fmt: skip
    for _ in range(4000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 14)))
        assert bounces.dsn_recipients(text) == _reference_dsn_recipients(text), text


def test_plain_mime_headers_read_as_the_modern_policy_reads_them() -> None:
    from email.message import Message

    from worker.core.message import _plain_mime

    rnd = random.Random(11)
    types = ["text/plain", "TEXT/HTML", "multipart/report", "message/rfc822", "x/y", "a.b/c+d"]
    params = [
        "charset=utf-8", 'charset="UTF-8"', 'boundary="=_x y"', "boundary=b", 'name="a.pdf"',
        "report-type=delivery-status", 'x="a\\"b"', "format=flowed", 'q=""', "charset=bogus",
    ]  # fmt: skip
    reads = [
        lambda m: m.get_content_type(),
        lambda m: m.get_content_maintype(),
        lambda m: m.get_boundary(),
        lambda m: m.get_content_charset(),
        lambda m: [m.get_param(p) for p in ("boundary", "charset", "report-type", "name", "x")],
        lambda m: m.get_content_disposition(),
        lambda m: str(m.get("content-transfer-encoding", "")).lower(),
    ]
    checked = 0
    for _ in range(1200):
        ctype = rnd.choice(types) + "".join(
            rnd.choice(["; ", ";", " ; "]) + rnd.choice(params) for _ in range(rnd.randint(0, 3))
        )
        disposition = rnd.choice(["attachment", "inline", 'attachment; filename="a b.txt"'])
        cte = rnd.choice(["base64", "7bit", "Quoted-Printable", "8bit"])
        fields = {
            "Content-Type": ctype,
            "Content-Disposition": disposition,
            "Content-Transfer-Encoding": cte,
        }
        if not all(_plain_mime(name, value) for name, value in fields.items()):
            continue
        checked += 1
        raw, rendered = Message(), Message()
        for name, value in fields.items():
            raw[name] = value
            rendered[name] = _registry(name, value)
        for read in reads:
            assert _outcome(read, raw) == _outcome(read, rendered), fields
    assert checked > 300


def test_forward_mark_prefilter_never_hides_a_forward_line() -> None:
    # classify._forwarded_people searches _FORWARD_MARK only when the text holds "--" or,
    # case-folded, "begin forwarded message": every match must hold one of them
    from worker.core import classify

    rnd = random.Random(12)
    words = ["--", "-", "---- Forwarded message ----", "Begin", "forwarded", "message:",
             "BEGIN FORWARDED MESSAGE:", "begin forwarded meſſage:", "Begİn", "\u212a",
             "Original Message", "-----Ursprüngliche Nachricht-----", ">", "\n", "\n> ",
             "Hallo", "Mensaje reenviado", "\t", " "]  # fmt: skip
    for _ in range(4000):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 10)))
        if classify._FORWARD_MARK.search(text):
            assert "--" in text or "begin forwarded message" in caseless(text), text


def test_marker_first_character_filter_never_hides_a_marker() -> None:
    # _first_marker tries the four marker patterns only on lines _may_open_marker lets
    # through: every character it turns away, put first in place of a marker line's own
    # first character, must leave all four without a match
    patterns = (quotes._SEPARATOR, quotes._SIGNATURE, quotes._RULER, quotes._OUTLOOK_FROM)
    samples = ["-- ", "--", "-----Original Message-----", "Begin forwarded message:",
               "Sent from my iPhone", "sent from Outlook", "Get Outlook for iOS",
               "Enviado desde mi iPhone", "Envoyé de mon iPhone", "Von meinem iPhone gesendet",
               "Gesendet von meinem iPad", "Inviato da iPhone", "Verzonden met iPhone",
               "Skickat från min iPhone", "Diese Nachricht wurde von meinem Handy gesendet",
               "_" * 20, "-" * 20, "From: a@b.c", "*From:* x", "Von: x", "De: x", "Da: x",
               "Van: x", "Från: x", "Od: x", "От: x", "差出人: x", "发件人: x", "寄件者: x",
               "-----Ursprüngliche Nachricht-----"]  # fmt: skip
    for sample in samples:
        assert any(p.match(sample) for p in patterns), sample
        assert quotes._may_open_marker(sample)
        assert quotes._may_open_marker(" \t" + sample)
    chars = [chr(c) for c in range(0x3000)] + ["差", "发", "寄", "\u212a", "\uff0a"]
    for char in chars:
        for sample in samples:
            for line in (char + sample[1:], " " + char + sample[1:]):
                if not quotes._may_open_marker(line):
                    assert not any(p.match(line) for p in patterns), repr(line)
    # and any character a case-insensitive pattern takes for one of the starts, anywhere
    # in Unicode, passes the filter
    starts = re.compile("[" + re.escape("".join(sorted(quotes._MARKER_STARTS))) + "]", re.I)
    for code in range(0x110000):
        char = chr(code)
        if starts.fullmatch(char):
            assert quotes._may_open_marker(char + "x"), hex(code)


def test_head_end_is_the_first_empty_line() -> None:
    from worker.core.message import _head_end

    def reference(raw: bytes) -> int:
        ends = [i for i in (raw.find(b"\n\n", 0, 16384), raw.find(b"\n\r\n", 0, 16384)) if i >= 0]
        return min(ends) + 1 if ends else 16384

    rnd = random.Random(14)
    pieces = [b"\r\n", b"\n", b"\r", b"a: b", b"x" * 40, b"\n\n", b"\r\n\r\n", b"\n\r\n"]
    for _ in range(4000):
        raw = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
        assert _head_end(raw) == reference(raw), raw
    assert _head_end(b"a: b\r\n" * 5000) == reference(b"a: b\r\n" * 5000)
    for end in (b"\n\n", b"\n\r\n"):  # an empty line across the cut, or just within it
        for at in range(16376, 16390):
            raw = b"x" * at + end + b"y" * 20
            assert _head_end(raw) == reference(raw), (at, end)


def test_caseless_keeps_every_character_in_place() -> None:
    # classify._forwarded_people reads the first 4,000 characters of a case-folded text
    # as the case-folded first 4,000: caseless must fold character for character
    for code in range(0x110000):
        assert len(caseless(chr(code))) == 1, hex(code)
