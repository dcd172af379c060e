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
import io
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar, Token
from email import errors
from email.message import Message
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Final, TypeVar, cast

from worker.core.addresses import lower, normalise
from worker.core.headers_text import render
from worker.errors import InvalidAddress

#: how much decoded body text any one reader looks at; intent lives in the first lines
TEXT_LIMIT = 256 * 1024

_BLOCK_TAGS: Final = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
)
_SKIP_TAGS: Final = frozenset({"script", "style", "head", "title"})


class _Scope:
    """One memo scope: its memo, for values that may refer back to their part (a part's
    own :class:`_PartView` must not, or parts would live on in reference cycles until a
    collection), and the mark the views made in it carry (not the scope itself: the
    memo refers to the parts)."""

    def __init__(self) -> None:
        self.memo: dict[tuple[str, int], tuple[object, Any]] = {}
        self.mark = object()
        #: the part :func:`_part_view` served last, and its view: most reads follow one
        #: on the same part, and this spares them the part's ``__dict__`` and its lookup
        #: (300 of the 550 instructions a view cost, 38,000 views on the 700-message backlog)
        self.last_part: Message | None = None
        self.last_view: _PartView | None = None


#: the current memo scope (None: none). A context variable, not a threading.local: its
#: get() is a cached C read, half the cost of the thread-local's attribute lookup that
#: every memoised read paid, and it is as private to a thread (and to an asyncio task)
_SCOPE: Final[ContextVar[_Scope | None]] = ContextVar("optout_memo_scope", default=None)


#: ``_SCOPE.get``, bound once: a call of the bound method skips the method lookup that
#: ``_SCOPE.get()`` makes on each of the 50 reads a message (244 -> ~90 instructions)
_scope_get: Final[Callable[[], _Scope | None]] = _SCOPE.get


class _MemoScope:
    """What :func:`memo_scope` returns: a compiled class's ``with`` calls its methods
    directly, where ``contextlib.contextmanager`` ran three interpreted methods and a
    generator a message."""

    def __init__(self) -> None:
        self.token: Token[_Scope | None] | None = None

    def __enter__(self) -> None:
        self.token = _SCOPE.set(_Scope())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token = self.token
        if token is not None:
            self.token = None
            _SCOPE.reset(token)


def memo_scope() -> _MemoScope:
    """Within the block, derived values (decoded headers, texts, parts) are computed once
    per message part. The classifier reads the same ones from many rules; outside a
    scope every call computes afresh, so a caller that changes a message never sees a
    stale value."""
    return _MemoScope()


class _PartView:
    """What has been derived from one part within one memo scope, kept on the part (in
    its ``__dict__``, under :data:`_VIEW_ATTR`) with the scope's mark. Only values that
    hold no reference to a part are kept here (strings, header values).

    Header lookups and content types are the classifier's most frequent reads (three
    dozen a message); a memo keyed by (kind, id(part), extra) tuples cost more than
    most of the values it served.
    """

    def __init__(self, mark: object, modern: bool) -> None:
        self.mark = mark
        #: the part has the modern policy (header objects), see :func:`_modern`
        self.modern = modern
        self.index: dict[str, list[tuple[str, Any]]] | None = None
        #: decoded header values by lower-case name
        self.decoded: dict[str, tuple[str, ...]] = {}
        self.ctype: str | None = None
        self.payloads: dict[int, str] | None = None
        #: other strings, by (kind, extra)
        self.other: dict[tuple[str, object], Any] | None = None

    def raw(self, msg: Message) -> dict[str, list[tuple[str, Any]]]:
        """The part's raw headers by lower-case name, in order (compat32 parts)."""
        index = self.index
        if index is None:
            # lists, not tuples made of them: nothing changes them once built
            index = self.index = {}
            for name, value in _header_list(msg):
                index.setdefault(_lower_name(name), []).append((name, value))
        return index

    def get(self, kind: str, extra: object) -> Any:
        """A value stored by :meth:`put`, or :data:`_MISSING`."""
        other = self.other
        if other is None:
            return _MISSING
        return other.get((kind, extra), _MISSING)

    def put(self, kind: str, extra: object, value: Any) -> None:
        if self.mark is None:  # outside a scope: nothing is remembered
            return
        if self.other is None:
            self.other = {}
        self.other[(kind, extra)] = value


#: header names lower-cased, by name as written: the classifier asks for the same few
#: dozen names (and mail spells its own the same way) 60 times a message, and each
#: ``name.lower()`` made a new string whose hash every dict lookup of it computed again
_LOWER_NAMES: Final[dict[str, str]] = {}
#: how many names :data:`_LOWER_NAMES` keeps: hostile mail invents any number, so it
#: starts afresh when full (and the names in use come back on their next read)
_LOWER_NAMES_KEPT: Final = 512


def _lower_name(name: str) -> str:
    """``name.lower()``, the same string object for the same name (see _LOWER_NAMES)."""
    lname = _LOWER_NAMES.get(name)
    if lname is None:
        lname = name.lower()
        if len(_LOWER_NAMES) >= _LOWER_NAMES_KEPT:
            _LOWER_NAMES.clear()
        _LOWER_NAMES[name] = lname
    return lname


#: the attribute a part keeps its :class:`_PartView` in
_VIEW_ATTR: Final = "_optout_header_view"


def _part_view(msg: Message) -> _PartView:
    """The part's view in the current memo scope, made on first use; outside a scope a
    new, empty one on every call (and its values are not remembered)."""
    scope = _scope_get()
    if scope is None:
        return _PartView(None, _modern(msg))
    if scope.last_part is msg:
        view = scope.last_view
        if view is not None:
            return view
    mark = scope.mark
    state = msg.__dict__
    kept = state.get(_VIEW_ATTR)
    if isinstance(kept, _PartView) and kept.mark is mark:
        view = kept
    else:
        view = _PartView(mark, _modern(msg))
        state[_VIEW_ATTR] = view
    scope.last_part = msg
    scope.last_view = view
    return view


