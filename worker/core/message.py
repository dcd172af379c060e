"""Defensive reading of inbound mail: headers, addresses and body text.

Everything that arrives in the opt-out mailbox is untrusted and much of it is broken:
bounces quote truncated originals, spam tools invent charsets, old MTAs forget the MIME
boundary. The classifier must still give an answer for every message, so every helper
here returns a best-effort value instead of raising, and caps how much text it examines
so one huge attachment cannot stall the worker.
"""

from __future__ import annotations

import codecs
import email.policy
import email.utils
import functools
from collections.abc import Iterable, Iterator
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any

from worker.core.addresses import normalise
from worker.errors import InvalidAddress

#: how much decoded body text any one reader looks at; intent lives in the first lines
TEXT_LIMIT = 256 * 1024

_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})


#: headers whose values repeat across messages and are read again and again per message
_CACHED = frozenset({"content-type", "content-transfer-encoding", "content-disposition",
                     "mime-version", "auto-submitted", "precedence"})  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _fetch(name: str, value: str) -> Any:
    return email.policy.default.header_fetch_parse(name, value)


class _CachingPolicy(email.policy.EmailPolicy):
    """The modern policy, with each header parsed once instead of at every ``get()``.

    The classifier asks for the same headers (Content-Type above all) many times per
    message; the standard policy re-parses the header text on every access, which was
    the largest single cost of classification. Parsed headers are immutable, so a cache
    keyed by the raw text returns what a fresh parse would. Only headers whose values
    recur are cached, and the cache is small, so memory stays flat in the backlog size.
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):  # already a parsed header object
            return value
        if name.lower() not in _CACHED:  # unique per message (Message-ID, Date…): no reuse
            return email.policy.default.header_fetch_parse(name, value)
        try:
            return _fetch(name, value)
        except TypeError:  # an unhashable value: parse it the ordinary way
            return email.policy.default.header_fetch_parse(name, value)


_POLICY = _CachingPolicy()


def parse_bytes(raw: bytes) -> EmailMessage:
    """Parse ``raw`` with the modern policy; malformed input becomes defects, not errors."""
    try:
        msg = BytesParser(policy=_POLICY).parsebytes(raw)
    except Exception:  # the parser is lenient, but never trust that for hostile input
        msg = EmailMessage()
        msg.set_payload(raw.decode("latin-1"))
    assert isinstance(msg, EmailMessage)
    return msg


def header(msg: Message, name: str) -> str:
    """The first ``name`` header, decoded (RFC 2047) and unfolded; ``""`` when absent."""
    values = headers(msg, name)
    return values[0] if values else ""


def headers(msg: Message, name: str) -> list[str]:
    """All ``name`` headers, decoded; a header the policy cannot parse is read raw."""
    try:
        found = msg.get_all(name) or []
    except Exception:
        found = []
    out: list[str] = []
    for value in found:
        try:
            text = str(value)
        except Exception:
            text = ""
        out.append(" ".join(text.split()))
    return out


def has_header(msg: Message, name: str) -> bool:
    """True when ``name`` is present at all, even empty (``Return-Path: <>`` matters)."""
    try:
        return name in msg
    except Exception:
        return False


def normalised(raw: str) -> str | None:
    """Normalised address, or None when it is not one (bounces quote plenty of junk)."""
    try:
        return normalise(raw)
    except (InvalidAddress, Exception):
        return None


def addresses_in(values: Iterable[str]) -> tuple[str, ...]:
    """Normalised addresses from address-list header values, in order, without duplicates."""
    out: list[str] = []
    for _name, addr in _getaddresses(list(values)):
        norm = normalised(addr) if addr else None
        if norm and norm not in out:
            out.append(norm)
    return tuple(out)


def raw_addresses_in(values: Iterable[str]) -> tuple[str, ...]:
    """Address specs as written (not normalised): tokens live in case-sensitive local parts."""
    return tuple(addr for _name, addr in _getaddresses(list(values)) if "@" in addr)


def _getaddresses(values: list[str]) -> list[tuple[str, str]]:
    try:
        return email.utils.getaddresses(values)
    except Exception:
        return []


def decode_payload(part: Message, limit: int = TEXT_LIMIT) -> str:
    """Text of one leaf part, whatever its transfer encoding and declared charset.

    Unknown or lying charsets fall back to UTF-8, then Latin-1 (which never fails), so a
    request written in a badly labelled charset is still read.
    """
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        try:
            text = part.get_payload()
        except Exception:
            return ""
        return text[:limit] if isinstance(text, str) else ""
    data = payload[: limit * 4]
    charset = _charset(part)
    for candidate in (charset, "utf-8"):
        if candidate is None:
            continue
        try:
            return data.decode(candidate)[:limit]
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")[:limit]


def _charset(part: Message) -> str | None:
    try:
        name = part.get_content_charset()
    except Exception:
        return None
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def content_type(part: Message) -> str:
    """Lower-case content type; ``text/plain`` for anything unreadable (RFC 2045 default)."""
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def param(part: Message, name: str) -> str:
    """A Content-Type parameter such as ``report-type``, lower-cased."""
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    return value.lower() if isinstance(value, str) else ""


def is_attachment(part: Message) -> bool:
    """True for parts the writer attached rather than wrote."""
    try:
        disposition = part.get_content_disposition()
    except Exception:
        return False
    return disposition == "attachment"


def children(part: Message) -> list[Message]:
    """Sub-parts of a multipart or message/* part; an empty list for anything else."""
    try:
        payload = part.get_payload()
    except Exception:
        return []
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def walk(part: Message, depth: int = 0) -> Iterator[Message]:
    """Every part, depth-first, with a depth cap against hostile nesting."""
    yield part
    if depth >= 20:
        return
    for child in children(part):
        yield from walk(child, depth + 1)


def own_text(msg: Message, limit: int = TEXT_LIMIT) -> str:
    """What the sender wrote: the first plain-text body, else the HTML body as text.

    Attached messages (forwards, the original in a bounce) are not the writer's words
    and are left out, so a quoted newsletter footer cannot speak for the sender.
    """
    plain: list[str] = []
    html: list[str] = []
    _collect_own(msg, plain, html, limit)
    if any(t.strip() for t in plain):
        return "\n".join(plain)[:limit]
    return "\n".join(html_to_text(h) for h in html)[:limit]


def _collect_own(part: Message, plain: list[str], html: list[str], limit: int) -> None:
    ctype = content_type(part)
    if ctype.startswith("multipart/") and children(part):
        for child in children(part):
            _collect_own(child, plain, html, limit)
        return
    if ctype.startswith("multipart/"):  # no usable boundary: the payload is all we have
        plain.append(decode_payload(part, limit))
        return
    if ctype.startswith("message/") or is_attachment(part):
        return
    if ctype == "text/plain":
        plain.append(decode_payload(part, limit))
    elif ctype == "text/html":
        html.append(decode_payload(part, limit))


def all_text(msg: Message, limit: int = TEXT_LIMIT) -> str:
    """Every readable text in the message, attached originals included, capped.

    Bounces hide the failed address anywhere: in a delivery-status part, in the
    attached original's headers, in a free-text paragraph. Heuristics read all of it.
    """
    chunks: list[str] = []
    size = 0
    for part in walk(msg):
        ctype = content_type(part)
        if ctype.startswith("multipart/") and children(part):
            continue
        if ctype.startswith("message/") and children(part):
            # delivery-status / feedback-report fields and attached originals' headers
            chunks.append("\n\n".join(_header_block(sub) for sub in children(part)))
            continue
        if ctype == "text/html":
            text = html_to_text(decode_payload(part, limit))
        elif ctype.startswith(("text/", "message/", "multipart/")) or ctype.endswith(
            "octet-stream"
        ):
            text = decode_payload(part, limit)
        else:
            continue
        chunks.append(text)
        size += len(text)
        if size >= limit:
            break
    return "\n".join(chunks)[:limit]


def _header_block(msg: Message) -> str:
    try:
        items = msg.items()
    except Exception:
        return ""
    lines = []
    for name, value in items:
        try:
            lines.append(f"{name}: {value}")
        except Exception:
            continue
    return "\n".join(lines)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body; quoted blocks keep a ``>`` prefix for the quote stripper."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        pass
    return parser.text()


class _TextExtractor(HTMLParser):
    """Collects text, breaking lines at block tags and marking blockquote/quote containers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[str] = []
        self._current: list[str] = []
        self._skip = 0
        self._quote = 0
        self._quote_stack: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        if tag in _BLOCK_TAGS or tag == "blockquote":
            self._newline()
        if tag in {"blockquote", "div"}:
            classes = " ".join(v or "" for k, v in attrs if k in {"class", "id", "type"}).lower()
            quoted = tag == "blockquote" or any(
                marker in classes for marker in ("gmail_quote", "yahoo_quoted", "divrplyfwdmsg")
            )
            self._quote_stack.append(quoted)
            self._quote += quoted

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        if tag in _BLOCK_TAGS or tag == "blockquote":
            self._newline()
        if tag in {"blockquote", "div"} and self._quote_stack:
            self._quote -= self._quote_stack.pop()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._quote and not self._current:
            self._current.append("> ")
        self._current.append(data.replace("\n", " ").replace("\r", " "))

    def _newline(self) -> None:
        line = " ".join("".join(self._current).split())
        if line and line != ">":
            self._lines.append(line)
        self._current = []

    def text(self) -> str:
        self._newline()
        return "\n".join(self._lines)
