"""Delivery failure reports: is this a bounce, hard or soft, and who failed?

A hard bounce suppresses the failed recipient for every category, so the answer has to
be right for the zoo of real MTAs, not only for tidy RFC 3464 reports. Evidence is
taken in order of trust: the structured DSN fields (also when an MTA pastes them into a
text part), the Amazon SES notification JSON, ``X-Failed-Recipients``, flufl.bounce's
detectors (Mailman's decades of MTA quirks), then free-text heuristics. A DSN whose
recipients were all delivered/relayed/expanded is a success report, never a bounce.
"""

from __future__ import annotations

import email
import functools
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Final, cast

from worker.core.addresses import lower
from worker.core.message import (
    addresses_in,
    all_text,
    caseless,
    caseless_once,
    children,
    content_type,
    decode_payload,
    header,
    headers,
    normalised,
    walk,
)
from worker.core.phrases import AUTO_REPLY_SUBJECTS, BOUNCE_SUBJECTS
from worker.core.signals import TextSet, is_read_receipt
from worker.core.signals import finite_language as _finite_language

_FIELD: Final = re.compile(
    r"^(final-recipient|original-recipient|x-actual-recipient|action|status|diagnostic-code)"
    r"\s*:\s*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)
#: _FIELD for caseless() text (see the cue patterns below)
_FIELD_CASELESS: Final = re.compile(_FIELD.pattern, re.MULTILINE)
_ADDRESS: Final = re.compile(
    r"[A-Za-z0-9._%+\-=/!#$&'*^`{|}~]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
)
# The look-behinds come after the first character, not before it: the same matches as
# ``\b([245])…`` and ``(?<![\d.])([45])…``, but ``re`` can then skip ahead to a digit.
_STATUS: Final = re.compile(r"([245])(?<!\w[245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE: Final = re.compile(r"([45])(?<![\d.][45])\d\d(?:[ -]|$)")
_PERMANENT_CODE: Final = re.compile(r"5(?<!\w5)\.\d{1,3}\.\d{1,3}\b|5(?<![\d.]5)\d\d[ -]")
_SES: Final = re.compile(r'"notificationType"\s*:\s*"(Bounce|Complaint|Delivery)"')
# The cue patterns below are lower-case and searched in caseless() text: the same matches
# as with re.IGNORECASE on the original (see message.caseless), many times faster.
_FAILURE_CUES: Final = re.compile(
    r"user unknown|unknown user|no such user|does not exist|doesn't exist|not exist|"
    r"mailbox (?:unavailable|not found|is full|full)|recipient address rejected|"
    r"rejected|undeliverable|could not be delivered|couldn't be delivered|"
    r"permanent(?:ly)? (?:error|fail)|delivery (?:to the following|has failed|failed)|"
    r"following (?:address|recipient)|failed recipient|unable to deliver|not delivered|"
    r"invalid (?:recipient|address|mailbox)|unrouteable|host unknown|quota|"
    r"over quota|no mailbox|unknown (?:recipient|local|address)|retry time|"
    r"did not like|delivery error|error delivering|rcpt to|address error|failure reason|"
    r"error has occurred|error occurred|not a member|are not member|returned message|"
    r"message could not|delivery (?:problem|failure)|failed to deliver|malformed|"
    r"account (?:is|has been) disabled|temporary failure|is delayed|full mailbox|postponed|"
    r"unzustellbar|inexistant|inconnu|no existe|sconosciuto|onbekend|"
    # Russian, Japanese, Chinese and Korean notices that carry no code (Yandex, Mail.ru,
    # Japanese carriers, QQ/163): "could not be delivered", "delivery failed", "does not
    # exist", "mailbox full", "refused"
    r"не может быть доставлено|не удалось доставить|не доставлено|не существует|"
    r"переполнен|配信に失敗|配信できません|送信できません|届けることができません|宛先不明|"
    r"存在しません|受信拒否|投递失败|无法投递|发送失败|退信|不存在|已满|배달되지|전송 실패|"
    r"존재하지 않"
)
_SOFT_CUES: Final = re.compile(
    r"will (?:be )?retr|still trying|temporar|delayed|has not yet been delivered|"
    r"not yet been delivered|will continue|warning: message|deferred|try again later|"
    r"verzögert|noch nicht zugestellt|wird weiterhin versucht|retardé|pas encore été remis|"
    r"nouvelles tentatives|retrasad|aún no se ha entregado|se seguirá intentando|ritardat|"
    r"non è ancora stato consegnato|vertraagd|nog niet bezorgd|atrasad|ainda não foi entregue|"
    r"warning message only|"
    r"do not need to resend|"
    r"will be delivered when|"
    r"message d'avertissement|"
    r"pas besoin de renvoyer|"
    r"continuera d'essayer|"
    r"mensaje de aviso|"
    r"no es necesario reenviar|"
    r"todavía no ha podido|"
    r"bisher nicht|"
    r"weitere zustellversuche|"
    r"nicht erneut senden"
)


def _any_of(pattern: re.Pattern[str]) -> TextSet:
    """Whether ``pattern`` (finite, no flags) finds a match: any of its texts occurs."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        texts = _finite_language(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # pragma: no cover - a Python whose re internals differ
        return TextSet((), pattern)
    return TextSet(texts)


#: whether _FAILURE_CUES finds a cue (test_headers_text.py compares the two)
_ANY_FAILURE_CUE: Final = _any_of(_FAILURE_CUES)
#: the texts _SOFT_CUES can match, spelled out: whether one occurs is all _kind asks, and
#: a few substring scans answer that several times faster than the alternation (whose
#: first letters are among the commonest in English) searched at every offset
_SOFT_CUE_TEXTS: Final = (
    "will retr",
    "will be retr",
    "still trying",
    "temporar",
    "delayed",
    "not yet been delivered",  # also inside "has not yet been delivered"
    "will continue",
    "warning: message",
    "deferred",
    "try again later",
    # German, French, Spanish, Italian, Dutch and Portuguese delay notices (caseless
    # text: accents kept)
    "verzögert",
    "noch nicht zugestellt",
    "wird weiterhin versucht",
    "retardé",
    "pas encore été remis",
    "nouvelles tentatives",
    "retrasad",
    "aún no se ha entregado",
    "se seguirá intentando",
    "ritardat",
    "non è ancora stato consegnato",
    "vertraagd",
    "nog niet bezorgd",
    "atrasad",
    "ainda não foi entregue",
    "warning message only",
    "do not need to resend",
    "will be delivered when",
    "message d'avertissement",
    "pas besoin de renvoyer",
    "continuera d'essayer",
    "mensaje de aviso",
    "no es necesario reenviar",
    "todavía no ha podido",
    "bisher nicht",
    "weitere zustellversuche",
    "nicht erneut senden",
)
_HEADERISH: Final = re.compile(
    r"^\s*(?:message-id|references|in-reply-to|received|return-path|from|reply-to|sender|"
    r"x-[\w-]+|dkim-signature|authentication-results|list-[\w-]+|errors-to|arc-[\w-]+|"
    r"reporting-mta|received-from-mta|remote-mta|envelope-from|mail from)\s*:|"
    r"envelope-from|\bid\s+<?\S+@|"
    r"\bby\s+\S+\s+with\b|smtp\.mailfrom=|header\.from=|\bfrom\s+\S+\s+\("
)
#: (searched in caseless() text, as the cue patterns: re.IGNORECASE tried its three
#: branches at every offset of a From, 11,000 instructions a message)
_MACHINE_NAME: Final = re.compile(r"mailer-daemon|post_?master|mail delivery (?:system|subsystem)")
_FORWARDED_DAEMON: Final = re.compile(
    r"^[> ]*from:.*(?:mailer-daemon|mail delivery subsystem)", re.M
)
_ORIGINAL_RECIPIENT_LINE: Final = re.compile(r"^\s*(?:to|cc)\s*:", re.IGNORECASE)
#: any DSN field at all (lower-case, for caseless() text): without one there are no records
_ANY_FIELD: Final = re.compile(
    r"^(?:final-recipient|original-recipient|x-actual-recipient|action|status|diagnostic-code)"
    r"\s*:",
    re.MULTILINE,
)
_FIELD_WORDS: Final = ("recipient", "action", "status", "diagnostic")
_MACHINE_LOCAL: Final = re.compile(
    r"^(?:mailer-daemon|post_?master|mail-daemon|maildaemon|mailerdaemon|mdaemon|"
    r"mail\.?delivery|mailadmin|smtp|root|daemon|bounces?|nobody|mailmaster)(?:[+\-=.].*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DsnRecipient:
    """One per-recipient block of a delivery status report."""

    address: str
    action: str
    status: str
    diagnostic: str = ""


@dataclass(frozen=True)
class BounceReport:
    """What the bounce detectors concluded."""

    is_bounce: bool
    kind: str | None = None
    recipients: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    success_report: bool = False
    #: why delivery failed, as far as the report says (see :func:`failure_cause`)
    cause: str | None = None


@dataclass
class _Facts:
    evidence: list[str] = field(default_factory=list)
    hard: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)
    #: failed recipient -> the cause its own report block gave (DSN records)
    causes: dict[str, str] = field(default_factory=dict)


def is_machine_sender(address: str | None) -> bool:
    """MAILER-DAEMON, postmaster and kin: the senders of delivery reports."""
    if not address:
        return False
    return bool(_MACHINE_LOCAL.match(address.partition("@")[0]))


def has_bounce_subject(subject: str) -> bool:
    """Subjects such as "Undelivered Mail Returned to Sender" or "failure notice".

    The common words among the cues ("error", "failed", ...) count only as whole words
    of a subject that is no reply, forward or auto-reply: those echo the subject of the
    mail they answer, and a newsletter headed "Why your launch failed" drew an
    out-of-office ("Automatic reply: Why your launch failed") that was read as a bounce
    of the colleague it named.
    """
    lowered = lower(subject)  # not .lower(): see addresses.lower
    if not _ANY_BOUNCE_SUBJECT.search(lowered):
        return False  # no cue at all (most subjects): one search for the 51 scans
    echo: bool | None = None
    for cue in BOUNCE_SUBJECTS:
        if cue not in lowered:
            continue
        if cue not in _COMMON_SUBJECT_WORDS:
            return True
        if echo is None:
            echo = _is_echo(lowered)
        if (
            not echo
            and _MAIL_WORD.search(lowered)
            and re.search(rf"(?<![^\W\d_]){cue}(?![^\W\d_])", lowered)
        ):
            return True
    return False


_ANY_BOUNCE_SUBJECT: Final = TextSet(BOUNCE_SUBJECTS)
#: cues of BOUNCE_SUBJECTS that any subject may hold ("5 common errors", "payment failed")
_COMMON_SUBJECT_WORDS: Final = frozenset({"error", "failed", "failure", "rejected", "bounce"})
#: a generic cue word makes a bounce subject only beside a word of mail delivery: "Build
#: failed: renderer #482" from a CI server is no bounce, "FAILED MAIL to jdoe" is
_MAIL_WORD: Final = re.compile(
    r"mail|message|deliver|send|sent|recipient|address|smtp|"
    r"mensaje|nachricht|courrier|messaggio|bericht"
)
_REPLY_PREFIX: Final = re.compile(
    r"\s*(?:re|aw|sv|vs|wg|fw|fwd|tr|rv|r|antw|odp|ynt)\s*(?:\[\d+\])?\s*:"
)


def _is_echo(lowered: str) -> bool:
    """A lower-cased subject begins as a reply, a forward or an auto-reply does."""
    if _REPLY_PREFIX.match(lowered):
        return True
    start = lowered.lstrip()
    return start.startswith(AUTO_REPLY_SUBJECTS)


def dsn_recipients(text: str) -> list[DsnRecipient]:
    """Per-recipient DSN fields found anywhere in ``text`` (structured or pasted)."""
    # a field at a line start of the unfolded text is at a line start of the text too
    low = caseless(text)
    # every field name holds "recipient", "action", "status" or "diagnostic"
    if not any(word in low for word in _FIELD_WORDS):
        return []
    # where _ANY_FIELD matches in low: "^" tried only at the start and after newlines
    starts = [m.end() for m in _FIELD_START.finditer(low)]
    if _ANY_FIELD.match(low):
        starts.insert(0, 0)
    if not starts:
        return []
    # Only the part from the first field's line to the first blank line after the last
    # one is unfolded and read (not the notice before it, nor the returned message
    # after it): unfolding joins no line across either cut (a field's line starts with
    # a letter, the line after the blank one with no space), every field of the
    # unfolded text starts where one does in low, and the blank line still ends the
    # last block
    cut = _REGION_END.search(text, starts[-1])
    region = text[starts[0] : cut.end() if cut else len(text)]
    unfolded = _unfold(region)
    # caseless keeps every offset, also of a part cut at a line end: the blocks of
    # ``folded`` are those of ``unfolded`` lowered, without lowering (and hashing, for
    # caseless's cache) each block on its own
    folded = caseless_once(unfolded)
    # only the blocks where a field starts are read, from their first field on: a
    # field matches only where _FIELD_START says one starts. Each block's end is the
    # first separator after that field: separators are runs of blank space, the same
    # seen from anywhere before them. Splitting and reading every block of the whole
    # text had been 5 % of all instructions
    starts = [m.end() for m in _FIELD_START.finditer(folded)]
    if _ANY_FIELD.match(folded):
        starts.insert(0, 0)
    found: list[DsnRecipient] = []
    at = 0
    while at < len(starts):
        begin = starts[at]
        separator = _BLOCK_SEP.search(folded, begin)
        end = separator.start() if separator else len(folded)
        first = at
        while at < len(starts) and starts[at] < end:
            at += 1
        fields: dict[str, str] = {}
        # what _FIELD_CASELESS.finditer(block) finds, tried at the field starts only
        # (no match begins elsewhere); pos/endpos: "^" and "$" match at the block's
        # ends, which are line ends
        taken = begin
        for start in starts[first:at]:
            match = _FIELD_CASELESS.match(folded, start, end) if start >= taken else None
            if match is not None:
                taken = match.end()
                # a span a group: one method call each, not a start() and an end()
                name_start, name_end = match.span(1)
                value_start, value_end = match.span(2)
                name = unfolded[name_start:name_end].lower()
                fields.setdefault(name, unfolded[value_start:value_end].strip())
        addresses = [
            _dsn_address(fields[key])
            for key in ("original-recipient", "final-recipient", "x-actual-recipient")
            if key in fields
        ]
        status_match = _STATUS.search(fields.get("status", ""))
        status = status_match.group(0) if status_match else ""
        # lower(), not .lower(): a final capital sigma came out "σ" compiled (see there)
        action = lower(fields.get("action", "").split()[0]) if fields.get("action") else ""
        diagnostic = fields.get("diagnostic-code", "")
        for address in addresses:
            if address and not any(r.address == address for r in found):
                found.append(DsnRecipient(address, action, status, diagnostic))
    return found


#: what separates the blocks of a report (``re.split`` by it gives them)
_BLOCK_SEP: Final = re.compile(r"\n\s*\n")
#: where a line starting with a DSN field begins (after its newline): a pattern that
#: starts with a newline, which ``re`` skips to, where _ANY_FIELD's "^" is tried at
#: every offset (five times the cost over a long report)
_FIELD_START: Final = re.compile(
    r"\n(?=(?:final-recipient|original-recipient|x-actual-recipient|action|status"
    r"|diagnostic-code)\s*:)"
)
#: a blank line followed by no folded line (see dsn_recipients)
_REGION_END: Final = re.compile(r"\n\r?\n(?![ \t])")


_FOLD: Final = re.compile(r"\n[ \t]+")


def _unfold(text: str) -> str:
    return _FOLD.sub(" ", text.replace("\r\n", "\n"))


def _dsn_address(value: str) -> str | None:
    _type, _sep, addr = value.rpartition(";")
    match = _ADDRESS.search(addr or value)
    return normalised(match.group(0)) if match else None


def ses_notification(text: str) -> tuple[str, dict[str, object]] | None:
    """The Amazon SES/SNS notification carried as JSON in a mail body, if any."""
    if "notificationType" not in text:
        return None  # what both searches below need (one fast scan, not a regex)
    match = _SES.search(text)
    if not match and '\\"notificationType\\"' in text:
        # an SNS envelope: the notification is a JSON string inside the JSON
        text = text.replace('\\"', '"')
        match = _SES.search(text)
    if not match:
        return None
    start = text.rfind("{", 0, match.start())
    if start < 0:
        return None
    try:
        data, _end = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        data = _ses_fields(text[start:])
    return (match.group(1), data) if isinstance(data, dict) else None


def _ses_fields(text: str) -> dict[str, object]:
    """The fields we need from a notification whose JSON a mail gateway wrapped or cut."""
    flat = re.sub(r"\s*\n\s*", "", text)
    addresses = [{"emailAddress": a} for a in re.findall(r'"emailAddress"\s*:\s*"([^"]+)"', flat)]
    bounce_type = re.search(r'"bounceType"\s*:\s*"(\w+)"', flat)
    feedback = re.search(r'"complaintFeedbackType"\s*:\s*"([\w-]+)"', flat)
    return {
        "bounce": {
            "bounceType": bounce_type.group(1) if bounce_type else "Undetermined",
            "bouncedRecipients": addresses,
        },
        "complaint": {
            "complaintFeedbackType": feedback.group(1) if feedback else "abuse",
            "complainedRecipients": addresses,
        },
    }


def _ses_bounce(kind: str, data: dict[str, object], facts: _Facts) -> bool | None:
    """Fill facts from an SES notification; None when it is not about delivery."""
    if kind == "Delivery":
        facts.evidence.append("Amazon SES delivery notification (success)")
        return False
    bounce = data.get("bounce")
    if kind != "Bounce" or not isinstance(bounce, dict):
        return None
    target = facts.hard if bounce.get("bounceType") == "Permanent" else facts.soft
    for item in bounce.get("bouncedRecipients") or []:
        if isinstance(item, dict) and isinstance(item.get("emailAddress"), str):
            addr = normalised(item["emailAddress"])
            if addr:
                target.append(addr)
    facts.evidence.append(f"Amazon SES bounce notification ({bounce.get('bounceType')})")
    return True


def _from_dsn(records: list[DsnRecipient], facts: _Facts, text: str = "") -> bool | None:
    """Fill facts from DSN records; False for a success-only report, None if no records."""
    if not records:
        return None
    failed = False
    for rec in records:
        action = rec.action or ("failed" if rec.status.startswith("5") else "")
        if action == "failed" and not rec.status.startswith(("4", "2")):
            cause = failure_cause(rec.diagnostic, rec.status)
            if cause == "permanent" and text:
                # "Status: 5.0.0" and no diagnostic: the notice's words may tell
                cause = failure_cause(_notice(text), "")
            facts.causes[rec.address] = cause
            (facts.hard if cause in ADDRESS_CAUSES else facts.soft).append(rec.address)
            failed = True
        elif action in {"delayed", "failed"} or rec.status.startswith("4"):
            facts.soft.append(rec.address)
            failed = True
        elif action == "" and not rec.status:
            continue
    if failed:
        facts.evidence.append(
            "DSN " + ", ".join(f"{r.action or '?'} {r.status or '?'}" for r in records[:3])
        )
        return True
    if all(
        r.action in {"delivered", "relayed", "expanded"} or r.status.startswith("2")
        for r in records
    ):
        facts.evidence.append("DSN reports delivery only (success report)")
        return False
    return None


def flufl_failures(
    raw: bytes, parsed: Message | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(temporary, permanent) failed addresses from flufl.bounce; empty on any error.

    ``parsed`` is ``raw`` already parsed with compat32 (what flufl reads; it does not
    change the message), which saves parsing it a second time.
    """
    try:
        logging.getLogger("flufl.bounce").disabled = True
        msg = parsed if parsed is not None else email.message_from_bytes(raw)
        temporary, permanent = _all_failures(msg)
    except Exception:
        return (), ()
    return _decode_set(temporary), _decode_set(permanent)


def _all_failures(msg: Message) -> tuple[Any, Any]:
    """``flufl.bounce.all_failures(msg)``, with the same result, faster, but for LLNL's
    detector, which is not run on mail that reports no failure (see ``_FluflGates``).

    flufl runs its detectors in order until one finds something; most of them scan every
    body line, several with dozens of patterns, which made flufl most of the cost of
    reading an auto-reply. Here a detector is skipped only when a cheap test shows it
    would return nothing (:class:`_FluflGates`), and the generic SimpleMatch and
    SimpleWarning run only their pattern sets whose fixed start text occurs in the body.
    A skipped detector (LLNL's aside) would have found nothing and raised nothing, so
    the loop, its order, its stopping rule and its errors are flufl's own. Falls back to the public
    function if flufl's internals ever move.
    """
    try:
        from flufl.bounce._detectors.simplematch import SimpleMatch
        from flufl.bounce._scan import _DETECTORS
    except ImportError:  # pragma: no cover - a flufl.bounce other than 6.x
        from flufl.bounce import all_failures

        return cast(tuple[Any, Any], all_failures(msg))
    gates = _FluflGates(msg)
    temporary: set[Any] = set()
    permanent: set[Any] = set()
    for detector_class in _DETECTORS:
        if not gates.may_find(detector_class):
            continue
        detector = detector_class()
        if isinstance(detector, SimpleMatch):
            body = gates.caseless_body()
            detector.PATTERNS = [p for p, lit in _with_literals(detector.PATTERNS) if lit in body]
        found_temporary, found_permanent = detector.process(msg)
        temporary.update(found_temporary)
        permanent.update(found_permanent)
        if found_temporary or found_permanent:
            break
    return frozenset(temporary), frozenset(permanent)


class _FluflGates:
    """Cheap, exact tests that a flufl.bounce 6 detector would find nothing in ``msg``
    (all but LLNL's, which also keeps the detector from mail that reports no failure).

    Each test repeats the detector's own first check, or a necessary condition for its
    scan to match (a fixed text it looks for, which must then occur in the body), and
    answers "may find" whenever unsure or whenever the detector might raise (flufl's
    errors must stay flufl's). Detectors not listed always run.
    """

    #: Qmail's intro lines, Exchange's start text (case-sensitive, as flufl matches them)
    _QMAIL = (
        "We're sorry. There's a problem",
        "Check your send e-mail address.",
        "Hi. The MTA program at",
        "Hi. This is the",
        "This is the mail delivery agent at",
        "Unfortunately, your mail was not delivered",
        "Your mail message to the following",
    )
    _EXCHANGE = "did not reach the following recipient"
    _LLNL = re.compile(r",\s*(?P<addr>\S+@[^,]+),", re.IGNORECASE)

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self._body: str | None = None
        self._caseless: str | None = None

    def body(self) -> str:
        """What flufl's ``body_line_iterator`` yields, as one string (raises as it does)."""
        if self._body is None:
            chunks: list[str] = []
            for part in self.msg.walk():
                payload = part.get_payload()
                if isinstance(payload, str):
                    chunks.append(payload)
            self._body = "".join(chunks)
        return self._body

    def caseless_body(self) -> str:
        if self._caseless is None:
            self._caseless = caseless(self.body())
        return self._caseless

    def may_find(self, detector: type) -> bool:
        name = _gate_name(detector)
        if name is None:
            return True
        gate = getattr(self, name, None)
        if gate is None:
            return True
        try:
            return bool(gate())
        except Exception:  # let the detector itself meet (and raise) whatever this did
            return True

    def _from(self) -> str:
        # object: a From with 8-bit bytes is an email.header.Header (see complaints._items)
        value: object = self.msg.get("from", "")
        if not isinstance(value, str):
            raise TypeError("a non-text From: the detector decides")
        return value.lower()

    def _yahoo(self) -> bool:
        # parseaddr(From.lower()) must start "mailer-daemon@yahoo": that atom is in From
        return "yahoo" in self._from()

    def _yale(self) -> bool:
        # not multipart, and the first From address must be MAILER-DAEMON@…yale.edu (an
        # empty From makes it raise: getaddresses finds no first address)
        if self.msg.is_multipart():
            return False
        value = self._from()
        return value == "" or "yale" in value

    def _aol(self) -> bool:
        if self.msg.get_content_type() != "text/plain":
            return False
        return "aol" in self._from()

    def _qmail(self) -> bool:
        body = self.body()
        return any(tag in body for tag in self._QMAIL)

    def _exchange(self) -> bool:
        return self._EXCHANGE in self.body()

    def _llnl(self) -> bool:
        """Not exact, unlike the others: LLNL's detector takes any body line holding
        ", address," for a failed recipient, which made a postmaster's notice naming its
        helpdesk ("write to our helpdesk, help@example.net, with questions") a hard
        bounce of the helpdesk, suppressed for every category. Its one format (a
        Sendmail notice of LLNL's, with a "FAILED MAIL to" subject) reads as a report
        by its subject; a message that neither has a bounce subject nor words a failure
        is not asked."""
        # a match inside one body line is a match in the whole body
        if self._LLNL.search(self.body()) is None:
            return False
        subject: object = self.msg.get("subject", "")  # a Header when 8-bit (see _from)
        if isinstance(subject, str) and has_bounce_subject(subject):
            return True
        return _ANY_FAILURE_CUE.search(self.caseless_body())


@functools.lru_cache(maxsize=128)
def _gate_name(detector: type) -> str | None:
    """The _FluflGates method named after a flufl detector class; None for other classes."""
    if not detector.__module__.startswith("flufl.bounce._detectors."):
        return None
    return f"_{detector.__name__.lower()}"


#: flufl's pattern lists with each entry's start literal, by the list's identity (the list
#: is kept, so its id is never reused): hashing a compiled pattern for the lru_cache of
#: _start_literal, forty times per detector run, cost more than the scan it saves
_LITERALS: dict[int, tuple[list[Any], list[tuple[Any, str]]]] = {}


def _with_literals(patterns: list[Any]) -> list[tuple[Any, str]]:
    entry = _LITERALS.get(id(patterns))
    if entry is None or entry[0] is not patterns:
        entry = (patterns, [(p, _start_literal(p[0])) for p in patterns])
        _LITERALS[id(patterns)] = entry
    return entry[1]


@functools.lru_cache(maxsize=256)
def _start_literal(pattern: re.Pattern[str]) -> str:
    """The longest run of plain ASCII characters every match of ``pattern`` contains,
    lower-cased (flufl's patterns are case-insensitive; compared with caseless() text);
    ``""`` when there is none or the pattern cannot be read."""
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern.pattern, pattern.flags)
        literal = _constants.LITERAL
    except Exception:  # pragma: no cover - a Python whose re internals differ
        return ""
    best, run = "", ""
    for op, arg in parsed:
        char = chr(arg) if op is literal else ""
        if char and char.isascii():
            run += char
            continue
        best, run = max(best, run, key=len), ""
    return max(best, run, key=len).lower()


def _decode_set(values: frozenset[bytes]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        addr = normalised(text.strip("<>"))
        if addr and addr not in out:
            out.append(addr)
    return tuple(sorted(out))


#: the answer for most messages, made once: BounceReport is frozen, and building one
#: (a frozen dataclass's __init__) cost 9,000 instructions a message
_NO_BOUNCE: Final = BounceReport(False)


def detect_bounce(
    msg: Message,
    raw: bytes,
    *,
    machine: bool,
    compat32: Callable[[], Message | None] | None = None,
    ours: frozenset[str] = frozenset(),
) -> BounceReport:
    """Decide whether ``msg`` reports a delivery failure and collect the failed recipients.

    ``machine`` says the message already carries machine markers (empty Return-Path,
    Auto-Submitted, a report content type): free-text cues count only then, so a person
    writing "your mail to bob@example.com was rejected" is not taken for a bounce.
    ``compat32``: gives ``raw`` parsed with compat32, or None, if the caller can (for
    flufl.bounce); asked only when flufl runs, which few messages need.
    """
    subject = header(msg, "Subject")
    signals = _signals(msg, subject, machine)
    if not signals and not _may_report(msg, raw):
        return _NO_BOUNCE
    facts = _Facts()
    text = all_text(msg)
    verdict = _structured(msg, text, facts)
    if verdict is None and _success_notice(header(msg, "Subject"), text):
        # Exchange's "Delivered: …", Postfix's "Successful Mail Delivery Report" without a
        # DSN part: the recipients it names got the mail
        verdict = False
        facts.evidence.append("delivery success notice (no failure code)")
    if verdict is False:
        return BounceReport(False, evidence=tuple(facts.evidence), success_report=True)
    if verdict is None and (not signals or _reports_nothing(msg, text, signals)):
        return _NO_BOUNCE
    own = _own_addresses(msg) | ours
    if verdict is None:
        temporary, permanent = flufl_failures(raw, compat32() if compat32 else None)
    else:
        temporary, permanent = (), ()
    if verdict is None and not permanent and not temporary and not _strong(signals, msg):
        return _NO_BOUNCE
    if verdict is None:
        facts.hard.extend(a for a in permanent if a not in own)
        facts.soft.extend(a for a in temporary if a not in own)
        if permanent or temporary:
            facts.evidence.append("flufl.bounce found failed recipients")
        elif not _failure_text(text) and not _looks_like_report(msg):
            return _NO_BOUNCE
        facts.evidence.extend(signals)
    if not facts.hard and not facts.soft:
        weak = verdict is None and signals == [_MACHINE_SIGNAL]
        if weak and not _carries_report(msg):
            # machine mail that words a failure, but nothing in it is a report: an
            # out-of-office ("my mailbox is full, write to jane@…") is no bounce of the
            # colleague it names, and the free text is not searched for one
            return _NO_BOUNCE
        verp = None if weak else _verp_recipient(msg)
        if verp is not None and verp not in ours:
            # the sender encoded the recipient in the return path it gave the bounced
            # mail (bounces+jane=example.org@…): exact, where the text is a guess. Not
            # for machine mail that only words a failure: an autoresponder answers the
            # return path too
            facts.hard.append(verp)
            facts.evidence.append("failed recipient from the VERP return address")
        else:
            found = _text_recipients(text, own)
            if weak:
                # a machine's mail with the original attached and failure words: read as
                # a bounce only of an address the original was sent to (a
                # challenge-response "verify you are a person" with our headers attached
                # named the assistant in its signature)
                sent_to = set(_original_recipients(msg))
                found = [a for a in found if a in sent_to]
                if not found:
                    return _NO_BOUNCE
            facts.hard.extend(found)
            if facts.hard:
                facts.evidence.append("failed recipient read from the report text")
    kind = _kind(facts, text)
    cause = _cause(facts, kind, text)
    if kind == "hard" and cause not in ADDRESS_CAUSES:
        kind = "soft"
    if kind == "hard" and facts.soft:
        # one report, some recipients failed and some only delayed (or failed for a
        # cause that is not their address): those are no hard bounce (they are named in
        # the evidence, and suppressed by nothing)
        facts.evidence.append("not a hard bounce: " + ", ".join(facts.soft[:5]))
        recipients = tuple(dict.fromkeys(a for a in facts.hard if a not in facts.soft))
        if not recipients:
            recipients = tuple(dict.fromkeys(facts.hard))
    else:
        recipients = tuple(dict.fromkeys(facts.hard + facts.soft))
    if ours and any(a in ours for a in recipients):
        # a transcript or a returned copy repeating our sender: never our own failure
        facts.evidence.append(
            "our own address named as failed, not bounced: "
            + ", ".join(a for a in recipients if a in ours)
        )
        recipients = tuple(a for a in recipients if a not in ours)
    return BounceReport(True, kind, recipients, tuple(facts.evidence), cause=cause)


def _cause(facts: _Facts, kind: str, text: str) -> str | None:
    """The cause of a permanent failure: from the failed recipients' own DSN blocks when
    the report has them, else from the notice's opening words. None for a delay."""
    if kind != "hard":
        return "temporary" if not facts.causes else _first_cause(facts, facts.soft)
    if facts.causes:
        return _first_cause(facts, facts.hard) or "permanent"
    cause = failure_cause(_notice(text), "")
    if cause not in ADDRESS_CAUSES:
        facts.evidence.append(f"permanent failure, not of the address: {CAUSE_TEXT[cause]}")
    return cause


#: where a notice's own words end and the returned copy (its Received lines naming relays,
#: its body) begins
_COPY_START: Final = re.compile(
    r"^(?:received|return-path|dkim-signature|message-id|x-[\w-]+)\s*:|"
    r"copy of the (?:original )?message|original message|below this line|"
    r"message headers follow|header of the original",
    re.IGNORECASE | re.MULTILINE,
)


def _notice(text: str) -> str:
    head = text[:_CUE_SPAN]
    match = _COPY_START.search(head)
    return head[: match.start()] if match else head


def _first_cause(facts: _Facts, addresses: list[str]) -> str | None:
    for address in addresses:
        if address in facts.causes:
            cause = facts.causes[address]
            if cause not in ADDRESS_CAUSES:
                facts.evidence.append(f"permanent failure, not of the address: {CAUSE_TEXT[cause]}")
            return cause
    return None


# -- why delivery failed ------------------------------------------------------------------
# RFC 3464 calls every 5.x.x "failed", but most of them say nothing about the address:
# a full mailbox, a blocklisted sending IP, a DMARC or SPF failure of *our* mail, a message
# too large. Suppressing the recipient for every category (the hard-bounce effect) on those
# would stop a customer's password resets because our IP landed on a blocklist for a day.
# So, as Amazon SES ("Transient: MailboxFull, ContentRejected"), and as sisimai, whose
# test facts label the shared corpus (hardbounce=true only for an unknown user or host, a
# moved mailbox, a domain that accepts no mail), a hard bounce is one whose cause is the
# address; the others are recorded as soft bounces with their cause, and suppress nothing.
# The words win over the status code (MTAs send "Status: 5.1.1" with "5.7.1 IP address
# blacklisted"), and words about the address win over the others (a report naming a
# user unknown is about the address whatever else it says).

#: causes that are the address's own: the recipient does not exist (any more)
ADDRESS_CAUSES = frozenset({"no_such_user", "no_such_domain", "moved", "permanent"})
#: for the evidence and the review list
CAUSE_TEXT = {
    "no_such_user": "no such user",
    "no_such_domain": "no such domain",
    "moved": "the mailbox has moved",
    "permanent": "permanent failure",
    "mailbox_full": "mailbox full",
    "disabled": "mailbox disabled or suspended",
    "blocked": "rejected by the receiver's policy (blocklist, reputation, authentication)",
    "message": "the message was rejected (size, content, virus)",
    "expired": "delivery expired",
    "system": "mail system or network error",
    "temporary": "temporary failure",
}
#: words that put the fault on our side whatever else the text says: our sender address
#: or sending identity, a list we may not post to, the receiving host's own programs
_OUR_SIDE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("blocked", (
        "sender address", "domain of sender", "sender domain", "sender verify",
        "sender is not", "address is not verified", "identities failed", "send mail as",
        "permission to post", "not have permission", "open relay", "invalid ip",
    )),
    ("system", (
        "x-unix;", "routing loop", "hop count", "mail loop",
    )),
)  # fmt: skip
_ADDRESS_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("no_such_domain", (
        "host unknown", "host not found", "domain not found", "no such domain",
        "domain name not found", "name or service not known", "unknown host",
        "does not accept mail", "null mx", "no mx record", "nxdomain", "invalid domain",
        "domain is not reachable", "name service error", "not accepting network messages",
        "domain does not exist", "domain doesn't exist", "dns domain",
    )),
    ("no_such_user", (
        "user unknown", "unknown user", "no such user", "no such mailbox",
        "no such recipient", "no such address", "no such account", "user not found",
        "recipient not found", "recipientnotfound", "recipient unknown", "unknown recipient",
        "unknown mailbox", "mailbox not found", "mailbox does not exist", "does not exist",
        "may not exist",
        "doesn't exist", "address rejected: access denied", "inactive email address",
        "invalid recipient", "not a valid mailbox", "no mailbox", "account does not exist",
        "addressee unknown", "couldn't be found", "could not be found",
        "unrouteable address", "not our customer", "unknown local", "no valid recipients",
        "user doesn't have", "user does not have", "no longer available", "inexistant",
        "inconnu", "no existe", "unbekannt", "sconosciuto", "onbekend", "не существует",
        "宛先不明", "存在しません", "不存在", "존재하지 않",
    )),
    ("moved", (
        "has moved", "address has changed", "no longer valid", "user not local",
    )),
)  # fmt: skip
#: RFC 5321's stock texts, which servers send for an unknown user and for a mailbox they
#: refuse for other reasons alike: they decide only when no other word or specific
#: status code does ("550 5.2.1 Mailbox unavailable: account is locked" is disabled)
_WEAK_ADDRESS_WORDS: Final = ("mailbox unavailable", "invalid mailbox", "not exist")
_OTHER_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mailbox_full", (
        "mailbox full", "mailbox is full", "mailbox size", "over quota", "overquota",
        "quota exceeded", "exceeded storage", "exceeds quota", "exceed quota",
        "out of storage", "insufficient storage", "insufficient system storage",
        "folder is full", "inbox is full", "disk full", "not enough space",
        "mailbox exceeds", "exceeded the local limit", "postfach voll", "boîte pleine",
        "casella piena", "buzón lleno", "переполнен", "容量", "已满", "空间不足",
    )),
    ("blocked", (
        "blocked", "blacklist", "black list", "blocklist", "block list", "denylist",
        "banned", "spamhaus", "dnsbl", "sorbs", "spamcop", "barracuda", "abuseat", "rbl",
        "reputation", "spam", "policy", "dmarc", "spf", "dkim", "authentication",
        "not authorized", "unauthenticated", "access denied", "reverse dns", "ptr record",
        "rdns", "relay", "client host rejected", "sender rejected",
        "sender address rejected", "sender denied", "smtp server of your isp", "too many",
        "rate limit", "throttl", "not accepting", "weren't sent", "not allowed",
        "prohibited", "refused", "rejected by the recipient domain", "denied",
        "ptr resource", "bad dns", "rcpthosts", "limit for sending", "sending limit",
        "受信拒否", "迷惑メール", "拒绝", "垃圾邮件", "спам",
    )),
    ("disabled", (
        "disabled", "suspended", "inactive", "deactivated", "is not active",
        "account is locked", "account has been locked", "temporary locked",
        "temporarily locked", "frozen", "on hold",
    )),
    ("message", (
        "virus", "malware", "message size", "too large", "too big", "size limit",
        "exceeds the maximum", "content rejected", "message content", "attachment",
    )),
    ("expired", (
        "too long in the queue", "in the queue too long", "expired", "retry timeout",
        "retry time", "timed out", "timeout", "giving up", "did not accept our requests",
        "could not deliver for the last", "not delivered within", "aborted after",
        "after multiple retries", "failed 20 attempts",
    )),
    ("system", (
        "protocol violation", "not implemented", "service currently unavailable",
        "transaction failed", "system error",
    )),
)  # fmt: skip
_STATUS_CAUSES: Final = {
    "5.1.1": "no_such_user", "5.1.2": "no_such_domain", "5.1.3": "no_such_user",
    "5.1.6": "moved", "5.1.10": "no_such_domain", "5.4.4": "no_such_domain",
    "5.1.7": "blocked", "5.1.8": "blocked",
    "5.2.1": "disabled", "5.2.2": "mailbox_full", "5.2.3": "message", "5.3.4": "message",
    "5.4.7": "expired",
}  # fmt: skip
_STATUS_CLASS_CAUSES: Final = {
    "7": "blocked", "6": "message", "5": "system", "4": "system", "3": "system",
    "2": "mailbox_full",
}  # fmt: skip


