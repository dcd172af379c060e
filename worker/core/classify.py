"""The decision: what an inbound message is, for whom, and how sure we are.

Precedence is fixed and safety-first (DESIGN rule 5): complaint → bounce → auto-reply →
privacy request → unsubscribe → other. Anything a machine made (RFC 3834 markers, an
empty Return-Path, a report) can never become an ``unsubscribe``: at worst it lands in
``other``, which a person reviews. Reading intent happens only on the sender's own,
unquoted words. :func:`classify` never raises: a message that cannot be read is
``other`` with the reason as evidence.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from email.message import EmailMessage, Message
from typing import Any, Final, cast

from worker.core.bounces import BounceReport, detect_bounce, is_machine_sender
from worker.core.complaints import MACHINE_TYPES, Complaint, detect_complaint
from worker.core.intent import (
    before_legal_notice,
    channel_subject,
    intent_text,
    names_unsubscribing,
    on_behalf,
    other_channel,
    privacy_intent,
    unsubscribe_hits,
)
from worker.core.message import (
    addresses_in,
    caseless,
    children,
    content_type,
    header,
    headers,
    memo_scope,
    own_text,
    parse_checked,
    plain_mime,
    walk,
)
from worker.core.quotes import strip_quotes
from worker.core.signals import (
    OUT_OF_OFFICE_WORDS,
    acknowledgement_text,
    authentication_failed,
    auto_reply_text,
    machine_markers,
    robot_markers,
    sent_to_unsubscribe_address,
    tokens,
)
from worker.core.verdict import DEFAULT_MAX_BYTES, Classification, MessageClass

_ADDRESS: Final = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_PRIVACY_OPTOUT_KINDS: Final = frozenset({"erasure", "objection", "do_not_sell"})
_DMARC_REPORT: Final = re.compile(r"^report domain:|dmarc (?:aggregate )?report", re.IGNORECASE)


class _Context:
    """Facts shared by every rule, computed once (the body only when a rule reads it).

    A plain class, not a frozen dataclass: compiled, its __init__ stores the fields
    directly (a frozen dataclass's generated one calls object.__setattr__ a field).
    """

    def __init__(
        self,
        msg: Message,
        raw: bytes,
        compat32: Callable[[], Message | None],
        sender: str | None,
        subject: str,
        markers: tuple[str, ...],
        tokens: tuple[str, ...],
        authentication_failed: bool,
        message_id: str | None,
        ours: frozenset[str] = frozenset(),
    ) -> None:
        self.msg = msg
        self.raw = raw
        #: ``msg`` when it reads exactly as a compat32 parse of ``raw`` (flufl.bounce may
        #: then read it), else None; only flufl needs it, and only for a few messages
        self.compat32 = compat32
        self.sender = sender
        self.subject = subject
        self.markers = markers
        self.tokens = tokens
        self.authentication_failed = authentication_failed
        self.message_id = message_id
        #: our own addresses (see classify)
        self.ours = ours
        #: facts computed on first use (see _lazy); an attribute, not the instance dict,
        #: which a compiled class (mypyc, see scripts/build_native.py) does not have
        self.lazy: dict[str, str] = {}

    @property
    def body(self) -> str:
        """The sender's own words: reports and bounces are decided without them."""
        return _lazy(self, "body", lambda: strip_quotes(own_text(self.msg)))

    @property
    def intent(self) -> str:
        return _lazy(self, "intent", lambda: intent_text(self.body))


def _lazy(ctx: _Context, name: str, compute: Callable[[], str]) -> str:
    """Compute a context fact on first use."""
    cache = ctx.lazy
    if name not in cache:
        cache[name] = compute()
    return cache[name]


def classify(
    raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, ours: frozenset[str] = frozenset()
) -> Classification:
    """Classify raw message bytes; never raises.

    ``ours``: our own addresses (we send from them, or receive at them): never the failed
    recipient of a bounce nor the complainant of a report, whatever the report names.
    """
    return classify_with_subject(raw, max_bytes=max_bytes, ours=ours)[0]


def classify_with_subject(
    raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, ours: frozenset[str] = frozenset()
) -> tuple[Classification, str | None]:
    """:func:`classify`, and the decoded Subject of the message it parsed.

    The subject is None when no message was parsed (too large, the parser's fallback,
    an error); intake then reads it from the header block itself. Returning it here
    spares intake a second parse of the same headers.
    """
    if len(raw) > max_bytes:
        return (
            Classification(
                MessageClass.OTHER,
                0.0,
                (f"message is {len(raw)} bytes, over the {max_bytes} limit",),
            ),
            None,
        )
    subject: str | None = None
    try:
        msg, parsed = parse_checked(raw)
        # flufl.bounce may read msg itself only if it reads as compat32's parse would
        with memo_scope():
            if parsed:
                subject = header(msg, "Subject")
            compat32 = functools.partial(_plain, msg) if parsed else _none
            return _decide(msg, raw, compat32, ours), subject
    except Exception as exc:  # the contract: every input gets an answer
        return (
            Classification(MessageClass.OTHER, 0.0, (f"unreadable message: {type(exc).__name__}",)),
            subject,
        )


def classify_message(msg: EmailMessage | Message) -> Classification:
    """Classify an already parsed message; never raises."""
    try:
        raw = msg.as_bytes()
    except Exception:
        raw = b""
    try:
        return _classify(msg, raw)
    except Exception as exc:
        return Classification(
            MessageClass.OTHER, 0.0, (f"unreadable message: {type(exc).__name__}",)
        )


def _plain(msg: Message) -> Message | None:
    """``msg`` if it reads as compat32's parse of the same bytes would (see plain_mime)."""
    return msg if plain_mime(msg) else None


def _none() -> None:
    return None


def _classify(msg: Message, raw: bytes) -> Classification:
    with memo_scope():
        return _decide(msg, raw, _none)


def _decide(
    msg: Message,
    raw: bytes,
    compat32: Callable[[], Message | None],
    ours: frozenset[str] = frozenset(),
) -> Classification:
    ctx = _context(msg, raw, compat32, ours)
    for rule in (_complaint, _bounce, _auto_reply, _privacy, _unsubscribe):
        result = rule(ctx)
        if result is not None:
            return _finish(ctx, result)
    return _finish(ctx, _other(ctx))


def _context(
    msg: Message,
    raw: bytes,
    compat32: Callable[[], Message | None],
    ours: frozenset[str] = frozenset(),
) -> _Context:
    from_addresses = addresses_in(headers(msg, "From"))
    sender = from_addresses[0] if from_addresses else None
    domain = sender.rpartition("@")[2] if sender else None
    failed, auth_evidence = authentication_failed(msg, domain)
    written = _written_from_addresses(msg)
    if max(len(from_addresses), written) > 1 and not failed:
        # "From: jane@gmail.com <attacker@evil.example>": which one wrote it is unknown
        # (the header parser keeps only the first of these two)
        failed = True
        auth_evidence = f"{_FROM_DOUBT} holds {max(len(from_addresses), written)} addresses"
    message_id = header(msg, "Message-ID").strip() or None
    markers = machine_markers(msg) + ([auth_evidence] if auth_evidence else [])
    return _Context(
        msg,
        raw,
        compat32,
        sender,
        header(msg, "Subject"),
        tuple(markers),
        tokens(msg),
        failed,
        message_id,
        ours,
    )


#: markers that put the sender in doubt (failed authentication, several From addresses):
#: no sign of machine mail, but evidence of every class when the sender is doubted
_FROM_DOUBT: Final = "From:"
_SENDER_DOUBTS: Final = ("Authentication-Results", _FROM_DOUBT)


def _written_from_addresses(msg: Message) -> int:
    """How many different addresses the From header holds as written (not as parsed),
    when more than one; 0 or 1 when fewer than two (the caller asks "more than one?",
    and reads the number only then)."""
    try:
        # a name of four letters first: lower-casing every header's name cost 1.3 M of
        # the backlog's instructions
        # the list raw_items() copies, read in place (raw_items is interpreted code)
        fields: list[tuple[str, Any]] = cast(Any, msg)._headers
        raw = [str(v) for k, v in fields if len(k) == 4 and k.lower() == "from"]
    except Exception:  # a header the parser could not keep as text: the parsed count
        return 0
    if sum(value.count("@") for value in raw) < 2:
        # each address holds an "@": fewer than two, and the pattern, tried at every
        # character of the value, is spared (7 M of the backlog's 1,134 M instructions)
        return 0
    return len({a.lower() for value in raw for a in _ADDRESS.findall(value)})


def _machine(ctx: _Context) -> bool:
    return any(not m.startswith(_SENDER_DOUBTS) for m in ctx.markers)


def _complaint(ctx: _Context) -> Classification | None:
    complaint: Complaint | None = detect_complaint(ctx.msg, ours=ctx.ours)
    if complaint is None:
        return None
    if complaint.feedback_type == "auth-failure":
        evidence = (*complaint.evidence, "authentication failure report: machine mail")
        return Classification(
            MessageClass.OTHER,
            0.95,
            evidence,
            feedback_type="auth-failure",
            machine=True,
            tokens=complaint.tokens,
        )
    confidence = 0.99 if complaint.complainants or complaint.tokens else 0.8
    return Classification(
        MessageClass.COMPLAINT,
        confidence,
        complaint.evidence,
        addresses=complaint.complainants,
        feedback_type=complaint.feedback_type,
        suppresses=complaint.suppresses and complaint.feedback_type not in MACHINE_TYPES,
        machine=True,
        tokens=complaint.tokens,
    )


def _bounce(ctx: _Context) -> Classification | None:
    report: BounceReport = detect_bounce(
        ctx.msg, ctx.raw, machine=_machine(ctx), compat32=ctx.compat32, ours=ctx.ours
    )
    if not report.is_bounce:
        if report.success_report:
            return Classification(MessageClass.OTHER, 0.95, report.evidence, machine=True)
        return None
    confidence = 0.98 if report.recipients else 0.7
    return Classification(
        MessageClass.BOUNCE,
        confidence,
        report.evidence,
        addresses=report.recipients,
        bounce_kind=report.kind,
        suppresses=report.kind == "hard" and bool(report.recipients),
        bounce_cause=report.cause,
        machine=True,
    )


def _auto_reply(ctx: _Context) -> Classification | None:
    markers = [m for m in ctx.markers if not m.startswith(_SENDER_DOUBTS)]
    text_cue = auto_reply_text(ctx.subject, ctx.body)
    if text_cue:
        markers.append(text_cue)
    if not markers and is_machine_sender(ctx.sender):
        markers.append(f"sender {ctx.sender} is a mail system")
    if not markers:
        markers = robot_markers(ctx.msg, ctx.raw, ctx.sender or "")
    if not markers:
        return None
    words_only = text_cue is not None and markers == [text_cue]
    if (
        words_only
        and str(text_cue).startswith(OUT_OF_OFFICE_WORDS)
        and not acknowledgement_text(ctx.body)
        and _asks_to_stop(ctx)
    ):
        # only words look like an out-of-office ("I am on vacation this week, but please
        # unsubscribe me", a subject "Abwesenheit ab 1.12. / bitte austragen"): no
        # header or sender says machine, no help desk acknowledges anything, and the
        # same words ask to stop. A person wrote it; taken for an auto-reply it would be
        # recorded and neither applied nor reviewed
        return None
    if (
        words_only
        and str(text_cue).startswith(OUT_OF_OFFICE_WORDS)
        and not acknowledgement_text(ctx.body)
        and names_unsubscribing(ctx.intent)
    ):
        # only words look like an out-of-office, and the writer's own text (quotes and
        # footers left out) names unsubscribing in a way no phrase reads as a request:
        # a person may have asked ("Estoy fuera de la oficina, pero dadme de baja"), so a
        # person looks. As an auto-reply it would be recorded, never applied nor seen
        return Classification(
            MessageClass.OTHER,
            0.5,
            (f"{text_cue}, but its own text names unsubscribing: a person reads it",),
        )
    if _DMARC_REPORT.search(ctx.subject) and not text_cue:
        return Classification(
            MessageClass.OTHER,
            0.9,
            ("DMARC aggregate report", *markers),
            machine=True,
        )
    confidence = 0.95 if len(markers) > 1 or not text_cue else 0.8
    return Classification(MessageClass.AUTO_REPLY, confidence, tuple(markers), machine=True)


def _asks_to_stop(ctx: _Context) -> bool:
    """The writer's own words hold an explicit opt-out phrase (not a bare keyword)."""
    return any(h.strong and h.where == "body" for h in unsubscribe_hits("", ctx.intent))


def _privacy(ctx: _Context) -> Classification | None:
    text = ctx.intent
    intent = privacy_intent(ctx.subject, text)
    behalf = on_behalf(ctx.subject, text)
    kinds = intent.kinds
    if not kinds and behalf is not None and behalf.erasure:
        # "delete my late father's account": no phrase of the lists, which are written
        # in the first person, but an erasure all the same
        kinds = ("erasure",)
    if not kinds:
        return None
    optout_hits = unsubscribe_hits(ctx.subject, text)
    optout = bool(optout_hits) or any(k in _PRIVACY_OPTOUT_KINDS for k in kinds)
    evidence = tuple(h.evidence() for h in intent.hits[:4]) + tuple(
        h.evidence() for h in optout_hits[:2]
    )
    if behalf is not None:
        evidence += (behalf.evidence(),)
    return Classification(
        MessageClass.PRIVACY_REQUEST,
        0.85,
        evidence,
        addresses=_sender_addresses(ctx),
        privacy_kinds=kinds,
        privacy_optout=optout,
        suppresses=optout,
        other_addresses_in_body=_other_addresses(ctx),
        on_behalf=behalf.relation if behalf else None,
    )


def _unsubscribe(ctx: _Context) -> Classification | None:
    text = ctx.intent
    hits = unsubscribe_hits(ctx.subject, text)
    if hits and (other := _not_email(text) or other_channel(ctx.subject, text)) is not None:
        thing, rest = other
        # "please stop sending the paper invoice to our old office", "STOPP SMS", "non
        # mandatemi più il catalogo cartaceo": a request to stop something, but not mail
        # from our lists; a person reads it, unless the rest of the message asks to stop
        # the mail too
        subject = "" if channel_subject(ctx.subject) else ctx.subject
        hits = unsubscribe_hits(subject, rest)
        if not hits:
            why = f'asks to stop something else than e-mail: "{thing}"'
            return Classification(MessageClass.OTHER, 0.6, (why,))
    evidence = [h.evidence() for h in hits[:3]]
    # the writer's own words, footer-like lines included, must be short: a question
    # holding "preferences" or "link" read as a footer and left a short rest
    if (
        not hits
        and sent_to_unsubscribe_address(ctx.msg)
        and _short_statement(text)
        and _short_statement(ctx.body)
        and not _ORDER_TALK.search(text)
    ):
        evidence.append("sent to the unsubscribe address with no other request")
    if not evidence:
        return None
    strong = any(h.strong or h.where == "subject" for h in hits) or not hits
    behalf = on_behalf(ctx.subject, text) if hits else None
    if behalf is not None:
        evidence.append(behalf.evidence())
    return Classification(
        MessageClass.UNSUBSCRIBE,
        0.9 if strong else 0.8,
        tuple(evidence),
        addresses=_sender_addresses(ctx),
        suppresses=True,
        other_addresses_in_body=_other_addresses(ctx),
        on_behalf=behalf.relation if behalf else None,
    )


#: "stop sending/mailing … <a thing that is not e-mail>" in one sentence (folded text)
_NOT_EMAIL: Final = re.compile(
    r"(?<!\w)(?:(?:stop|quit|cease|no longer)\s+(?:\w+\s+){0,2}?(?:sending|mailing|posting)\s+"
    r"(?:[\w']+\s+){0,3}?(?P<sent>paper|printed|invoices?|bills?|statements?"
    r"|catalog(?:ue)?s?|letters?|brochures?|flyers?|magazines?|parcels?|packages?|samples?"
    r"|texts?|sms|text messages)"
    # "please stop the delivery for tomorrow, I'm not home": an order's, not our mail
    r"|stop\s+(?:the|my|this|our|that)\s+(?:\w+\s+){0,2}?(?P<thing>deliver(?:y|ies)"
    r"|orders?|payments?|direct debit|standing order|shipments?|parcels?|packages?"
    r"|renewal|auto-renewal|charges?|booking|membership))(?!\w)[^.!?;]*"
)
_STOP_VERBS: Final = ("stop", "quit", "cease", "no longer")
_EMAIL_WORD: Final = re.compile(
    r"(?<!\w)(?:e-?mails?|newsletters?|mailing list|list|mails|unsubscribe|spam)(?!\w)"
)


def _not_email(text: str) -> tuple[str, str] | None:
    """The first thing a stop request names when it is not our mail and its sentence
    names no mail either ("stop sending the paper invoice"), and the text without such
    sentences; None when there is none."""
    if not any(verb in text for verb in _STOP_VERBS):
        return None  # every match starts with one: the pattern's try at each offset spared
    found: str | None = None
    rest: list[str] = []
    kept = 0
    for match in _NOT_EMAIL.finditer(text):
        start = max(text.rfind(c, 0, match.start()) for c in ".!?;") + 1
        if _EMAIL_WORD.search(text, start, match.end()):
            continue
        found = found or match.group("sent") or match.group("thing")
        rest.append(text[kept:start])
        kept = match.end()
    if found is None:
        return None
    rest.append(text[kept:])
    return found, " ".join(rest)


def _other(ctx: _Context) -> Classification:
    machine = _machine(ctx)
    if machine:
        evidence: tuple[str, ...] = ("machine-generated message without a recognised report",)
        return Classification(MessageClass.OTHER, 0.5, evidence, machine=True)
    # held for review as the sender's unclear request: the reviewer is told when it
    # asks something for a family member ("Bitte melden Sie meinen Mann ab")
    behalf = on_behalf(ctx.subject, ctx.intent)
    evidence = ("no request recognised",) + ((behalf.evidence(),) if behalf else ())
    return Classification(
        MessageClass.OTHER, 0.5, evidence, on_behalf=behalf.relation if behalf else None
    )


#: an order, an invoice or its number (folded text): "Ik wil mijn bestelling 50213
#: annuleren" sent to the unsubscribe address cancels an order, not the mail
_ORDER_TALK: Final = re.compile(
    r"\d{4,}|(?<!\w)(?:orders?|bestelling\w*|bestellung\w*|commandes?|pedidos?|ordine"
    r"|encomenda\w*|zamowieni\w*|objednavk\w*|invoices?|rechnung\w*|factura\w*|facture\w*"
    r"|fattur\w*|fatura\w*|factuur\w*)(?!\w)"
)


def _short_statement(text: str) -> bool:
    """No question, at most 12 words, and no link: the whole of a mail sent to the
    unsubscribe address to say "that's me" (phishing and spam sent there carry a link).
    Chinese and Japanese are written without spaces: two characters count as a word."""
    if "?" in text or "？" in text or _LINK.search(text):
        return False
    return len(text.split()) + len(_CJK.findall(text)) // 2 <= 12


_LINK: Final = re.compile(r"(?:https?://|www\.)\S", re.IGNORECASE)
_CJK: Final = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _sender_addresses(ctx: _Context) -> tuple[str, ...]:
    return (ctx.sender,) if ctx.sender else ()


def _other_addresses(ctx: _Context) -> tuple[str, ...]:
    """Addresses written in the request that are not the sender's own (needs review),
    and the people of a message it forwards: Bob forwarding Jane's newsletter (or Jane's
    own request) with "unsubscribe!" asks about Jane, not about Bob."""
    ours = set(addresses_in(headers(ctx.msg, "To") + headers(ctx.msg, "Delivered-To")))
    body = ctx.body[:20_000]
    # an address holds "@": without one, the pattern's try at every word is spared
    found = addresses_in(_ADDRESS.findall(before_legal_notice(body))) if "@" in body else ()
    own = tuple(a for a in found if a != ctx.sender and a not in ours)
    domains = {a.rpartition("@")[2] for a in ours}
    forwarded = tuple(
        a
        for a in _forwarded_people(ctx)
        if a != ctx.sender and a.rpartition("@")[2] not in domains and a not in own
    )
    return own + forwarded


#: the line that opens a forwarded message in a body, in the clients' languages
_FORWARD_MARK: Final = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transf[ée]r[ée]|"
    r"mensaje reenviado|mensagem encaminhada|messaggio inoltrato|doorgestuurd bericht|"
    r"original message|urspr[üu]ngliche nachricht|message d'origine|mensaje original|"
    r"mensagem original|messaggio originale|oorspronkelijk bericht)"
    r"|begin forwarded message\s*:)",
    re.IGNORECASE | re.MULTILINE,
)
#: a From/To/Cc line of a forwarded header block (en, de, fr, es, pt, it, nl)
_FORWARD_PEOPLE: Final = re.compile(
    r"^[ \t>]*\*?(?:from|to|cc|von|an|de|para|[àa]|aan|van|da)\s*:\*?[ \t]*(.+)$",
    re.IGNORECASE | re.MULTILINE,
)


