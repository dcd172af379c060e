"""The cheap tests in front of the machine-mail detectors answer as what they spare.

Each pre-test (a grouped substring scan, a newline-led pattern for a "^" one, a field
region of a DSN) must never change a result: these compare them with the plain form
on random texts built from the pieces that matter.
"""

from __future__ import annotations

import random
import re

from worker.core import bounces, complaints, signals
from worker.core.intent import fold
from worker.core.message import caseless
from worker.core.phrases import (
    ACKNOWLEDGEMENT_BODIES,
    AUTO_REPLY_BODIES,
    AUTO_REPLY_SUBJECTS,
    BOUNCE_SUBJECTS,
    RECALL_PATTERNS,
)


def _texts(pieces: list[str], count: int = 3000, seed: int = 4) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 14))) for _ in range(count)]


def test_text_set_is_any_substring() -> None:
    for texts in (AUTO_REPLY_SUBJECTS, AUTO_REPLY_BODIES, ACKNOWLEDGEMENT_BODIES, BOUNCE_SUBJECTS):
        found = signals.TextSet(texts)
        words = sorted({w for t in texts for w in t.split()})
        pieces = [*texts, *words, " ", "x", "'", "-", *(t[:-1] for t in texts)]
        for text in [*texts, *_texts(pieces)]:
            assert found.search(text) == any(t in text for t in texts), text


def test_text_set_edge_cases() -> None:
    assert signals.TextSet(["", "abc"]).search("")
    assert not signals.TextSet([]).search("abc")
    assert signals.TextSet([], re.compile("b")).search("abc")
    found = signals.TextSet(["deliver", "delivery failed", "undeliverable", "quota"])
    assert found.search("xx undeliver yy")
    assert not found.search("delive quot")


def test_fold_drops_what_strip_drops() -> None:
    pieces = [" ", "\u00a0", "\u3000", "\u2003", "\t", "\x1c", "\u0301", "a", "É", "ß",
              "\u2019", "´", "ﬁ", "Σ", "ı", "\u0130", "\n", "x"]  # fmt: skip
    for text in _texts(pieces, 5000):
        assert fold(text) == fold(text.strip()), repr(text)


def test_recall_texts_are_in_every_match() -> None:
    for pattern, required in zip(RECALL_PATTERNS, signals._RECALL_TEXTS, strict=True):
        assert required
        assert required in pattern.replace("\\", "")
    line = 'laura would like to recall the message, "unsubscribe".'
    assert signals._recall(line)
    assert signals._recall(line, fold(line))
    assert signals._recall("please unsubscribe me") is None


def test_newline_led_patterns_find_what_the_caret_ones_do() -> None:
    pieces = ["\n", "\r\n", " ", "X-Zendesk-From: a", "x-loop: b", "Subject: c", "X-", "x"]
    for text in _texts(pieces):
        raw = text.encode()
        assert signals._helpdesk_raw(raw) == bool(signals._HELPDESK_RAW.search(raw)), raw
    pieces = ["\n", " ", "X-HmXmrOriginalRecipient: a@b", "x-hmxmroriginalrecipient:", "To: c"]
    for text in _texts(pieces):
        fast = bool(complaints._JMRP_RECIPIENT.match(text) or complaints._JMRP_LINE.search(text))
        assert fast == bool(complaints._JMRP_RECIPIENT.search(text)), text


def test_header_block_is_the_split_and_unfolded_head() -> None:
    pieces = ["\r\n", "\n", " ", "\t", "\r", "From: a", "To: b", "x", ":", "\r\n\r\n", "\n \n"]
    for text in _texts(pieces, 5000):
        head = re.split(r"\r?\n[ \t]*\r?\n", text.lstrip("\r\n"), maxsplit=1)[0]
        expected = re.sub(r"\r?\n[ \t]+", " ", head).replace("\r", "")
        assert complaints._header_block(text) == expected, repr(text)


def _dsn_recipients_by_blocks(text: str) -> list[bounces.DsnRecipient]:
    """dsn_recipients as it was: every block of the whole unfolded text read."""
    low = caseless(text)
    if not any(w in low for w in bounces._FIELD_WORDS) or not bounces._ANY_FIELD.search(low):
        return []
    found: list[bounces.DsnRecipient] = []
    for block in re.split(r"\n\s*\n", bounces._unfold(text)):
        fields: dict[str, str] = {}
        folded = caseless(block)
        for match in bounces._FIELD_CASELESS.finditer(folded):
            name = block[match.start(1) : match.end(1)].lower()
            fields.setdefault(name, block[match.start(2) : match.end(2)].strip())
        keys = ("original-recipient", "final-recipient", "x-actual-recipient")
        addresses = [bounces._dsn_address(fields[k]) for k in keys if k in fields]
        status_match = bounces._STATUS.search(fields.get("status", ""))
        status = status_match.group(0) if status_match else ""
        action = fields.get("action", "").split()[0].lower() if fields.get("action") else ""
        for address in addresses:
            if address and not any(r.address == address for r in found):
                found.append(
                    bounces.DsnRecipient(address, action, status, fields.get("diagnostic-code", ""))
                )
    return found


def test_dsn_recipients_reads_as_every_block_did() -> None:
    pieces = [
        "\n", "\r\n", "\n\n", "\r\n\r\n", "\n ", "\n\t", " ", "\t", ":", "a@b.example",
        "Final-Recipient: rfc822; x@y.example", "Original-Recipient:", "ACTION: failed",
        "Status: 5.1.1", "status:4.2.2", "Diagnostic-Code: smtp; 550 user unknown",
        "X-Actual-Recipient: z@w.example", "\u0130", "\u212a", "recipient", "text",
    ]  # fmt: skip
    # no "Σ": compiled, str.lower() knows no final sigma (mypyc's own lower), so the
    # interpreted reference above would differ from either version for that reason
    for text in _texts(pieces, 6000, seed=7):
        assert bounces.dsn_recipients(text) == _dsn_recipients_by_blocks(text), repr(text)


def test_machine_name_in_caseless_text() -> None:
    original = re.compile(bounces._MACHINE_NAME.pattern, re.IGNORECASE)
    pieces = ["MAILER-DAEMON", "Post_Master", "Mail Delivery Subsystem", "\u017f", "\u212a",
              "\u0130", "x", " ", "mail delivery system", "<a@b>"]  # fmt: skip
    for text in _texts(pieces):
        expected = bool(original.search(text))
        assert bool(bounces._MACHINE_NAME.search(caseless(text))) == expected, text


def test_system_words_in_every_system_local_part() -> None:
    pieces = ["no-reply", "NoReply", "DO_NOT_REPLY", "notifications", "alert", "owner",
              "-", "_", ".", "+", "x", "jane", "\u017f", "\u212a", "\u0130", "Bounces",
              "daemon"]  # fmt: skip
    for local in _texts(pieces):
        if signals._SYSTEM_LOCAL.search(local):
            assert signals._SYSTEM_WORDS.search(caseless(local)), local
        expected = local + "@x" if signals._SYSTEM_LOCAL.search(local) else None
        assert signals._system_address(local + "@x") == expected, local


def test_no_bounce_answer_is_shared_and_plain() -> None:
    assert bounces.BounceReport(False) == bounces._NO_BOUNCE


def test_subject_tokens_need_a_bracket_or_the_word() -> None:
    pieces = ["Unsubscribe", "UNSUB\u017fCRIBE", "[", "]", ": ", " ", "abcdefghijklmnop", "x"]
    for subject in _texts(pieces):
        if signals._SUBJECT_TOKEN.search(subject):
            assert "[" in subject or "unsubscribe" in caseless(subject), subject