def failure_cause(text: str, status: str) -> str:
    """Why a permanent failure happened: a key of :data:`CAUSE_TEXT`.

    ``text``: the diagnostic (a DSN's ``Diagnostic-Code``) or the notice's words;
    ``status``: the enhanced status code, when a DSN gave one. Words about the address
    first, then any other words, then a specific status code (the text's own before the
    given one), then RFC 5321's stock "mailbox unavailable", then the code's class, else
    ``permanent``: a 5.x.x failure nothing explains stays hard, as RFC 3464 has it.
    """
    # runs of spaces (folded lines, padded columns) as one: "mailbox    unavailable"
    low = " ".join(caseless(text).split())
    if low:
        for cause, words in _OUR_SIDE_WORDS:
            if any(w in low for w in words):
                return cause
        for cause, words in _ADDRESS_WORDS:
            if any(w in low for w in words):
                return cause
        for cause, words in _OTHER_WORDS:
            if any(w in low for w in words):
                return cause
    codes = [c for c in (_first_status(text), status) if c.startswith("5.")]
    for code in codes:
        if code in _STATUS_CAUSES:
            return _STATUS_CAUSES[code]
        if code.startswith("5.1."):
            return "no_such_user"
    if low and any(w in low for w in _WEAK_ADDRESS_WORDS):
        return "no_such_user"
    for code in codes:
        return _STATUS_CLASS_CAUSES.get(code.split(".")[1], "permanent")
    return "permanent"


