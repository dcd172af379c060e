"""Header values as the modern ``email.policy.default`` would show them, only cheaper.

The classifier parses with ``compat32`` (raw header strings) because the header
registry of the modern policy costs more than everything else classification does. The
text it reads must still be exactly what the registry would give (decoded RFC 2047
words, re-rendered address lists, reformatted dates): evidence strings and the corpus
figures depend on it. :func:`render` therefore handles the plain, common shapes itself
with rules that give the registry's output (``tests/unit/test_headers_text.py`` checks
them against the registry), and hands anything else — encoded words, 8-bit bytes,
comments, groups, MIME parameter headers — to the registry itself, memoised.
"""

from __future__ import annotations

import email.policy
import email.utils
import functools
import re
from typing import Final

#: the registry's header classes, by lower-case name (others are unstructured)
_ADDRESS: Final = frozenset(
    {"sender", "resent-sender", "to", "resent-to", "cc", "resent-cc", "bcc", "resent-bcc",
     "from", "resent-from", "reply-to"}
)  # fmt: skip
_DATE: Final = frozenset({"date", "resent-date", "orig-date"})
_REGISTRY_ONLY: Final = frozenset(
    {"mime-version", "content-type", "content-disposition", "content-transfer-encoding"}
)
#: RFC 5322 specials: a display name holding one is quoted when rendered
_SPECIALS: Final = frozenset('()<>@,:;."[]')
_LINESEP: Final = re.compile(r"\n|\r")

_ATEXT: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]"
_DOT_ATOM: Final = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_DOMAIN: Final = r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
_ADDR_SPEC: Final = rf"{_DOT_ATOM}@{_DOMAIN}"
#: one mailbox: ``addr``, ``<addr>``, ``Name <addr>`` or ``"Name" <addr>``, plain ASCII
_MAILBOX: Final = re.compile(
    rf"""[ \t]*(?:
        (?P<bare>{_ADDR_SPEC})
      | (?:"(?P<quoted>[ !#-\[\]-~]*)"|(?P<atoms>{_ATEXT}+(?:[ \t]+{_ATEXT}+)*))?
        [ \t]*<[ \t]*(?P<angle>{_ADDR_SPEC})[ \t]*>
    )[ \t]*""",
    re.VERBOSE,
)
_MSG_ID: Final = re.compile(rf"[ \t]*<{_DOT_ATOM}@{_DOT_ATOM}>[ \t]*")


def render(name: str, value: str) -> str:
    """``str()`` of the modern policy's header object for ``name: value``.

    Raises whatever the registry raises for a value it cannot take (callers treat that
    as the modern policy's ``get_all`` raising).
    """
    if "\n" in value or "\r" in value:
        value = "".join(_LINESEP.split(value))
    if not value.isascii() or "=?" in value:  # 8-bit bytes or RFC 2047 encoded words
        return _registry(name, value)
    lname = name.lower()
    if lname in _ADDRESS:
        fast = _address_list(value)
        return fast if fast is not None else _registry(name, value)
    if lname in _REGISTRY_ONLY:
        return _registry(name, value)
    if lname in _DATE:
        return _date(value)
    if lname == "message-id":
        return value if _MSG_ID.fullmatch(value) else _registry(name, value)
    return value


def _registry(name: str, value: str) -> str:
    if len(value) > 2048:  # rare and large: not worth remembering
        return str(email.policy.default.header_factory(name, value))
    return _registry_cached(name, value)


@functools.lru_cache(maxsize=2048)
def _registry_cached(name: str, value: str) -> str:
    return str(email.policy.default.header_factory(name, value))


def _date(value: str) -> str:
    """The registry's date header: reformatted when it parses, else as written."""
    if not value:
        return ""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except ValueError:
        return value
    return email.utils.format_datetime(parsed)


def _address_list(value: str) -> str | None:
    """A list of plain mailboxes rendered as the registry does; None for anything else."""
    # remembered: To and Cc name the same few mailboxes (ours) in message after message,
    # and a list costs a regex match and a rendering per address (12,800 instructions
    # a list on the intake benchmark, 40 % of them repeats)
    return _address_list_cached(value) if len(value) <= 1024 else _render_addresses(value)


@functools.lru_cache(maxsize=1024)
def _address_list_cached(value: str) -> str | None:
    return _render_addresses(value)


def _render_addresses(value: str) -> str | None:
    out: list[str] = []
    for item in value.split(","):
        match = _MAILBOX.fullmatch(item)
        if match is None:
            return None
        # the four groups in one method call, not one a group (a new From costs a mailbox)
        bare, quoted, atoms, addr = match.group("bare", "quoted", "atoms", "angle")
        if bare is not None:
            out.append(bare)
            continue
        if quoted is not None:
            display = quoted
        elif atoms is not None:
            display = " ".join(atoms.split())
        else:
            display = ""
        if not display:
            out.append(addr)
        elif _SPECIALS.isdisjoint(display):
            out.append(f"{display} <{addr}>")
        else:
            out.append(f'"{display}" <{addr}>')
    return ", ".join(out)
