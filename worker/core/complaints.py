"""Feedback-loop complaint reports (ARF, RFC 5965) and SES complaint notifications.

A complaint means a recipient pressed "this is spam": that recipient — never the
report's sender, which is the mailbox provider — must stop getting promotional mail.
Providers often redact ``Original-Rcpt-To``; then the attached original's ``To``, or
the opt-out token our own List-Unsubscribe header carried, names the person.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass
from email.message import Message
from typing import Any, Final

from worker.core.addresses import lower
from worker.core.bounces import ses_notification
from worker.core.message import (
    all_text,
    children,
    content_type,
    decode_payload,
    header,
    header_items,
    headers,
    normalised,
    param,
    walk,
)
from worker.core.signals import list_unsubscribe_tokens
from worker.core.signals import tokens as message_tokens

_FEEDBACK_TYPE: Final = re.compile(r"^feedback-type\s*:\s*([\w-]+)", re.IGNORECASE | re.MULTILINE)
_RCPT_TO: Final = re.compile(r"^original-rcpt-to\s*:\s*<?([^>\s]+)>?", re.IGNORECASE | re.MULTILINE)
_ORIGINAL_TO: Final = re.compile(r"^to\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_LIST_UNSUB: Final = re.compile(r"^list-unsubscribe\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_JMRP_RECIPIENT: Final = re.compile(r"^x-hmxmroriginalrecipient\s*:\s*(\S+)", re.I | re.M)
#: _JMRP_RECIPIENT after the first line: led by its newline, which "re" skips to, where
#: the "^" of _JMRP_RECIPIENT was tried at every offset of every original's headers
_JMRP_LINE: Final = re.compile(r"\n" + _JMRP_RECIPIENT.pattern[1:], re.I)
_REDACTED: Final = re.compile(r"^(?:x+|\*+|redacted|removed|hidden|anonymi[sz]ed)$", re.IGNORECASE)
#: feedback types after which we stop promotional mail to the complainant
SUPPRESSING_TYPES = frozenset({"abuse", "opt-out", "optout", "fraud"})
#: reports about mail authentication, not about a person's wish
MACHINE_TYPES = frozenset({"auth-failure", "not-spam"})


@dataclass(frozen=True)
class Complaint:
    """A recognised complaint report."""

    feedback_type: str
    complainants: tuple[str, ...]
    tokens: tuple[str, ...]
    evidence: tuple[str, ...]

    @property
    def suppresses(self) -> bool:
        return self.feedback_type in SUPPRESSING_TYPES


def detect_complaint(msg: Message, *, ours: frozenset[str] = frozenset()) -> Complaint | None:
    """The complaint ``msg`` reports, or None when it is not a feedback report.

    ``ours``: our own addresses, never a complainant: the original's To may be our list
    address (its readers in Bcc), and the token then says who complained."""
    report = _feedback_part(msg)
    if report is None:
        return _ses_complaint(msg) or _jmrp(msg) or _client_unsubscribe(msg)
    match = _FEEDBACK_TYPE.search(report)
    # lower(), not .lower(): a final capital sigma came out "σ" compiled (see there)
    feedback_type = lower(match.group(1)) if match else "other"
    evidence = [f"ARF report Feedback-Type: {feedback_type}"]
    complainants = _rcpt_to(report)
    original = _original_headers(msg)
    if ours:
        complainants = tuple(a for a in complainants if a not in ours)
    if complainants:
        evidence.append("complainant from Original-Rcpt-To")
    else:
        # Microsoft's reports name the complainant in the original's own header, also in
        # ARF format; it is the mailbox that pressed the button, where the To may be a
        # list, an alias or redacted
        complainants = _jmrp_recipients(original)
        if complainants:
            evidence.append("complainant from the attached original's X-HmXmrOriginalRecipient")
        else:
            complainants = tuple(a for a in _original_recipients(original) if a not in ours)
            if complainants:
                evidence.append("complainant from the attached original's To")
    found_tokens = list_unsubscribe_tokens(_LIST_UNSUB.findall(original))
    if found_tokens and not complainants:
        evidence.append("complainant from the token in the original's List-Unsubscribe")
    return Complaint(feedback_type, complainants, found_tokens, tuple(evidence))


def _feedback_part(msg: Message) -> str | None:
    """Text of the machine-readable feedback part, if this is a feedback report."""
    is_report = content_type(msg) == "multipart/report" and param(msg, "report-type") in {
        "feedback-report",
        "",
    }
    for part in walk(msg):
        if content_type(part) == "message/feedback-report":
            subs = children(part)
            if subs:
                return "\n".join(f"{k}: {v}" for sub in subs for k, v in _items(sub))
            return decode_payload(part)
    if is_report and param(msg, "report-type") == "feedback-report":
        return all_text(msg)
    return None


def _items(part: Message) -> list[tuple[str, str]]:
    # Any, not what the stubs promise (str): a value holding 8-bit bytes comes back as an
    # email.header.Header, and the compiled module checks every value against the stubs'
    # type, so one such byte in "Arrival-Date" made it drop every field of the report
    # (and the complaint its Feedback-Type), where the source read them all
    items: Any = header_items(part)
    try:
        return [(str(k), str(v)) for k, v in items]
    except Exception:
        return []


def _rcpt_to(report: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in _RCPT_TO.findall(report):
        local = value.partition("@")[0]
        addr = None if _REDACTED.match(local) else normalised(value)
        if addr and addr not in out:
            out.append(addr)
    return tuple(out)


def _original_headers(msg: Message) -> str:
    """Header block of the attached original (message/rfc822 or text/rfc822-headers).

    A message/rfc822 part may come base64-encoded (RFC 2046 forbids it, some feedback
    loops do it): the parser keeps it as an opaque payload, whose decoded header block
    is read instead.
    """
    for part in walk(msg):
        ctype = content_type(part)
        if ctype == "message/rfc822":
            encoding = header(part, "Content-Transfer-Encoding").strip().lower()
            subs = children(part)
            if encoding in ("base64", "quoted-printable") and not (subs and _items(subs[0])):
                # encoded: the parser found no header in it (base64 has no colon)
                return _header_block(_decoded(subs[0] if subs else part, encoding))
            for sub in subs:
                return "\n".join(f"{k}: {v}" for k, v in _items(sub))
            return _header_block(decode_payload(part))
        if ctype == "text/rfc822-headers":
            return _header_block(decode_payload(part))
    return ""


def _decoded(part: Message, encoding: str) -> str:
    """The text of an encoded message/rfc822 part, which the parser took for the body of
    a message without headers, kept as it came."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return ""
    data = payload.encode("ascii", "replace")
    try:
        decoded = base64.b64decode(data) if encoding == "base64" else quopri.decodestring(data)
    except (binascii.Error, ValueError):
        return ""
    return decoded.decode("utf-8", "replace")