def _first_status(text: str) -> str:
    match = _STATUS.search(text) if "5." in text else None
    return match.group(0) if match else ""


def _may_report(msg: Message, raw: bytes) -> bool:
    """Whether a message without any sign of a delivery report (no machine marker, no
    report type, no mail-system sender, no bounce subject) may still carry one that
    :func:`_structured` reads: an X-Failed-Recipients header, or an Amazon SES
    notification (JSON from a sender of any name, when a customer's system passes it
    on). Without one of these, the text of such a message is not read for DSN fields:
    a person's mail that quotes or forwards them is not a report (and converting every
    reply's HTML to text only to find that out was a tenth of the classifier's time).
    """
    return b"notificationType" in raw or bool(headers(msg, "X-Failed-Recipients"))


_SUCCESS_SUBJECT: Final = re.compile(
    r"^\s*(?:delivered|relayed|zugestellt|remis|entregado|consegnato|bezorgd|entregue)\s*:"
    r"|successful mail delivery report|delivery status notification \((?:success|relay)\)",
    re.IGNORECASE,
)
#: (caseless text, looked for as plain substrings)
_SUCCESS_TEXTS: Final = (
    "successfully delivered",
    "has been delivered to the following recipient",
    "delivery to the following recipient was complete",
    "delivery to the following recipients was complete",
    "delivery to the following recipient succeeded",
    "delivery to the following recipients succeeded",
)