_MISSING: Final[Any] = object()
_T = TypeVar("_T")


def memoized(kind: str, part: Message, compute: Callable[[Message], _T]) -> _T:
    """``compute(part)``, once per part within a :func:`memo_scope` (every time outside)."""
    scope = _scope_get()
    if scope is None:
        return compute(part)
    key = (kind, id(part))
    entry = scope.memo.get(key)
    if entry is not None and entry[0] is part:
        return cast(_T, entry[1])
    value = compute(part)
    scope.memo[key] = (part, value)
    return value


_TOKEN: Final = r"[A-Za-z0-9!#$%&'+.^_`|~\-]+"
#: MIME headers whose plain shapes compat32 reads as the modern policy does (the same
#: type, parameters and boundary); for any other shape the modern policy's rendering is
#: what the original classifier's parser and MIME lookups saw, so that is what is served
_PLAIN_MIME: Final = {
    "content-type": re.compile(
        rf"[ \t]*{_TOKEN}/{_TOKEN}[ \t]*"
        rf"(?:;[ \t]*{_TOKEN}=(?:{_TOKEN}|\"[^\"\\\x00-\x1f\x7f-\uffff]*\")[ \t]*)*"
    ),
    "content-disposition": re.compile(
        rf"[ \t]*{_TOKEN}[ \t]*"
        rf"(?:;[ \t]*{_TOKEN}=(?:{_TOKEN}|\"[^\"\\\x00-\x1f\x7f-\uffff]*\")[ \t]*)*"
    ),
    "content-transfer-encoding": re.compile(r"[A-Za-z0-9\-]+"),
}


def _plain_mime(name: str, value: Any) -> bool:
    lname = _lower_name(name)
    if lname not in _PLAIN_MIME:
        return True
    if not isinstance(value, str):
        return False
    if len(value) > 1024:  # not remembered
        return _PLAIN_MIME[lname].fullmatch(value) is not None
    return _plain_mime_value(lname, value)


@functools.lru_cache(maxsize=1024)
def _plain_mime_value(lname: str, value: str) -> bool:
    return _PLAIN_MIME[lname].fullmatch(value) is not None


class _Policy(email.policy.Compat32):
    """compat32, except that an unusual MIME header reads as the modern policy renders it.

    The classifier used to parse with the modern policy, whose parser and MIME lookups
    (type, boundary, charset, transfer encoding) read the registry's rendering of these
    headers. For plain values that is the raw text; for odd ones (stray quotes, folds,
    RFC 2231, comments, 8-bit bytes) it can differ, and the structure with it.
    """

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if not _plain_mime(name, value) and isinstance(value, str):
            return render(name, value)
        return super().header_fetch_parse(name, value)


_POLICY: Final = _Policy()


def plain_mime(msg: Message) -> bool:
    """True when every part's MIME headers are plain: ``msg`` then reads exactly as a
    compat32 parse of the same bytes would (what flufl.bounce expects to be given)."""
    try:  # every part, as flufl walks them (no depth cap)
        return all(
            _plain_mime(name, value) for part in msg.walk() for name, value in part.raw_items()
        )
    except RecursionError:  # absurd nesting: let flufl parse the bytes itself
        return False


def parse_bytes(raw: bytes) -> Message:
    """Parse ``raw`` (compat32: raw header strings, read through :func:`headers`).

    Malformed input becomes defects, not errors. Header values are decoded only when
    read, by :func:`headers`, exactly as the modern policy would show them.
    """
    return parse_checked(raw)[0]


def parse_checked(raw: bytes) -> tuple[Message, bool]:
    """:func:`parse_bytes`, and whether the parser took it (False: the fallback message)."""
    try:
        fast = _parse_single_part(raw)
        if fast is not None:
            return fast, True
        return _LineParser(raw).parse(), True
    except Exception:  # the parser is lenient, but never trust that for hostile input
        msg = Message()
        msg.set_payload(raw.decode("latin-1"))
        return msg, False


#: the feed parser's header-or-continuation line test (email.feedparser.headerRE), which
#: :func:`_header_line` stands for
_HEADER_LINE: Final = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")


def _header_line(line: str) -> bool:
    """``_HEADER_LINE.match(line) is not None``, in string methods: a regex call per line
    was a tenth of parsing (test_headers_text.py compares the two)."""
    if not line:
        return False
    # s[i] == "c" compiles to a compare of code points; "in" to a substring search
    if line[0] == " " or line[0] == "\t" or line.startswith("From "):
        return True
    colon = line.find(":")
    if colon < 0:
        return False
    name = line[:colon]  # printable ASCII but space (and colon, found first) only
    ok = _HEADER_NAMES.get(name)
    if ok is None:
        ok = name.isascii() and name.isprintable() and " " not in name
        if len(_HEADER_NAMES) >= _HEADER_NAMES_KEPT:
            _HEADER_NAMES.clear()
        _HEADER_NAMES[name] = ok
    return ok


#: :func:`_header_line`'s answer by header name: mail spells the same few dozen names,
#: and a name's hash and lookup cost half of the two method calls that test it (which
#: were 6.7 M of the 700-message backlog's instructions)
_HEADER_NAMES: Final[dict[str, bool]] = {}
#: how many names :data:`_HEADER_NAMES` keeps: full, it starts afresh (see _LOWER_NAMES)
_HEADER_NAMES_KEPT: Final = 512


#: where ``str.splitlines`` ends a line but the feed parser does not (it ends lines at
#: \r\n, \r and \n only); the other breaks splitlines knows (\x85, \u2028, \u2029) never
#: come out of an ASCII/surrogateescape decode, which maps every byte over 0x7f to U+DCxx
_OTHER_BREAKS: Final = ("\v", "\f", "\x1c", "\x1d", "\x1e")


