"""The two kinds of mail optout writes itself: opt-out confirmations and deadline alerts.

Pure functions from values to :class:`email.message.EmailMessage`; nothing here sends,
reads the clock or touches the database, so the outbox can build a message inside the
transaction that applied the opt-out and send it later, and tests can compare headers.

Why the headers look the way they do:

* A confirmation is an automatic response, so it carries ``Auto-Submitted: auto-replied``
  (RFC 3834 section 5). RFC 3834 section 3.1.8 says responders SHOULD NOT rely on
  ``Precedence``, and a ``Precedence: bulk`` on a one-to-one transactional mail hurts its
  delivery, so there is none. ``X-Auto-Response-Suppress: All`` asks Exchange and Outlook
  not to answer it with an out-of-office, which would land back in the unsubscribe inbox.
* It is transactional: no List-Unsubscribe, no List-Id, no marketing content. A
  confirmation that could itself be unsubscribed from would invite exactly the loop the
  person is trying to leave.
* It answers the person's message when there was one (``In-Reply-To``/``References``), so
  it threads under their reply in their mail client.
* Alerts go to ops and show only masked addresses: they are stored in mailboxes and
  forwarded to tickets, which is not where a full address belongs.
"""

from __future__ import annotations

import enum
import functools
import re
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Literal

from worker.core.addresses import mask
from worker.core.categories import ALL_PROMOTIONAL, EVERY
from worker.core.verdict import MessageClass
from worker.mail.headers import MAIL_POLICY

if TYPE_CHECKING:
    from jinja2 import Environment

#: languages a confirmation is written in; anything else falls back to :data:`DEFAULT_LANGUAGE`
LANGUAGES = ("en", "es", "fr", "de")
DEFAULT_LANGUAGE = "en"

AUTO_SUBMITTED = "Auto-Submitted"
AUTO_RESPONSE_SUPPRESS = "X-Auto-Response-Suppress"

#: classes of inbound mail that come from a person; ``other`` is there because ops apply
#: undecided messages from the review queue, and a reviewer has judged those human. All
#: others (bounces, complaints, auto-replies) and any unknown class never get an answer:
#: a class added later stays silent until someone decides it may be answered
_CONFIRMABLE = frozenset(
    {MessageClass.UNSUBSCRIBE, MessageClass.PRIVACY_REQUEST, MessageClass.OTHER}
)
_WRAP = 72
_MSGID_RE = re.compile(r"^<?([^<>\s@]+@[^<>\s@]+)>?$")
_DOMAIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