def _success_notice(subject: str, text: str) -> bool:
    """A delivery success notice in words: a success subject or sentence, and no
    permanent failure code anywhere in it (its boilerplate may well speak of "delivery
    errors from other systems")."""
    if not _SUCCESS_SUBJECT.search(subject):
        low = caseless(text[:4000])
        if not any(cue in low for cue in _SUCCESS_TEXTS):
            return False
    return not _permanent_code(text)


def _structured(msg: Message, text: str, facts: _Facts) -> bool | None:
    """Verdict from machine-readable reports: True bounce, False success, None unknown."""
    ses = ses_notification(text)
    if ses is not None:
        verdict = _ses_bounce(ses[0], ses[1], facts)
        if verdict is not None:
            return verdict
    verdict = _from_dsn(dsn_recipients(text), facts, text)
    if verdict is not None:
        return verdict
    failed = [
        normalised(v) for value in headers(msg, "X-Failed-Recipients") for v in value.split(",")
    ]
    found = [a for a in failed if a]
    if found:
        facts.hard.extend(found)
        facts.evidence.append("header X-Failed-Recipients")
        return True
    return None


def _signals(msg: Message, subject: str, machine: bool) -> list[str]:
    """Reasons to suspect a delivery report; the subject alone is weak (people write it too)."""
    signals: list[str] = []
    # Sender: only by name: mailing lists and sending services put their bounce
    # address there ("bounce-mc.us21_…@…", "list-bounces@…") on every newsletter
    senders = [(v, True) for v in headers(msg, "From")] + [
        (v, False) for v in headers(msg, "Sender")
    ]
    for value, is_from in senders:
        if _MACHINE_NAME.search(caseless_once(value)) or (
            is_from and is_machine_sender(_first([value]))
        ):
            signals.append(f"sender {value[:60]} is a mail system")
            break
    if has_bounce_subject(subject):
        signals.append(f'bounce subject "{subject[:60]}"')
    if _looks_like_report(msg):
        signals.append("content type multipart/report")
    if machine:
        signals.append(_MACHINE_SIGNAL)
    return signals