def _split_lines(text: str) -> list[str]:
    """``io.StringIO(text, newline="").readlines()``: the parser's lines, ends kept.

    ``str.splitlines`` gives the same lines wherever ``text`` holds none of the breaks
    only it knows, for a third of the cost (StringIO's newline decoder reads the text
    twice)."""
    for char in _OTHER_BREAKS:
        if char in text:
            return io.StringIO(text, newline="").readlines()
    return text.splitlines(True)


def _head_end(raw: bytes) -> int:
    """Where the composite test stops looking: the first empty line, within 16 KB, as
    the index of its first character (16384: none there). Mail's header block is short;
    the test has no need to read the first 16 KB of a body as well."""
    # one search for both line ends, each match ending within the cut as find's did:
    # two finds and their method calls cost 4,000 instructions a message, this a third
    found = _EMPTY_LINE.search(raw, 0, 16384)
    return found.start() + 1 if found is not None else 16384


#: an empty line, found by the line break before it ("\r\n" or "\n")
_EMPTY_LINE: Final = re.compile(rb"\n\r?\n")


def _composite(head: bytes) -> bool:
    """``re.search(rb"(?im)^content-type:[ \\t]*(?:multipart|message)/", head)``: whether
    a header line declares a multipart or message/* type, read with ``find`` instead of a
    caseless regex, which tried every byte of the block (a hint only: see below)."""
    low = head.lower()
    at = low.find(b"content-type:")
    while at >= 0:
        if at == 0 or low[at - 1] == 10:  # at the start of a line ("\n" before it)
            pos = at + 13
            while pos < len(low) and low[pos] in (32, 9):
                pos += 1
            if low.startswith((b"multipart/", b"message/"), pos):
                return True
        at = low.find(b"content-type:", at + 13)
    return False


def _new_message(policy: Any = None) -> Message:
    """``Message(policy=policy)``, ``_POLICY`` by default. (Setting its attributes through
    ``Message.__new__`` and ``__dict__.update`` instead cost half as much again.)"""
    return Message(policy=_POLICY if policy is None else policy)


def _parse_single_part(raw: bytes) -> Message | None:
    """What ``BytesParser(policy=compat32)`` builds for a plain single-part message, or
    None for anything else (multipart, message/*, a Unix From line, header defects).

    Such a message is its header lines and, after the first empty line, one string
    payload; the feed parser reaches the same result line by line, several times slower.
    test_headers_text.py compares the two on the corpus and on mangled messages.
    """
    end = _head_end(raw)
    if _composite(raw[:end]):  # most likely multipart: not worth the try
        return None
    text = raw.decode("ascii", "surrogateescape")  # as BytesParser does
    # the header lines are those before the empty line at `end`: split up to its "\n"
    # only (a "\n" always ends a line, so the lines before it split as in the whole text)
    cut = text.find("\n", end) + 1 if end < 16384 else 0
    fields: list[tuple[str, str]] = []
    current: list[str] = []
    colon = 0
    pos = 0
    for line in _split_lines(text[:cut] if cut else text):  # split at \r\n, \r and \n
        if not _header_line(line):
            if line[0] != "\r" and line[0] != "\n":
                return None  # a body line without the empty separator line: a defect
            pos += len(line)
            break
        if line[0] == " " or line[0] == "\t":
            if not current:
                return None  # the first header line is a continuation: a defect
            current.append(line)
        elif line[0] == ":" or line.startswith("From "):
            return None  # a header without a name, or an envelope line
        else:
            if current:
                fields.append(_source_field(current, colon))
            current = [line]
            colon = line.find(":")
        pos += len(line)
    else:
        return None  # no body at all: leave the corner cases to the parser
    if current:
        fields.append(_source_field(current, colon))
    msg = _new_message()
    # what set_raw does a field (the list Message keeps them in), in one call
    cast(Any, msg)._headers.extend(fields)
    if _fields_ctype(msg, fields).split("/")[0] in {"multipart", "message"}:
        return None
    cast(Any, msg)._payload = text[pos:]  # what set_payload does with a str
    return msg


def _source_field(lines: list[str], colon: int = -1) -> tuple[str, str]:
    """``Compat32.header_source_parse(lines)``, the same (name, value), as a compiled call:
    the parser makes one per header line group, a dozen or more per message. ``colon``:
    where the first line's first ":" is, when the caller has found it already."""
    first = lines[0]
    if colon < 0:
        colon = first.find(":")
    if len(lines) > 1:
        value = first[colon + 1 :].lstrip(" \t") + "".join(lines[1:])
        return first[:colon], value.rstrip("\r\n")
    # one line (most headers): the value cut out of it at once, where the slice, lstrip
    # and rstrip made a string each (test_message_shortcuts.py compares the two)
    start = colon + 1
    end = len(first)
    while start < end and (first[start] == " " or first[start] == "\t"):
        start += 1
    while end > start and (first[end - 1] == "\n" or first[end - 1] == "\r"):
        end -= 1
    return first[:colon], first[start:end]


def _header_list(part: Message) -> list[tuple[str, Any]]:
    """The list of (name, value) that ``raw_items()`` copies, to be read in place (it is
    interpreted code). Typed: a loop over it as ``Any`` took each pair apart through the
    iterator protocol, 4,000 instructions a part to find its Content-Type."""
    fields: list[tuple[str, Any]] = cast(Any, part)._headers
    return fields


def _first_field(fields: list[tuple[str, str]], lname: str) -> tuple[str, str] | None:
    """The first of ``fields`` named ``lname`` (lower case), or None."""
    size = len(lname)
    for field in fields:
        name = field[0]
        if len(name) == size and name.lower() == lname:
            return field
    return None