def _forwarded_people(ctx: _Context) -> tuple[str, ...]:
    """From, To and Cc of the messages ``ctx`` forwards: attached, or inline below a
    forward line. Our own domains are left to the caller."""
    values: list[str] = []
    for part in walk(ctx.msg):
        if content_type(part) in ("message/rfc822", "message/global"):
            for sub in children(part):
                values += headers(sub, "From") + headers(sub, "To") + headers(sub, "Cc")
    text = own_text(ctx.msg)
    # each alternative of _FORWARD_MARK holds "--" or "begin forwarded message": looked
    # for first, they spare its line-by-line search of the whole text (with a quoted
    # newsletter, 3% of a reply's classification)
    low = caseless(text)  # character for character: its first 4,000 are the text's
    has_mark = "--" in text or "begin forwarded message" in low
    mark = _FORWARD_MARK.search(text) if has_mark else None
    if mark is None and _has_sent_line(low[:4000]):
        mark = _OUTLOOK_HEADER_BLOCK.search(text, 0, 4000)
    if mark is not None:
        block = text[mark.start() : mark.end() + 4000]
        values += [m.group(1) for m in _FORWARD_PEOPLE.finditer(block)]
    return addresses_in(values)


def _has_sent_line(low: str) -> bool:
    """A cheap look for the end of the second line of _OUTLOOK_HEADER_BLOCK, its word and
    a colon (in a forward's first 4,000 characters, where its header block is), before
    running it; ``low``: those characters, case-folded (message.caseless).

    From each colon back: a reply's own text has few, and the character before most of
    them (a quoted "This week: …") ends no such word; eight substring scans of the 4,000
    characters cost three times as much."""
    colon = low.find(":", 1)  # a word before it
    while colon >= 0:
        last = low[colon - 1]
        if last in _SENT_LAST or last.isspace():
            head = low[max(0, colon - 60) : colon].rstrip()
            if len(head) < 9 < colon:  # more whitespace than the window: all of it
                head = low[:colon].rstrip()
            if head.endswith(_SENT_WORDS):
                return True
        colon = low.find(":", colon + 1)
    return False