def _strong(signals: list[str], msg: Message) -> bool:
    """A signal beyond the subject, or a bounce subject with the returned original attached."""
    if any(not s.startswith("bounce subject") for s in signals):
        return True
    if _FORWARDED_DAEMON.search(caseless(all_text(msg)[:20_000])):
        return True  # a person forwarded an MTA's report to us
    return any(content_type(p) in {"message/rfc822", "text/rfc822-headers"} for p in walk(msg))


def _failure_text(text: str) -> bool:
    """The text reads like a delivery failure: a cue phrase or an SMTP status code."""
    return bool(
        _ANY_FAILURE_CUE.search(caseless(text)) or _STATUS.search(text) or _SMTP_CODE.search(text)
    )


#: the signal of machine mail (Auto-Submitted, Precedence, an empty Return-Path, ...)
_MACHINE_SIGNAL: Final = "machine-generated message"
#: parts that carry a delivery report or the returned message (or its header block)
_REPORT_PARTS: Final = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/rfc822",
        "message/global",
        "text/rfc822-headers",
        "message/global-headers",
    }
)


def _reports_nothing(msg: Message, text: str, signals: list[str]) -> bool:
    """Machine mail that tells of no failed delivery: that a machine sent it is its only
    sign of being a report, it carries no report or returned message, and its text words
    no failure (a status code alone does not count: "call 555-0100" has one).

    Such mail (an out-of-office, a list notice) is not a bounce, and flufl.bounce is not
    asked about it: its looser detectors take any "Name, address," line for a failed
    recipient, so an out-of-office naming a colleague ("contact Jane, jane@example.org,
    or call the desk") came out as a hard bounce suppressing the colleague for every
    category. It also spares the compat32 parse and flufl's dozen body scans that most
    of an out-of-office's classification went on.
    """
    if signals != [_MACHINE_SIGNAL] or _ANY_FAILURE_CUE.search(caseless(text)):
        return False
    return not _carries_report(msg)