def _fields_ctype(msg: Message, fields: list[tuple[str, str]]) -> str:
    """``_ctype(msg)`` for a part the parser has just given ``fields``, its headers."""
    found = _first_field(fields, "content-type")
    if found is not None and len(found[1]) <= 1024:
        return _ctype_of(found[0], found[1])
    if found is None and msg.policy is _POLICY:
        default = _default_type(msg)
        if default is not None:
            return default
    return msg.get_content_type()


def _without_content_type(part: Message) -> bool:
    """``part`` (of our policy) has no Content-Type: what ``Message`` derives from that
    header is then its default, which this spares the interpreted methods (3,000 to
    6,000 instructions a call) for: the delivery-status blocks and the attached
    originals of bounces, the parts of plain messages (test_message_shortcuts.py)."""
    return part.policy is _POLICY and _first_field(cast(Any, part)._headers, "content-type") is None


def _default_type(part: Message) -> str | None:
    """``part.get_default_type()``, when it is a string (as ``set_default_type`` leaves it)."""
    default = cast(Any, part)._default_type
    return default if type(default) is str else None


_NLCRE: Final = re.compile(r"\r\n|\r|\n")


def _without_eol(text: str) -> str:
    r"""``text`` without one final line break, where the feed parser's ``(\r\n|\r|\n)\Z``
    finds it: read at the end instead of searched for from the start of a payload."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\r", "\n")):
        return text[:-1]
    return text


def _attach(parent: Message, msg: Message) -> None:
    """``parent.attach(msg)``, compiled for the payloads the parser gives a container."""
    payload = cast(Any, parent)._payload
    if payload is None:
        cast(Any, parent)._payload = [msg]
    elif isinstance(payload, list):
        payload.append(msg)
    else:
        parent.attach(msg)


#: how deeply :class:`_LineParser` nests parts before it gives up on the message (no
#: mail client nests a tenth as deep; :func:`walk` reads 20 levels)
_MAX_NESTING: Final = 100


class _LineParser:
    """``BytesParser(policy=compat32).parsebytes``, for a message that is all there.

    A port of ``email.feedparser.FeedParser._parsegen`` (Python 3.11) with its input as
    a list of lines instead of a stream fed in chunks: the same steps, defects and
    results (test_headers_text.py compares the two on mangled messages), without the
    generator and buffer machinery that made parsing a multipart report cost more than
    classifying it. The parts' content types (fixed once their headers are read) are
    kept by part, not derived from the part again at each use.
    """

    def __init__(self, raw: bytes) -> None:
        self._lines = _split_lines(raw.decode("ascii", "surrogateescape"))
        self._pos = 0
        self._pushed_empty = False
        self._eof: list[tuple[tuple[str, ...], Callable[[str], Any]]] = []
        self._eof_prefixes: tuple[str, ...] = ()
        self._stack: list[Message] = []
        self._cur: Message | None = None
        self._last: Message | None = None
        self._policy = _POLICY
        #: each part's content type, by id (the parts live as long as the parser)
        self._types: dict[int, str] = {}

    def parse(self) -> Message:
        self._parsegen()
        root = self._pop()
        if self._types[id(root)].split("/")[0] == "multipart" and not root.is_multipart():
            self._defect(root, errors.MultipartInvariantViolationDefect())
        return root

    # -- the input: BufferedSubFile ---------------------------------------------------
    def _readline(self) -> str:
        if self._pushed_empty:  # an "" pushed back reads as one false end of input
            self._pushed_empty = False
            return ""
        if self._pos >= len(self._lines):
            return ""
        line = self._lines[self._pos]
        # every false end of input starts with its prefix: test that first, in C
        if self._eof_prefixes and line.startswith(self._eof_prefixes):
            for _prefix, at_eof in self._eof:
                if at_eof(line):
                    return ""
        self._pos += 1
        return line

    def _push_eof(self, prefix: tuple[str, ...], at_eof: Callable[[str], Any]) -> None:
        self._eof.append((prefix, at_eof))
        self._eof_prefixes = tuple(p for prefix, _m in self._eof for p in prefix)

    def _pop_eof(self) -> None:
        self._eof.pop()
        self._eof_prefixes = tuple(p for prefix, _m in self._eof for p in prefix)

    def _unreadline(self, line: str) -> None:
        """Push back ``line``, which is always the line just read (or "" if none was)."""
        if line == "":
            self._pushed_empty = True
        else:
            self._pos -= 1

    def _rest(self) -> list[str]:
        """Lines up to the end of input or the first false end (what a read loop gets)."""
        if self._pushed_empty:
            self._pushed_empty = False
            return []
        start = end = self._pos
        lines, prefixes = self._lines, self._eof_prefixes
        if not prefixes:
            self._pos = len(lines)
            return lines[start:]
        while end < len(lines):
            line = lines[end]
            if line.startswith(prefixes) and any(at_eof(line) for _prefix, at_eof in self._eof):
                break
            end += 1
        self._pos = end
        return lines[start:end]

    # -- the message stack ------------------------------------------------------------
    def _defect(self, msg: Message, defect: errors.MessageDefect) -> None:
        self._policy.handle_defect(msg, defect)

    def _new(self) -> Message:
        if len(self._stack) >= _MAX_NESTING:
            # hostile nesting. The source recursed (twice a multipart level) into
            # Python's recursion limit near 500 levels, sooner from a deeper stack, and
            # RecursionError made it the fallback message; the compiled parser has no
            # such limit and went on, another parse and answer, and ~100,000 levels of
            # message/rfc822 (3 MB) overflowed the C stack: a segfault. A fixed depth,
            # well clear of the limit, is the same answer for both at every depth.
            raise RecursionError(f"parts nested over {_MAX_NESTING} deep")
        msg = _new_message(self._policy)
        if self._cur is not None and self._types[id(self._cur)] == "multipart/digest":
            cast(Any, msg)._default_type = "message/rfc822"  # set_default_type
        if self._stack:
            _attach(self._stack[-1], msg)
        self._stack.append(msg)
        self._cur = self._last = msg
        return msg

    def _pop(self) -> Message:
        msg = self._stack.pop()
        self._cur = self._stack[-1] if self._stack else None
        return msg

    # -- _parsegen --------------------------------------------------------------------
    def _parsegen(self) -> None:
        cur = self._new()
        header_lines = []
        while True:
            line = self._readline()
            if line == "":
                break
            if not _header_line(line):
                if line[0] != "\r" and line[0] != "\n":  # not _NLCRE.match(line)
                    self._defect(cur, errors.MissingHeaderBodySeparatorDefect())
                    self._unreadline(line)
                break
            header_lines.append(line)
        self._parse_headers(cur, header_lines)
        fields: list[tuple[str, str]] = cast(Any, cur)._headers
        ctype = self._types[id(cur)] = _fields_ctype(cur, fields)  # fixed from here on
        maintype = ctype.split("/")[0]
        if ctype == "message/delivery-status":
            while True:
                self._push_eof(("\r", "\n"), _NLCRE.match)
                self._parsegen()
                self._pop()
                self._pop_eof()
                self._readline()
                line = self._readline()
                if line == "":
                    break
                self._unreadline(line)
            return
        if maintype == "message":
            self._parsegen()
            self._pop()
            return
        if maintype == "multipart":
            self._multipart(cur, fields)
            return
        cast(Any, cur)._payload = "".join(self._rest())  # what set_payload does with a str

    def _multipart(self, cur: Message, fields: list[tuple[str, str]]) -> None:
        found = _first_field(fields, "content-type")
        if found is not None and len(found[1]) <= 1024:
            boundary = _boundary_of(found[0], found[1])
        else:
            boundary = cur.get_boundary()
        if boundary is None:
            self._defect(cur, errors.NoBoundaryInMultipartDefect())
            cast(Any, cur)._payload = "".join(self._rest())
            return
        found = _first_field(fields, "content-transfer-encoding")  # as cur.get(...)
        cte = "8bit" if found is None else str(self._policy.header_fetch_parse(*found)).lower()
        if cte not in ("7bit", "8bit", "binary"):
            self._defect(cur, errors.InvalidMultipartContentTransferEncodingDefect())
        separator = "--" + boundary
        boundaryre = _boundary_re(separator)
        capturing_preamble = True
        preamble: list[str] = []
        linesep: Any = False
        close_boundary_seen = False
        while True:
            line = self._readline()
            if line == "":
                break
            mo = boundaryre.match(line) if line.startswith(separator) else None
            if mo:
                if mo.group("end"):
                    close_boundary_seen = True
                    linesep = mo.group("linesep")
                    break
                if capturing_preamble:
                    if preamble:
                        lastline = preamble[-1]
                        preamble[-1] = _without_eol(lastline)
                        cur.preamble = "".join(preamble)
                    capturing_preamble = False
                    self._unreadline(line)
                    continue
                while True:
                    line = self._readline()
                    mo = boundaryre.match(line) if line.startswith(separator) else None
                    if not mo:
                        self._unreadline(line)
                        break
                self._push_eof((separator,), boundaryre.match)
                self._parsegen()
                last = self._last
                assert last is not None
                if self._types[id(last)].split("/")[0] == "multipart":
                    epilogue = last.epilogue
                    if epilogue == "":
                        last.epilogue = None
                    elif epilogue is not None:
                        last.epilogue = _without_eol(epilogue)
                else:
                    payload = last._payload  # type: ignore[attr-defined]
                    if isinstance(payload, str):
                        last._payload = _without_eol(payload)  # type: ignore[attr-defined]
                self._pop_eof()
                self._pop()
                self._last = self._cur
            else:
                assert capturing_preamble
                preamble.append(line)
        if capturing_preamble:
            self._defect(cur, errors.StartBoundaryNotFoundDefect())
            cast(Any, cur)._payload = "".join(preamble)
            self._rest()
            cur.epilogue = ""
            return
        if not close_boundary_seen:
            self._defect(cur, errors.CloseBoundaryNotFoundDefect())
            return
        epilogue_lines = [""] if linesep else []
        epilogue_lines += self._rest()
        if epilogue_lines:
            firstline = epilogue_lines[0]
            if firstline.startswith("\r\n"):  # what _NLCRE_BOL.match(firstline) finds
                epilogue_lines[0] = firstline[2:]
            elif firstline.startswith(("\r", "\n")):
                epilogue_lines[0] = firstline[1:]
        cur.epilogue = "".join(epilogue_lines)

    def _parse_headers(self, cur: Message, lines: list[str]) -> None:
        fields: list[tuple[str, str]] = cast(Any, cur)._headers  # what set_raw appends to
        lastvalue: list[str] = []  # the lines of the header being read, if any
        lastcolon = 0
        for lineno, line in enumerate(lines):
            if line[0] == " " or line[0] == "\t":
                if not lastvalue:
                    self._defect(cur, errors.FirstHeaderLineIsContinuationDefect(line))
                    continue
                lastvalue.append(line)
                continue
            if lastvalue:
                fields.append(_source_field(lastvalue, lastcolon))
                lastvalue = []
            if line.startswith("From "):
                if lineno == 0:
                    cur.set_unixfrom(_without_eol(line))
                    continue
                if lineno == len(lines) - 1:
                    # pushed back in front of what follows (the separator line is gone)
                    self._lines.insert(self._pos, line)
                    return
                cur.defects.append(errors.MisplacedEnvelopeHeaderDefect(line))
                continue
            i = line.find(":")
            if i == 0:
                cur.defects.append(errors.InvalidHeaderDefect("Missing header name."))
                continue
            lastcolon = i
            lastvalue = [line]
        if lastvalue:
            fields.append(_source_field(lastvalue, lastcolon))


@functools.lru_cache(maxsize=256)
def _boundary_re(separator: str) -> re.Pattern[str]:
    """The feed parser's boundary line pattern; multipart mail repeats a few boundaries."""
    return re.compile(
        "(?P<sep>" + re.escape(separator) + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
    )