def _header_block(text: str) -> str:
    """The lines before the first empty one, continuation lines unfolded."""
    text = text.lstrip("\r\n")
    # re.split(r"\r?\n[ \t]*\r?\n", text, maxsplit=1)[0]: that pattern, which "re" tried
    # at every offset, matches first where this one (led by a newline, which "re" skips
    # to) does, or one earlier at a carriage return
    blank = _BLANK_LINE.search(text)
    if blank is not None:
        end = blank.start()
        text = text[: end - 1 if end and text[end - 1] == "\r" else end]
    if "\n " not in text and "\n\t" not in text:
        return text.replace("\r", "")  # no continuation line (most header blocks)
    return _CONTINUATION.sub(" ", text).replace("\r", "")


_BLANK_LINE: Final = re.compile(r"\n[ \t]*\r?\n")
#: r"\r?\n[ \t]+", the same matches, with a first character for "re" to skip to
_CONTINUATION: Final = re.compile(r"(?:\r\n|\n)[ \t]+")


def _jmrp_recipients(original: str) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(a for a in (normalised(v) for v in _JMRP_RECIPIENT.findall(original)) if a)
    )


def _original_recipients(original: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in _ORIGINAL_TO.findall(original):
        for candidate in re.findall(r"[^\s<>,;\"']+@[^\s<>,;\"']+", value):
            local = candidate.partition("@")[0]
            addr = None if _REDACTED.match(local) else normalised(candidate)
            if addr and addr not in out:
                out.append(addr)
    return tuple(out)


def _ses_complaint(msg: Message) -> Complaint | None:
    """An Amazon SES complaint notification delivered by mail (SNS email subscription)."""
    try:
        if content_type(msg) != "text/plain" or not any(
            "amazon" in v.lower() or "sns" in v.lower()
            for v in headers(msg, "From") + headers(msg, "x-amz-sns-message-id")
        ):
            return None
    except Exception:
        return None
    ses = ses_notification(decode_payload(msg))
    if ses is None or ses[0] != "Complaint":
        return None
    complaint = ses[1].get("complaint")
    if not isinstance(complaint, dict):
        return None
    addresses = [
        normalised(item["emailAddress"])
        for item in complaint.get("complainedRecipients") or []
        if isinstance(item, dict) and isinstance(item.get("emailAddress"), str)
    ]
    feedback = lower(str(complaint.get("complaintFeedbackType") or "abuse"))  # see above
    found = tuple(a for a in addresses if a)
    return Complaint(feedback, found, (), ("Amazon SES complaint notification",))


def _jmrp(msg: Message) -> Complaint | None:
    """Microsoft's JMRP: the original attached, the recipient in X-HmXmrOriginalRecipient."""
    original = _original_headers(msg)
    if not _JMRP_RECIPIENT.match(original) and not _JMRP_LINE.search(original):
        return None  # no _JMRP_RECIPIENT.search(original)
    addresses = _jmrp_recipients(original)
    tokens = list_unsubscribe_tokens(_LIST_UNSUB.findall(original))
    return Complaint(
        "abuse", addresses, tokens, ("Microsoft JMRP complaint (X-HmXmrOriginalRecipient)",)
    )


def _client_unsubscribe(msg: Message) -> Complaint | None:
    """Apple Mail's one-button unsubscribe: a machine-sent opt-out on the user's behalf.

    It is machine mail (``Auto-Submitted``), so never an ``unsubscribe``; it is handled
    like an ``opt-out`` feedback report whose complainant is the From address.
    """
    values = [v.lower() for v in headers(msg, "X-Apple-Unsubscribe")]
    if "true" not in values:
        return None
    senders = tuple(a for a in (normalised(v) for v in _from_addresses(msg)) if a)
    # sent to the List-Unsubscribe mailto: its token says whose newsletter it was, so a
    # forwarded one (somebody else's token) is seen for what it is (see core.plan)
    return Complaint("opt-out", senders, message_tokens(msg), ("header X-Apple-Unsubscribe: true",))


def _from_addresses(msg: Message) -> list[str]:
    return re.findall(r"[^\s<>,;\"']+@[^\s<>,;\"']+", " ".join(headers(msg, "From")))