def _original_recipients(msg: Message) -> list[str]:
    """To and Cc addresses of the messages (or header blocks) attached to ``msg``."""
    out: list[str] = []
    for part in walk(msg):
        ctype = content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            for sub in children(part):
                out.extend(addresses_in(headers(sub, "To") + headers(sub, "Cc")))
        elif ctype in ("text/rfc822-headers", "message/global-headers"):
            head = decode_payload(part).replace("\r\n", "\n").split("\n\n", 1)[0]
            values = [
                line.split(":", 1)[1]
                for line in _unfold(head).split("\n")
                if _ORIGINAL_RECIPIENT_LINE.match(line)
            ]
            out.extend(addresses_in(values))
    return out


def _carries_report(msg: Message) -> bool:
    """A part of ``msg`` is a delivery report or a returned message (or its headers)."""
    return any(content_type(p) in _REPORT_PARTS for p in walk(msg))


def _looks_like_report(msg: Message) -> bool:
    """A report, not a read receipt (which is multipart/report too, see signals)."""
    return content_type(msg) == "multipart/report" and not is_read_receipt(msg)


def _first(values: list[str]) -> str | None:
    for value in values:
        match = _ADDRESS.search(value)
        if match:
            return normalised(match.group(0))
    return None


def _own_addresses(msg: Message) -> set[str]:
    """Addresses of the bounce itself (its sender and recipient): never the failed one."""
    own: set[str] = set()
    for name in ("From", "To", "Return-Path", "Delivered-To", "Sender", "Reply-To", "Cc"):
        for value in headers(msg, name):
            for match in _ADDRESS.findall(value):
                addr = normalised(match)
                if addr:
                    own.add(addr)
    return own