def _first_content_type(part: Message) -> tuple[str, str] | None:
    """The first Content-Type as ``(name, raw value)``, when it is a modest compat32 string.

    Everything ``Message`` derives from the MIME parameters (boundary, charset, other
    parameters) reads that one header only, so a result computed for the same name and
    value on a message holding just that header is the part's own result; the parameter
    parsing behind it costs several microseconds and mail repeats the same few values.
    None: derive it from the part itself.
    """
    if part.policy is not _POLICY:  # the policy's reading is part of the result
        return None
    # the list raw_items() copies, read in place (raw_items is interpreted code); a name
    # that lower-cases to "content-type" is 12 characters long
    for name, value in _header_list(part):
        if len(name) == 12 and name.lower() == "content-type":
            if _plain_str(value) and len(value) <= 1024:
                return name, value
            return None
    return None


def _plain_str(value: object) -> bool:
    """``isinstance(value, str) and not hasattr(value, "name")``: a raw string, not a
    header object (whose classes subclass str); the exact type answers most calls."""
    return type(value) is str or (isinstance(value, str) and not hasattr(value, "name"))


def _modern(msg: Message) -> bool:
    """``msg`` has the modern policy (header objects); an ABC isinstance test is slow."""
    policy = msg.policy
    return policy is not _POLICY and isinstance(policy, email.policy.EmailPolicy)