#: the words of _OUTLOOK_HEADER_BLOCK's second line, as case-folded text spells them
_SENT_WORDS: Final = (
    "sent", "gesendet", "envoyé", "envoye", "enviado", "inviato", "verzonden", "date", "datum",
)  # fmt: skip
#: the last characters of those words (or whitespace: ``\s*`` before the colon)
_SENT_LAST: Final = frozenset(word[-1] for word in _SENT_WORDS)
#: Outlook's forward (and reply) header without a marker line: "From: …" then, within
#: two lines, "Sent: …" (in the clients' languages)
_OUTLOOK_HEADER_BLOCK: Final = re.compile(
    r"^[ \t>]*\*?(?:from|von|de|da|van)\s*:\*?[^\n]*\n(?:[^\n]*\n){0,2}?"
    r"[ \t>]*\*?(?:sent|gesendet|envoy[ée]|enviado|inviato|verzonden|date|datum)\s*:",
    re.IGNORECASE | re.MULTILINE,
)


def _finish(ctx: _Context, result: Classification) -> Classification:
    """Add the facts every class carries: sender, tokens, authentication, Message-ID."""
    evidence = result.evidence
    if ctx.authentication_failed:
        evidence += tuple(m for m in ctx.markers if m.startswith(_SENDER_DOUBTS))
    # every field spelled out: dataclasses.replace() inspects the fields on each call
    return Classification(
        result.message_class,
        result.confidence,
        evidence,
        sender=ctx.sender,
        addresses=result.addresses,
        bounce_kind=result.bounce_kind,
        feedback_type=result.feedback_type,
        suppresses=result.suppresses,
        privacy_kinds=result.privacy_kinds,
        privacy_optout=result.privacy_optout,
        tokens=tuple(dict.fromkeys(result.tokens + ctx.tokens)),
        authentication_failed=ctx.authentication_failed,
        message_id=ctx.message_id,
        other_addresses_in_body=result.other_addresses_in_body,
        machine=result.machine,
        on_behalf=result.on_behalf,
        bounce_cause=result.bounce_cause,
    )
