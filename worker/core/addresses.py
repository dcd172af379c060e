"""Email addresses as the suppression list sees them.

A suppression must match however the address is written later (``A@Example.COM``,
an IDNA domain in Unicode or punycode), so every address is reduced to one canonical
form before it is stored, hashed or compared. The local part is lower-cased as well:
RFC 5321 allows case-sensitive local parts, but no mailbox provider in practice uses
them and treating ``John@`` and ``john@`` as two people would let an opt-out miss.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Final

from worker.errors import InvalidAddress

#: ``str.lower`` itself, called through a name: mypyc compiles ``text.lower()`` to a
#: routine of its own, which on Python 3.11 maps a non-ASCII text one code point at a
#: time and so misses str.lower's one context rule (a capital sigma that ends a word
#: becomes "ς", not "σ"): compiled, "ΟΔΟΣ@example.gr" was "οδοσ@…", "οδος@…" from source
_STR_LOWER: Callable[[str], str] = str.lower


def lower(text: str) -> str:
    """``text.lower()``, the same compiled as in Python (see ``_STR_LOWER``)."""
    return text.lower() if text.isascii() else _STR_LOWER(text)


_MAX_LENGTH: Final = 320


# The plain shape most addresses have: dot-atoms of letters, digits, "_", "+" and "-"
# (at most 64 of them before the "@", RFC 5321), and a domain of LDH labels ending in an
# alphabetic TLD that is not a special-use name (RFC 6761: "test", "localhost", …, which
# email_validator refuses). Anything else (quotes, Unicode, punycode, odd punctuation,
# mailto:) goes to email_validator, which knows the rules; a property test holds the two
# paths to the same answers. The whole check is one regex, because the bulk check runs it
# 100,000 times a call.
#: email_validator's SPECIAL_USE_DOMAIN_NAMES, written out: importing email_validator
#: compiles its grammar (20 ms), which every `optout` command paid at start while only
#: unusual addresses need it (it is imported by :func:`full_normalise`); a unit test
#: holds the two lists equal
SPECIAL_USE_DOMAIN_NAMES = ("arpa", "invalid", "local", "localhost", "onion", "test")
_SPECIAL_TLDS: Final = sorted(
    (name for name in SPECIAL_USE_DOMAIN_NAMES if "." not in name), key=len, reverse=True
)
#: multi-label special-use names (none in email_validator today) are checked by suffix
_SPECIAL_MULTI: Final = tuple(
    sep + name for name in SPECIAL_USE_DOMAIN_NAMES if "." in name for sep in ".@"
)
_PLAIN: Final = re.compile(
    r"(?=[^@]{1,64}@)"
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?!(?:" + "|".join(map(re.escape, _SPECIAL_TLDS)) + r")\Z)[a-z]{2,63}"
)


def _plain(text: str) -> bool:
    """True when ``text`` (stripped, lower-cased) is already in canonical form."""
    return bool(
        text.isascii()
        and len(text) <= 254
        and "--" not in text
        and _PLAIN.fullmatch(text)
        and not text.endswith(_SPECIAL_MULTI)
    )


def normalise(raw: str) -> str:
    """Return the canonical form of ``raw`` or raise :class:`InvalidAddress`.

    Plain addresses (most of any list) take a fast path, ten times quicker than the full
    validation that every other address goes through: bulk checks and imports normalise
    100,000 addresses a call.
    """
    text = raw.strip().lower()
    if _plain(text):
        return text
    return full_normalise(raw)


def hashes_of(raws: Iterable[str]) -> list[str | None]:
    """``hash_of(raw)`` for each of ``raws``, or ``None`` where ``raw`` is not an address.

    The bulk check's inner loop: the same answers as :func:`hash_of` one by one (a test
    holds them together), with the fast path inlined, since it runs 100,000 times a call.
    """
    out: list[str | None] = []
    append, match, sha256 = out.append, _PLAIN.fullmatch, hashlib.sha256
    multi = _SPECIAL_MULTI
    for raw in raws:
        text = raw.strip().lower()
        if (
            text.isascii()
            and len(text) <= 254
            and "--" not in text
            and match(text)
            and not text.endswith(multi)
        ):
            append(sha256(text.encode()).hexdigest())
            continue
        try:
            append(address_hash(full_normalise(raw)))
        except InvalidAddress:
            append(None)
    return out


def full_normalise(raw: str) -> str:
    """The reference normalisation, through email-validator.

    Accepts an optional ``mailto:`` prefix and angle brackets, because addresses are
    pasted from headers and List-Unsubscribe values by ops.
    """
    text = raw.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not text:
        raise InvalidAddress("empty")
    if len(text) > _MAX_LENGTH:
        raise InvalidAddress(f"longer than {_MAX_LENGTH} characters")
    # here, not at the top: see SPECIAL_USE_DOMAIN_NAMES
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=True,
            allow_domain_literal=False,
            allow_display_name=False,
        )
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{_printable(text)} ({exc})") from None
    local = lower(unicodedata.normalize("NFC", info.local_part))  # not .lower(): see lower
    domain = (info.ascii_domain or info.domain).lower()
    return f"{local}@{domain}"


def is_valid(raw: str) -> bool:
    """True when ``raw`` normalises; for filters that must not raise."""
    try:
        normalise(raw)
    except InvalidAddress:
        return False
    return True


def address_hash(normalised: str) -> str:
    """SHA-256 hex of the normalised address.

    Unsalted on purpose: marketing systems hash their own lists the same way to compare
    with a hashed export, and tombstones must match a later re-import of the address.
    """
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=4096)
def recent_address_hash(normalised: str) -> str:
    """:func:`address_hash`, remembered for the addresses seen last.

    For intake's commit, where one message's address is hashed for its ledger row, its
    audit events, its request, its evidence key and its suppression: four of every five
    digests were repeats. Not for a bulk check, whose addresses are each new and would
    only churn the cache.
    """
    return address_hash(normalised)


def hash_of(raw: str) -> str:
    """Normalise then hash: the key every lookup uses."""
    return address_hash(normalise(raw))


def mask(address: str) -> str:
    """``john@example.com`` → ``j***@example.com``: enough for ops to tell rows apart."""
    local, sep, domain = address.rpartition("@")
    if not sep:
        return "***"
    first = local[:1] if local else ""
    return f"{first}***@{domain}"


_EMAIL_RE: Final = re.compile(
    r"[^\s<>\"'(),;:@]+@[A-Za-z0-9.\-\u0080-\uffff]+\.[A-Za-z\u0080-\uffff]{2,}"
)


def mask_in_text(text: str) -> str:
    """Mask every address-looking substring; the log processor's safety net."""
    return _EMAIL_RE.sub(lambda m: mask(m.group(0)), text)


def _printable(text: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return repr(shown)
