"""The List-Unsubscribe and List-Unsubscribe-Post headers for one promotional message.

What the RFCs ask and how this builder meets it:

* RFC 2369: the value is a comma-separated list of URIs, each in angle brackets, in order
  of preference; whitespace inside a URI is not allowed (a reader removes it), so the only
  folding point is the space after each comma.
* RFC 8058 section 3.1: List-Unsubscribe MUST contain one HTTPS URI (we put it first, so
  clients that take the first usable one pick the one-click link) and MAY add a mailto;
  List-Unsubscribe-Post MUST contain exactly ``List-Unsubscribe=One-Click``. The message
  also needs a valid DKIM signature covering both headers — that is the sending mail
  system's job, and mail clients ignore one-click without it. The HTTPS endpoint must not
  redirect and must not rely on cookies or authorisation (see ``worker.api``).

The values are returned unfolded, as single ASCII lines: the caller's mail library folds
them (Python's ``email`` package refuses header values that contain line breaks), and the
", " between URIs gives it a place to fold. A URI cannot be folded, and a token-bearing URI
is longer than the 78 characters RFC 5322 recommends per line, so it must be allowed the
998 characters the RFC permits: with its default 78, Python's ``email`` turns the whole
header into RFC 2047 encoded-words (``=?utf-8?q?=3Chttps...``), which no mail client reads
as a URI. Build outgoing messages with :data:`MAIL_POLICY`.
"""

from __future__ import annotations

import ipaddress
import re
from email.policy import SMTP
from urllib.parse import urlsplit

from worker.errors import ConfigError

LIST_UNSUBSCRIBE = "List-Unsubscribe"
LIST_UNSUBSCRIBE_POST = "List-Unsubscribe-Post"
ONE_CLICK = "List-Unsubscribe=One-Click"
#: RFC 5321 section 4.5.3.1.1: the longest local part every server must accept
MAX_LOCAL_PART_OCTETS = 64
#: RFC 5322 section 2.1.1: no line may exceed 998 characters; one URI must fit on a line
#: together with the field name, since a URI cannot be folded
_MAX_LINE = 998

#: the email policy for messages carrying these headers: CRLF line ends, and long lines
#: left whole (up to 998) rather than mangled into encoded-words; see the module docstring
MAIL_POLICY = SMTP.clone(max_line_length=_MAX_LINE)

_URL_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_MAILTO_TOKEN_RE = re.compile(r"^[A-Za-z2-7]+$")
_LOCAL_RE = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def unsubscribe_headers(
    *,
    public_url: str,
    mailto_domain: str | None,
    mailto_local: str = "unsubscribe",
    url_token: str,
    mailto_token: str | None,
) -> dict[str, str]:
    """Both headers for one message: ``{"List-Unsubscribe": …, "List-Unsubscribe-Post": …}``.

    ``public_url`` is the base of the links (``[http] public_url``), possibly with a path
    prefix; the link is ``{public_url}/u/{url_token}``. It must be ``https://`` because
    RFC 8058 one-click requires an HTTPS URI and mailbox providers ignore anything else;
    ``http://`` is accepted only for a loopback host (``127.0.0.0/8``, ``::1``,
    ``localhost``), so the example configuration works on a developer machine and a
    production configuration cannot silently send links no client will use.

    The mailto URI ``mailto:{mailto_local}+{mailto_token}@{mailto_domain}`` is added when
    both ``mailto_domain`` and ``mailto_token`` are given (giving only one is a bug). Its
    local part is usually longer than the 64 octets RFC 5321 guarantees; servers are asked
    not to enforce that limit and most do not, but the HTTPS URI is the one that must work.

    Raises :class:`ConfigError` for an unusable ``public_url`` or mailto setting and
    :class:`ValueError` for a malformed token (a caller bug, not a user mistake).
    """
    if not _URL_TOKEN_RE.fullmatch(url_token):
        raise ValueError("url_token is not a base64url token")
    uris = [f"<{_link_base(public_url)}/u/{url_token}>"]
    if (mailto_domain is None) != (mailto_token is None):
        raise ValueError("mailto_domain and mailto_token must be given together")
    if mailto_domain is not None and mailto_token is not None:
        if not _MAILTO_TOKEN_RE.fullmatch(mailto_token):
            raise ValueError("mailto_token is not a base32 token")
        _check_mailto(mailto_local, mailto_domain)
        uris.append(f"<mailto:{mailto_local}+{mailto_token}@{mailto_domain}>")
    room = _MAX_LINE - len(f"{LIST_UNSUBSCRIBE}: ,")
    for uri in uris:
        if len(uri) > room:
            raise ValueError(f"an unsubscribe URI of {len(uri)} characters cannot fit a line")
    return {LIST_UNSUBSCRIBE: ", ".join(uris), LIST_UNSUBSCRIBE_POST: ONE_CLICK}


def mailto_local_part(token: str, mailto_local: str = "unsubscribe") -> str:
    """The local part a reply goes to; compare its length with MAX_LOCAL_PART_OCTETS."""
    return f"{mailto_local}+{token}"


def is_loopback_host(host: str) -> bool:
    """True for hosts that only this machine can reach (RFC 6761 ``localhost`` too)."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _link_base(public_url: str) -> str:
    """Validate ``public_url`` and return it without a trailing slash."""
    if not public_url.isascii():
        raise ConfigError(
            f"http.public_url {public_url!r} must be ASCII (write an IDN host in punycode)"
        )
    parts = urlsplit(public_url)
    host = parts.hostname or ""
    if not host or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(
            f"http.public_url {public_url!r} must be a plain base URL like https://example.com"
        )
    if any(ch.isspace() or ch in '<>",' for ch in public_url):
        raise ConfigError(f"http.public_url {public_url!r} contains a character URIs cannot")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"http.public_url {public_url!r} must use https: RFC 8058 one-click needs an "
            "HTTPS link (plain http is allowed only for a loopback host)"
        )
    if parts.scheme not in ("https", "http"):
        raise ConfigError(f"http.public_url {public_url!r} must start with https://")
    return public_url.rstrip("/")


def _check_mailto(local: str, domain: str) -> None:
    if "+" in local or not _LOCAL_RE.fullmatch(local):
        raise ConfigError(
            f"unsubscribe mailbox local part {local!r} may use only A-Z a-z 0-9 . _ - "
            "('+' separates the token)"
        )
    if not _DOMAIN_RE.fullmatch(domain):
        raise ConfigError(
            f"unsubscribe mailbox domain {domain!r} is not an ASCII domain name "
            "(write an IDN domain in punycode)"
        )