#: a VERP return address: ``prefix+local=domain@ours`` (Mailman, listmonk, qmail's
#: ``-local=domain``); the encoded address is the recipient the bounced mail went to
_VERP: Final = re.compile(r"^[a-z0-9._-]+[+-]([a-z0-9._%+-]+)=([a-z0-9-]+(?:\.[a-z0-9-]+)+)@", re.I)


def _verp_recipient(msg: Message) -> str | None:
    """The recipient a VERP address this bounce was delivered to encodes, if any."""
    for name in ("Delivered-To", "X-Original-To", "To", "Envelope-To", "X-Envelope-To"):
        for value in headers(msg, name):
            for match in _ADDRESS.findall(value):
                found = _VERP.match(match)
                if found:
                    address = normalised(f"{found.group(1)}@{found.group(2)}")
                    if address:
                        return address
    return None


def _text_recipients(text: str, own: set[str]) -> list[str]:
    """Failed recipients read from free text: cue lines first, then the original's To."""
    unfolded = _unfold(text)
    lines = unfolded.split("\n")
    lowered = caseless(unfolded).split("\n")  # line for line: caseless keeps every offset
    ordered: list[str] = []
    for index, line in enumerate(lines):
        low = lowered[index]
        if _COPY_FOLLOWS.match(low):
            break  # the returned copy: its text names no failed recipient
        if _HEADERISH.search(low):
            continue
        if _ANY_FAILURE_CUE.search(low) or _STATUS.search(line) or _SMTP_CODE.search(line):
            window = [
                _REDIRECT.split(near, maxsplit=1)[0]
                for at, near in enumerate(lines[max(0, index - 1) : index + 3], max(0, index - 1))
                if at == index or not _CONTACT.search(lowered[at])
            ]
            ordered.extend(_candidates(window, own))
    if not ordered:
        originals = _original_to(lines, own)
        if len(originals) > 1:
            return []  # which of them failed, the report does not say (see _original_to)
        ordered.extend(originals)
    if not ordered:
        ordered.extend(
            _candidates([ln for ln in lines if not _HEADERISH.search(caseless(ln))], own)
        )
    return list(dict.fromkeys(ordered))[:5]


