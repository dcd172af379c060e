"""Any charset, transfer encoding or broken MIME still gets read; nothing ever raises."""

from __future__ import annotations

import base64
import quopri

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.core.classify import MessageClass, classify, classify_message
from worker.core.message import html_to_text, parse_bytes
from worker.core.quotes import strip_quotes

HEAD = (
    b"From: Ana <ana@example.org>\nTo: news@shop.example.com\nSubject: Re: news\n"
    b"MIME-Version: 1.0\n"
)


def test_html_only_reply_is_read_and_its_blockquote_ignored() -> None:
    raw = HEAD + (
        b"Content-Type: text/html; charset=utf-8\n\n"
        b"<html><head><style>p{color:red}</style></head><body><p>Please unsubscribe me</p>"
        b"<blockquote>Great offers. <a href='x'>Unsubscribe</a></blockquote></body></html>"
    )
    assert classify(raw).message_class is MessageClass.UNSUBSCRIBE


def test_html_blockquote_footer_alone_is_not_a_request() -> None:
    raw = HEAD + (
        b"Content-Type: text/html; charset=utf-8\n\n"
        b"<p>When does the sale end?</p><div class='gmail_quote'><p>unsubscribe</p></div>"
    )
    assert classify(raw).message_class is MessageClass.OTHER


def test_quoted_printable_body_is_decoded() -> None:
    body = quopri.encodestring("Merci de me désabonner.".encode())
    raw = HEAD + b"Content-Type: text/plain; charset=utf-8\n"
    raw += b"Content-Transfer-Encoding: quoted-printable\n\n" + body
    assert classify(raw).message_class is MessageClass.UNSUBSCRIBE


def test_base64_body_is_decoded() -> None:
    body = base64.encodebytes(b"Bitte abmelden")
    raw = HEAD + b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
    assert classify(raw + body).message_class is MessageClass.UNSUBSCRIBE


def test_unknown_charset_falls_back_without_losing_ascii_words() -> None:
    raw = HEAD + b'Content-Type: text/plain; charset="x-unknown"\n\nunsubscribe \xff\xfe'
    assert classify(raw).message_class is MessageClass.UNSUBSCRIBE


def test_iso_8859_1_body_is_decoded() -> None:
    raw = HEAD + b"Content-Type: text/plain; charset=iso-8859-1\n\n"
    raw += "Je veux me désinscrire".encode("iso-8859-1")
    assert classify(raw).message_class is MessageClass.UNSUBSCRIBE


def test_shift_jis_body_is_decoded() -> None:
    raw = HEAD + b"Content-Type: text/plain; charset=shift_jis\n\n"
    raw += "配信停止してください。unsubscribe".encode("shift_jis")
    result = classify(raw)
    assert result.message_class is MessageClass.UNSUBSCRIBE


def test_rfc2047_encoded_subject_is_decoded() -> None:
    raw = (
        b"From: =?utf-8?q?Jos=C3=A9?= <jose@example.es>\nTo: news@shop.example.com\n"
        b"Subject: =?utf-8?b?RGFyc2UgZGUgYmFqYQ==?=\n\n"
    )
    result = classify(raw)
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert result.sender == "jose@example.es"


def test_multipart_without_boundary_is_read_as_text() -> None:
    raw = HEAD + b"Content-Type: multipart/mixed\n\nunsubscribe\n"
    result = classify(raw)
    assert result.message_class is MessageClass.UNSUBSCRIBE


def test_message_over_the_size_limit_is_other_with_the_reason() -> None:
    result = classify(HEAD + b"\n" + b"x" * 2000, max_bytes=1000)
    assert result.message_class is MessageClass.OTHER
    assert "limit" in result.evidence[0]


def test_huge_body_is_classified_quickly() -> None:
    raw = HEAD + b"Content-Type: text/plain\n\nunsubscribe\n" + b"word " * 2_000_000
    assert classify(raw).message_class is MessageClass.OTHER


def test_classify_message_accepts_a_parsed_message() -> None:
    msg = parse_bytes(HEAD + b"\nunsubscribe")
    assert classify_message(msg).message_class is MessageClass.UNSUBSCRIBE


def test_message_id_is_reported() -> None:
    raw = HEAD.replace(b"MIME", b"Message-ID: <abc@example.org>\nMIME") + b"\nhello"
    assert classify(raw).message_id == "<abc@example.org>"


def test_html_to_text_breaks_lines_at_blocks_and_skips_scripts() -> None:
    text = html_to_text("<div>one</div><script>var x=1;</script><p>two<br>three</p>")
    assert text == "one\ntwo\nthree"


def test_strip_quotes_keeps_only_new_text_above_a_french_attribution() -> None:
    text = "Merci !\n\nLe lun. 3 mars 2025 à 10:00, Shop <news@shop.example.com> a écrit :\n> x"
    assert strip_quotes(text) == "Merci !"


def test_strip_quotes_handles_a_wrapped_gmail_attribution() -> None:
    text = "Thanks\n\nOn Thu, Jun 20, 2013 at 4:18 PM, matt via Meta <\ninfo@x.org> wrote:\n> q"
    assert strip_quotes(text) == "Thanks"


VALID = (
    HEAD + b'Content-Type: multipart/alternative; boundary="b"\n\n--b\n'
    b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
    b"Please unsubscribe me =C3=A9\n--b\nContent-Type: text/html\n\n<p>unsubscribe</p>\n--b--\n"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_classify_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    result = classify(raw)
    assert isinstance(result.message_class, MessageClass)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID) - 1), st.binary(min_size=0, max_size=8)),
        max_size=6,
    )
)
def test_classify_never_raises_on_mutated_valid_messages(edits: list[tuple[int, bytes]]) -> None:
    raw = bytearray(VALID)
    for position, data in edits:
        raw[position : position + len(data)] = data
    result = classify(bytes(raw))
    assert isinstance(result.message_class, MessageClass)