@functools.cache
def _templates() -> Environment:
    """Built on first use: a command that sends nothing does not load Jinja2."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("worker.mail", "templates"),
        # only the HTML alternative is escaped; plain text must keep "<" and "&" as written
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


class AlertKind(enum.StrEnum):
    NEAR = "near"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class AlertItem:
    """One request in a deadline alert.

    ``address_masked`` is masked again on construction (``mask`` is idempotent), so a
    caller that passes a full address by mistake still cannot put it in an alert.
    ``business_days_left`` is zero or negative for an overdue request.
    """

    request_id: int
    kind: Literal["near", "overdue"]
    channel: str
    status: str
    address_masked: str
    received_at: datetime
    deadline: datetime
    business_days_left: int

    def __post_init__(self) -> None:
        AlertKind(self.kind)  # raises ValueError for anything else
        _require_aware("received_at", self.received_at)
        _require_aware("deadline", self.deadline)
        object.__setattr__(self, "address_masked", mask(self.address_masked))

    @property
    def overdue(self) -> bool:
        return self.kind == "overdue"


def may_confirm(message_class: str | None, *, machine: bool, recent_hard_bounce: bool) -> bool:
    """Whether an applied opt-out may be answered with a confirmation.

    ``message_class`` is the class of the inbound message that carried the request, or
    ``None`` when there was none (a link click, a phone call, an import). Never answer a
    bounce, complaint, auto-reply or any mail that looks machine-sent (DESIGN rule 5: an
    answer to a robot starts a mail loop or lands in a provider's abuse desk), and never
    write to an address that just hard-bounced: it cannot receive, and mailing it again
    hurts the sending domain's reputation.
    """
    if machine or recent_hard_bounce:
        return False
    return message_class is None or message_class in _CONFIRMABLE


def pick_language(hint: str | None) -> str:
    """The confirmation language for a hint such as ``es``, ``fr_FR`` or an Accept-Language.

    The first supported primary tag wins, in the order given; quality values are not
    weighed because a hint comes from a Content-Language header or a stored preference,
    which list the preferred language first.
    """
    for part in (hint or "").split(","):
        tag = part.split(";")[0].strip().lower().replace("_", "-")
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def confirmation(
    *,
    to: str,
    sender: str,
    scope_label: str,
    categories_stopped: list[str],
    account_continues: bool,
    received_at: datetime,
    request_id: int,
    language: str = DEFAULT_LANGUAGE,
    message_id_domain: str,
    in_reply_to: str | None = None,
    date: datetime | None = None,
    with_html: bool = True,
) -> EmailMessage:
    """The one confirmation of an applied opt-out, in the person's language where we have it.

    ``scope_label`` is the scope's name: ``all`` (every promotional category) and ``every``
    are worded by the template, anything else is shown as the category's label.
    ``categories_stopped`` are the labels of the categories the opt-out stopped.
    ``in_reply_to`` is the Message-ID of the person's message, if they wrote one; a
    malformed value is dropped rather than refused, because it comes from a stranger's
    mail and the confirmation matters more than the threading. ``date`` is the Date
    header; pass the service clock's time (it defaults to now).
    """
    _require_aware("received_at", received_at)
    lang = pick_language(language)
    scope_kind = {ALL_PROMOTIONAL: "all", EVERY: "every"}.get(scope_label, "category")
    rendered = (
        _templates()
        .get_template(f"confirmation.{lang}.txt.j2")
        .render(
            address=to,
            scope_kind=scope_kind,
            scope_label=scope_label,
            categories=categories_stopped,
            account_continues=account_continues,
            received=_when(received_at),
            request_id=request_id,
        )
    )
    subject, body = _split_subject(rendered)
    msg = _base(
        subject=subject,
        sender=sender,
        to=to,
        date=date or datetime.now(UTC),
        message_id=make_msgid(f"confirm-{request_id}", domain=_domain(message_id_domain)),
        auto_submitted="auto-replied",
    )
    reply_to_id = _message_id(in_reply_to)
    if reply_to_id:
        msg["In-Reply-To"] = reply_to_id
        msg["References"] = reply_to_id
    text = _wrap(body)
    _set_text(msg, text)
    if with_html:
        page = (
            _templates()
            .get_template("confirmation.html.j2")
            .render(lang=lang, title=subject, blocks=_blocks(text))
        )
        msg.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
    # after the body: set_content() clears every Content-* header already present
    msg["Content-Language"] = lang
    return msg


def alert(
    *,
    to: str,
    sender: str,
    items: list[AlertItem],
    generated_at: datetime,
    message_id_domain: str,
) -> EmailMessage:
    """One email to ops listing the requests near or past their deadline, worst first.

    The subject says how many and shouts OVERDUE when any deadline is missed, so it can be
    triaged from the inbox list. English only: it is read by the operator, not the public.
    """
    if not items:
        raise ValueError("an alert needs at least one item")
    _require_aware("generated_at", generated_at)
    ordered = sorted(items, key=lambda i: (not i.overdue, i.deadline, i.request_id))
    overdue = [i for i in ordered if i.overdue]
    near = [i for i in ordered if not i.overdue]
    n = len(items)
    noun = "request" if n == 1 else "requests"
    if overdue:
        subject = f"[optout] OVERDUE: {len(overdue)} of {n} opt-out {noun} past deadline"
    else:
        subject = f"[optout] {n} opt-out {noun} near deadline"
    body = (
        _templates()
        .get_template("alert.txt.j2")
        .render(
            generated=_when(generated_at),
            overdue=[_alert_row(i) for i in overdue],
            near=[_alert_row(i) for i in near],
        )
    )
    msg = _base(
        subject=subject,
        sender=sender,
        to=to,
        date=generated_at,
        message_id=make_msgid("alert", domain=_domain(message_id_domain)),
        auto_submitted="auto-generated",
    )
    _set_text(msg, body)
    return msg


# -- helpers -------------------------------------------------------------------------------


def _base(
    *, subject: str, sender: str, to: str, date: datetime, message_id: str, auto_submitted: str
) -> EmailMessage:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    _require_aware("date", date)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg[AUTO_SUBMITTED] = auto_submitted
    msg[AUTO_RESPONSE_SUPPRESS] = "All"
    return msg


def _set_text(msg: EmailMessage, text: str) -> None:
    # 7bit when it is plain ASCII (most robust); otherwise quoted-printable, because a
    # relay without 8BITMIME would have to downgrade an 8bit body itself
    cte = "7bit" if text.isascii() else "quoted-printable"
    msg.set_content(text, charset="utf-8", cte=cte)


def _alert_row(item: AlertItem) -> dict[str, object]:
    left = item.business_days_left
    if left < 0:
        due = f"{-left} business day{'s' if left != -1 else ''} overdue"
    elif item.overdue or left == 0:
        due = "due today" if not item.overdue else "past deadline"
    else:
        due = f"{left} business day{'s' if left != 1 else ''} left"
    return {
        "id": item.request_id,
        "address": item.address_masked,
        "channel": item.channel,
        "status": item.status,
        "received": _when(item.received_at),
        "deadline": _when(item.deadline),
        "due": due,
    }


def _split_subject(rendered: str) -> tuple[str, str]:
    """Templates put the subject on their first line, then a blank line, then the body."""
    subject, _, body = rendered.partition("\n")
    return subject.strip(), body.lstrip("\n")


def _wrap(text: str) -> str:
    """Wrap at 72 columns as plain-text mail expects; list items keep a hanging indent."""
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            out.append("")
            continue
        indent = line[: len(line) - len(line.lstrip())]
        hang = indent + "  " if line.lstrip().startswith("- ") else indent
        out.extend(
            textwrap.wrap(
                line,
                _WRAP,
                initial_indent="",
                subsequent_indent=hang,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out).strip("\n") + "\n"


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """The wrapped text as ("p", [text]) and ("ul", [items]) blocks for the HTML part.

    The HTML alternative is derived from the text rather than written per language, so
    the two parts cannot say different things and a translation is one file.
    """
    blocks: list[tuple[str, list[str]]] = []
    for para in re.split(r"\n\s*\n", text.strip()):
        prose: list[str] = []
        items: list[str] = []
        for line in para.splitlines():
            stripped = line.strip()
            if stripped.startswith("- "):
                items.append(stripped[2:])
            elif items and line[:1].isspace():
                items[-1] += " " + stripped
            else:
                if items:
                    blocks.append(("ul", items))
                    items = []
                prose.append(stripped)
                continue
            if prose:
                blocks.append(("p", [" ".join(prose)]))
                prose = []
        if prose:
            blocks.append(("p", [" ".join(prose)]))
        if items:
            blocks.append(("ul", items))
    return blocks


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _message_id(value: str | None) -> str | None:
    if not value:
        return None
    m = _MSGID_RE.fullmatch(value.strip())
    return f"<{m.group(1)}>" if m and len(value) < 900 else None


def _domain(value: str) -> str:
    if not _DOMAIN_RE.fullmatch(value):
        raise ValueError(f"message_id_domain {value!r} is not an ASCII domain name")
    return value


def _require_aware(name: str, at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


__all__ = [
    "AUTO_RESPONSE_SUPPRESS",
    "AUTO_SUBMITTED",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "AlertItem",
    "AlertKind",
    "alert",
    "confirmation",
    "may_confirm",
    "pick_language",
]