def _ctype(part: Message) -> str:
    """``part.get_content_type()``, remembered by Content-Type value (see above)."""
    found = _first_content_type(part)
    if found is not None:
        return _ctype_of(*found)
    if _without_content_type(part):
        default = _default_type(part)
        if default is not None:
            return default
    return part.get_content_type()


@functools.lru_cache(maxsize=512)
def _ctype_of(name: str, value: str) -> str:
    return _alone(name, value).get_content_type()


def _alone(name: str, value: str) -> Message:
    msg = Message(policy=_POLICY)
    msg.set_raw(name, value)
    return msg


def _boundary(part: Message) -> str | None:
    """``part.get_boundary()``, remembered by Content-Type value (see _first_content_type)."""
    found = _first_content_type(part)
    if found is None:
        return part.get_boundary()
    return _boundary_of(*found)


@functools.lru_cache(maxsize=512)
def _boundary_of(name: str, value: str) -> str | None:
    return _alone(name, value).get_boundary()


def header(msg: Message, name: str) -> str:
    """The first ``name`` header, decoded (RFC 2047) and unfolded; ``""`` when absent."""
    values = _decoded(msg, name)  # not the list headers() copies for its caller
    return values[0] if values else ""


def headers(msg: Message, name: str) -> list[str]:
    """All ``name`` headers, decoded; a header the policy cannot parse is read raw."""
    return list(_decoded(msg, name))


_NO_VALUES: Final[tuple[str, ...]] = ()


def _decoded(msg: Message, name: str) -> tuple[str, ...]:
    """:func:`headers`, as the tuple the part's view keeps."""
    lname = _lower_name(name)
    view = _part_view(msg)
    decoded = view.decoded.get(lname)
    if decoded is None:
        if view.modern:
            try:
                found = msg.get_all(name) or []
            except Exception:
                found = []
            decoded = tuple(_texts(found))
        else:
            raw = view.raw(msg).get(lname)
            if raw is None:  # most names asked for are absent
                return _NO_VALUES
            try:
                rendered = [_render(k, v) for k, v in raw]
            except Exception:  # as the modern policy's get_all would raise: nothing
                rendered = []
            decoded = tuple(_texts(rendered))
        if view.mark is not None:
            view.decoded[lname] = decoded
    return decoded


def _texts(found: list[Any]) -> list[str]:
    out: list[str] = []
    for value in found:
        try:
            text = str(value)
        except Exception:
            text = ""
        out.append(" ".join(text.split()))
    return out


def _render(name: str, value: Any) -> Any:
    """A raw compat32 value as the modern policy shows it (objects stay as they are)."""
    if _plain_str(value):
        return render(name, value)
    return value


def rendered_items(msg: Message) -> list[tuple[str, str]]:
    """Every header as ``(name, text)``, as the modern policy's ``items()`` shows them."""
    if _modern(msg):
        return [(k, str(v)) for k, v in msg.items()]
    return [(k, str(_render(k, v))) for k, v in _header_list(msg)]


def header_items(part: Message) -> list[tuple[str, Any]]:
    """``part.items()``: an ASCII value that the policy returns as it is (no 8-bit byte to
    make a Header of, no MIME header to render) is not passed through the interpreted
    policy method (test_message_shortcuts.py compares the two)."""
    if part.policy is not _POLICY:
        return list(part.items())
    out: list[tuple[str, Any]] = []
    for name, value in _header_list(part):
        if type(value) is not str or not value.isascii() or not _plain_mime(name, value):
            value = _POLICY.header_fetch_parse(name, value)
        out.append((name, value))
    return out


def has_header(msg: Message, name: str) -> bool:
    """True when ``name`` is present at all, even empty (``Return-Path: <>`` matters)."""
    view = _part_view(msg)
    if not view.modern:
        return _lower_name(name) in view.raw(msg)
    try:
        return name in msg
    except Exception:
        return False