#: a line that names whom to ask, beside a failure line ("Need help? Contact our helpdesk
#: at help@…", "Bei Fragen: hilfe@…"): the helpdesk did not bounce
_CONTACT: Final = re.compile(
    r"(?<!\w)(?:contact|helpdesk|help desk|support|customer service|questions\?|need help"
    r"|kundenservice|kundendienst|hilfe|bei fragen|klantenservice|contacteer|contactez"
    r"|assistance|soporte|contacte|atendimento|assistenza|contattare|お問い合わせ|サポート"
    r"|客服|联系)"
)
#: where a reply names another address to try (551 "User not local; please try <x>"):
#: the text after it names the new address, not a failed one
_REDIRECT: Final = re.compile(
    r"please try|try instead|new address is|forward(?:ed)? to|has moved to|now at"
    r"|neue adresse|nouvelle adresse|nueva direcci|nuovo indirizzo|nieuwe adres",
    re.IGNORECASE,
)
#: the line after which a text bounce returns a copy of the message ("----- Original
#: message follows -----", qmail's "--- Below this line is a copy of the message.",
#: Exim's "------ This is a copy of the message, including all the headers. ------"):
#: a phone number in the copy ("call 415 555 0132") read as an SMTP reply code made
#: the addresses beside it failed recipients
_COPY_FOLLOWS: Final = re.compile(
    r"\s*-{3,}\s*(?:original message follows|below this line is a copy of the message|"
    r"this is a copy of the message|unsent message below|message text follows|"
    r"returned message follows|returned mail follows)"
)


def _candidates(lines: list[str], own: set[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if _HEADERISH.search(caseless(line)):
            continue
        for match in _ADDRESS.findall(line):
            addr = normalised(match.strip(".-"))
            if addr and addr not in own and not is_machine_sender(addr):
                out.append(addr)
    return out


def _original_to(lines: list[str], own: set[str]) -> list[str]:
    """The recipient of the returned copy, when it had exactly one: of several To and
    Cc, the report does not say which failed, and a hard bounce of all of them would
    cut off the ones that did not."""
    out: list[str] = []
    for line in lines:
        if _ORIGINAL_RECIPIENT_LINE.match(line):
            out.extend(_candidates([line.split(":", 1)[1]], own))
    return list(dict.fromkeys(out))


def _kind(facts: _Facts, text: str) -> str:
    """Hard unless only temporary failures were found or the text says it will retry."""
    if facts.hard:
        # a permanent code first: a report with failed recipients nearly always has one
        # near its start, and then its opening need not be read for a delay (the soft
        # cues were 2 % of all instructions)
        if not facts.soft and not _permanent_code(text) and _soft_cue(caseless(text[:_CUE_SPAN])):
            facts.evidence.append("report says delivery is delayed / will be retried")
            return "soft"
        return "hard"
    if facts.soft:
        return "soft"
    return "soft" if _soft_cue(caseless(text[:_CUE_SPAN])) and not _permanent_code(text) else "hard"


#: where a notice says it is only a delay: its opening, not the returned copy below it
#: (40 cues in six languages, each looked for in the whole of a long report, had cost
#: bounces 30 µs each)
_CUE_SPAN: Final = 4000


def _soft_cue(low: str) -> bool:
    """``bool(_SOFT_CUES.search(low))`` for caseless() text (test_headers_text.py)."""
    return _ANY_SOFT_CUE.search(low)


_ANY_SOFT_CUE: Final = TextSet(_SOFT_CUE_TEXTS)


def _permanent_code(text: str) -> bool:
    return bool(_PERMANENT_CODE.search(text))