def normalised(raw: str) -> str | None:
    """Normalised address, or None when it is not one (bounces quote plenty of junk)."""
    return _normalised(raw) if len(raw) <= 320 else _normalised.__wrapped__(raw)


@functools.lru_cache(maxsize=4096)
def _normalised(raw: str) -> str | None:
    """Normalised address, or None when it is not one (bounces quote plenty of junk)."""
    try:
        return normalise(raw)
    except (InvalidAddress, Exception):
        return None


def addresses_in(values: Iterable[str]) -> tuple[str, ...]:
    """Normalised addresses from address-list header values, in order, without duplicates."""
    out: list[str] = []
    for addr in _addr_specs(list(values)):
        norm = normalised(addr) if addr else None
        if norm and norm not in out:
            out.append(norm)
    return tuple(out)


def raw_addresses_in(values: Iterable[str]) -> tuple[str, ...]:
    """Address specs as written (not normalised): tokens live in case-sensitive local parts."""
    return tuple(addr for addr in _addr_specs(list(values)) if "@" in addr)


_ATEXT: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]"
_SIMPLE_ADDR: Final = rf"{_ATEXT}+(?:\.{_ATEXT}+)*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
#: a list of plain mailboxes (``a@b``, ``Name <a@b>``), for which getaddresses is known
#: to return just the addr-specs (test_headers_text.py compares the two)
_SIMPLE_MAILBOXES: Final = re.compile(
    rf"[ \t]*(?:[A-Za-z0-9 \t]*<[ \t]*(?P<angle>{_SIMPLE_ADDR})[ \t]*>|(?P<bare>{_SIMPLE_ADDR}))"
    rf"[ \t]*(?:,|$)"
)


def _addr_specs(values: list[str]) -> list[str]:
    """The addr-spec of every address in ``values``, as ``email.utils.getaddresses``."""
    if not values:
        # none, from the interpreted parser that half the callers (absent headers) ran
        # for its answer, [] (10,000 instructions a call)
        return []
    if len(values) == 1 and len(values[0]) <= 1024:
        # one value, remembered: mail names the same few (our address, the bouncing
        # MTA's) in To, From and Delivered-To, which three readers ask for each
        # (1,240 of the backlog's 1,730 such lists were repeats, 5,000 instructions each)
        return list(_one_addr_specs(values[0]))
    return _parse_addr_specs(values)


@functools.lru_cache(maxsize=1024)
def _one_addr_specs(value: str) -> tuple[str, ...]:
    return tuple(_parse_addr_specs([value]))


def _parse_addr_specs(values: list[str]) -> list[str]:
    """:func:`_addr_specs`, not remembered."""
    joined = ", ".join(values)
    fast: list[str] = []
    pos = 0
    while pos < len(joined):
        match = _SIMPLE_MAILBOXES.match(joined, pos)
        if match is None or match.end() == pos:
            break
        fast.append(match.group("angle") or match.group("bare"))
        pos = match.end()
    else:
        if fast:
            return fast
    try:
        return [addr for _name, addr in email.utils.getaddresses(values)]
    except Exception:
        return []


def decode_payload(part: Message, limit: int = TEXT_LIMIT) -> str:
    """Text of one leaf part, whatever its transfer encoding and declared charset.

    Unknown or lying charsets fall back to UTF-8, then Latin-1 (which never fails), so a
    request written in a badly labelled charset is still read.
    """
    view = _part_view(part)
    payloads = view.payloads
    if payloads is None:
        payloads = {}
        if view.mark is not None:
            view.payloads = payloads
    text = payloads.get(limit)
    if text is None:
        text = payloads[limit] = _decode_payload(part, limit)
    return text


def _decode_payload(part: Message, limit: int) -> str:
    try:
        payload = _payload_bytes(part)
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


#: transfer encodings that ``Message.get_payload(decode=True)`` leaves as they are
_IDENTITY_CTE: Final = frozenset({"7bit", "8bit", "binary"})


def _payload_bytes(part: Message) -> Any:
    """``part.get_payload(decode=True)``; in compiled code for the common leaf, a string
    payload under no transfer encoding (or 7bit, 8bit, binary), which it returns encoded
    as it is: the interpreted method cost 14,000 instructions a part (and 2.2 M for the
    backlog's 140 parts of 8-bit text); test_message_shortcuts.py compares the two."""
    payload = cast(Any, part)._payload
    if type(payload) is str and part.policy is _POLICY:
        found = _first_field(cast(Any, part)._headers, "content-transfer-encoding")
        value = "" if found is None else found[1]
        if not value or (type(value) is str and value.isascii() and value.lower() in _IDENTITY_CTE):
            if payload.isascii():
                return payload.encode("ascii")
            # 8-bit text as the parser keeps it, its bytes over 0x7f as surrogates:
            # get_payload() finds one and encodes with surrogateescape too (a text with
            # other characters than those fails here, and is left to it)
            try:
                return payload.encode("ascii", "surrogateescape")
            except UnicodeEncodeError:
                pass
    return part.get_payload(decode=True)


def _charset(part: Message) -> str | None:
    found = _first_content_type(part)
    if found is not None:
        return _charset_of(*found)
    if _without_content_type(part):
        return None  # get_content_charset(): no parameter, no charset
    return _own_charset(part)


@functools.lru_cache(maxsize=512)
def _charset_of(name: str, value: str) -> str | None:
    return _own_charset(_alone(name, value))


def _own_charset(part: Message) -> str | None:
    try:
        name = part.get_content_charset()
    except Exception:
        return None
    if not name:
        return None
    return _codec_name(name) if len(name) <= 64 else _codec_name.__wrapped__(name)


@functools.lru_cache(maxsize=512)
def _codec_name(name: str) -> str | None:
    """``codecs.lookup(name).name``, remembered: an unknown name is searched for afresh
    (an import attempt) on every lookup, and spam repeats the same invented ones."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def content_type(part: Message) -> str:
    """Lower-case content type; ``text/plain`` for anything unreadable (RFC 2045 default)."""
    view = _part_view(part)
    ctype = view.ctype
    if ctype is not None:
        return ctype
    try:
        ctype = _ctype(part)
    except Exception:
        ctype = "text/plain"
    if "\n" in ctype or "\r" in ctype:  # a folded raw value: unfold as the modern policy does
        ctype = ctype.replace("\r", "").replace("\n", "")
    if view.mark is not None:
        view.ctype = ctype
    return ctype


def param(part: Message, name: str) -> str:
    """A Content-Type parameter such as ``report-type``, lower-cased."""
    view = _part_view(part)
    hit = view.get("param", name)
    if hit is _MISSING:
        hit = _param(part, name)
        view.put("param", name, hit)
    return str(hit)


def _param(part: Message, name: str) -> str:
    found = _first_content_type(part)
    if found is not None:
        return _param_of(*found, name)
    if _without_content_type(part):
        return ""  # get_param(): no Content-Type, no parameter
    return _own_param(part, name)


@functools.lru_cache(maxsize=512)
def _param_of(header_name: str, value: str, name: str) -> str:
    return _own_param(_alone(header_name, value), name)


def _own_param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    return value.lower() if isinstance(value, str) else ""


def is_attachment(part: Message) -> bool:
    """True for parts the writer attached rather than wrote."""
    if part.policy is _POLICY and (
        _first_field(cast(Any, part)._headers, "content-disposition") is None
    ):
        # no Content-Disposition, the disposition is None: what most parts have, read
        # without the interpreted get_content_disposition() (6,000 instructions a part)
        return False
    try:
        disposition = part.get_content_disposition()
    except Exception:
        return False
    return disposition == "attachment"


def children(part: Message) -> list[Message]:
    """Sub-parts of a multipart or message/* part; an empty list for anything else."""
    try:
        # what is_multipart() tests and get_payload() then returns, read in compiled
        # code: the two interpreted calls cost 1,400 instructions a part (a leaf's
        # get_payload() could decode the whole body besides)
        payload = cast(Any, part)._payload
    except Exception:
        return []
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def walk(part: Message, depth: int = 0) -> Iterator[Message]:
    """Every part, depth-first, with a depth cap against hostile nesting."""
    if depth == 0:
        return iter(memoized("walk", part, _walked))
    return _walk(part, depth)


def _walked(part: Message) -> tuple[Message, ...]:
    """``tuple(_walk(part, 0))``, collected by plain calls: the recursive generator's
    frames cost twice as much (test_message_shortcuts.py compares the two)."""
    out: list[Message] = []
    _collect_parts(part, 0, out)
    return tuple(out)


def _collect_parts(part: Message, depth: int, out: list[Message]) -> None:
    out.append(part)
    if depth < 20:
        for child in children(part):
            _collect_parts(child, depth + 1, out)


def _walk(part: Message, depth: int) -> Iterator[Message]:
    yield part
    if depth >= 20:
        return
    for child in children(part):
        yield from _walk(child, depth + 1)


def own_text(msg: Message, limit: int = TEXT_LIMIT) -> str:
    """What the sender wrote: the first plain-text body, else the HTML body as text.

    Attached messages (forwards, the original in a bounce) are not the writer's words
    and are left out, so a quoted newsletter footer cannot speak for the sender.
    """
    view = _part_view(msg)
    hit = view.get("own_text", limit)
    if hit is _MISSING:
        hit = _own_text(msg, limit)
        view.put("own_text", limit, hit)
    return str(hit)


def _own_text(msg: Message, limit: int) -> str:
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
    view = _part_view(msg)
    hit = view.get("all_text", limit)
    if hit is _MISSING:
        hit = _all_text(msg, limit)
        view.put("all_text", limit, hit)
    return str(hit)


def _all_text(msg: Message, limit: int) -> str:
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
        items = rendered_items(msg)
    except Exception:
        return ""
    return "\n".join(f"{name}: {value}" for name, value in items)


#: characters that ``re.IGNORECASE`` matches to an ASCII letter but ``str.lower`` does not
#: map to one character (U+0130 lower-cases to two), checked in test_headers_text.py
_CASELESS_CHARS: Final = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"), ("\u212a", "k"))


def caseless(text: str) -> str:
    """``text`` lower-cased so that a lower-case ASCII pattern *without* ``re.IGNORECASE``
    matches it exactly where the pattern *with* the flag matches ``text``, at the same
    offsets (case-insensitive alternations are many times slower in ``re``)."""
    # the same texts are lowered by several detectors; only modest ones are remembered
    return _caseless_cached(text) if len(text) <= _CACHE_TEXT else _caseless(text)


_CACHE_TEXT: Final = 64 * 1024


def caseless_once(text: str) -> str:
    """:func:`caseless` for a text read once (a line): not remembered, so it evicts none
    of the texts that are."""
    return _caseless(text)


@functools.lru_cache(maxsize=32)
def _caseless_cached(text: str) -> str:
    return _caseless(text)


def _caseless(text: str) -> str:
    if text.isascii():
        return text.lower()
    for char, replacement in _CASELESS_CHARS:
        if char in text:
            text = text.replace(char, replacement)
    return lower(text)  # not text.lower(): compiled, a final capital sigma came out "σ"


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
        #: past Outlook's reply header: the original follows in sibling blocks
        self._below_reply = False

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
            if "divrplyfwdmsg" in classes or "appendonsend" in classes:
                # Outlook on the web closes its "From: … Sent: …" block before the
                # original message, which follows outside any quote container: all of
                # it is quoted (a "Stop sending money …" there is the newsletter's)
                self._below_reply = True

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
        if (self._quote or self._below_reply) and not self._current:
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
