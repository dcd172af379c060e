"""What to do with a classified inbound message: the decision, kept pure.

The classifier says what a message *is*; this module says what optout *does* about it:
which addresses get which suppression, what waits for a person, and where the message
goes afterwards. Rules 5–7 of DESIGN.md live here: no machine mail is ever an opt-out,
a doubtful request (forwarded newsletter, failed sender authentication, a request about
somebody else) waits for review instead of being applied to the wrong person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from worker.core.categories import ALL_PROMOTIONAL
from worker.core.model import Channel, Reason
from worker.core.tokens import TokenClaims
from worker.core.verdict import Classification, MessageClass


class Disposition(StrEnum):
    PROCESSED = "processed"
    REVIEW = "review"


@dataclass(frozen=True)
class Effects:
    """Configured scopes of machine reports (``[effects]``)."""

    hard_bounce: str = "every"
    complaint: str = ALL_PROMOTIONAL
    #: soft bounces of a lasting cause (see :data:`LASTING_CAUSES`) after which an
    #: address gets the hard-bounce effect; 0: never (a soft bounce suppresses nothing)
    soft_bounce_limit: int = 0
    #: ... counted only once the first of them is at least this many days old
    soft_bounce_days: int = 14


@dataclass(frozen=True)
class Action:
    """One request to record: applied at once, or held for review with its deadline."""

    address: str
    scope: str
    reason: Reason
    channel: Channel
    review: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    disposition: Disposition
    actions: tuple[Action, ...] = ()
    privacy_address: str | None = None
    privacy_kinds: tuple[str, ...] = ()
    review_reasons: tuple[str, ...] = ()
    #: may a confirmation be mailed (never to machine mail, bounces or complaints)
    confirmable: bool = False


def plan(
    c: Classification,
    *,
    token: TokenClaims | None = None,
    token_problem: str | None = None,
    effects: Effects = Effects(),
) -> Plan:
    if c.message_class is MessageClass.UNSUBSCRIBE:
        return _unsubscribe(c, token, token_problem)
    if c.message_class is MessageClass.BOUNCE:
        return _report(c, c.bounce_kind == "hard", Reason.HARD_BOUNCE, Channel.BOUNCE,
                       effects.hard_bounce)  # fmt: skip
    if c.message_class is MessageClass.COMPLAINT:
        return _report(c, c.suppresses, Reason.COMPLAINT, Channel.COMPLAINT, effects.complaint,
                       token=token, token_problem=token_problem)  # fmt: skip
    if c.message_class is MessageClass.AUTO_REPLY:
        return Plan(Disposition.PROCESSED)
    if c.message_class is MessageClass.PRIVACY_REQUEST:
        return _privacy(c)
    return _other(c)


def _doubts(c: Classification, address: str, token: TokenClaims | None) -> list[str]:
    doubts: list[str] = []
    if token is not None and c.sender and token.address != c.sender:
        doubts.append("the token names another address than the sender (forwarded?)")
    if c.on_behalf:
        doubts.append(f'the request is about another person ("{c.on_behalf}")')
    others = [a for a in c.other_addresses_in_body if a not in (address, c.sender)]
    if others:
        doubts.append(f"the message names {len(others)} other address(es) in its body")
    if c.authentication_failed:
        doubts.append(
            "the sender is in doubt: it failed the receiving server's authentication "
            "checks, or its From names several addresses"
        )
    return doubts


def _unsubscribe(c: Classification, token: TokenClaims | None, token_problem: str | None) -> Plan:
    address = token.address if token else c.sender
    if address is None:
        return Plan(Disposition.REVIEW, review_reasons=("no usable sender address",))
    scope = token.scope if token else ALL_PROMOTIONAL
    evidence: dict[str, Any] = {"class": c.message_class.value, "confidence": c.confidence}
    if token is not None:
        evidence["token_id"] = token.token_id
    if token_problem:
        evidence["token_problem"] = token_problem
    doubts = _doubts(c, address, token)
    action = Action(address, scope, Reason.OPT_OUT, Channel.EMAIL, bool(doubts), evidence)
    if doubts:
        return Plan(Disposition.REVIEW, (action,), review_reasons=tuple(doubts))
    return Plan(Disposition.PROCESSED, (action,), confirmable=True)


def _report(
    c: Classification,
    suppresses: bool,
    reason: Reason,
    channel: Channel,
    scope: str,
    *,
    token: TokenClaims | None = None,
    token_problem: str | None = None,
) -> Plan:
    if not suppresses:
        return Plan(Disposition.PROCESSED)
    evidence: dict[str, Any] = {"class": c.message_class.value, "feedback_type": c.feedback_type}
    if c.bounce_cause:
        evidence["bounce_cause"] = c.bounce_cause
    addresses = c.addresses
    if not addresses and token is not None and reason is Reason.COMPLAINT:
        # the provider redacted the complainant (Original-Rcpt-To and the original's To):
        # our own token, in the List-Unsubscribe of the original it attached, names the
        # person (RFC 5965 §3.2 allows the redaction; the token is signed, so a report
        # cannot name somebody of its choosing this way). The complaint's scope applies,
        # not the token's list: a complaint stops all promotional mail
        addresses = (token.address,)
        evidence["token_id"] = token.token_id
        evidence["complainant_from"] = "token in the attached original"
    if token is not None and reason is Reason.COMPLAINT and token.address not in addresses:
        # our token says the mail went to somebody else than the complainant: a forwarded
        # newsletter unsubscribed from another mailbox (Apple Mail's button writes from
        # the reader's own address), or a report that names another person than the
        # token; a person decides which of them (if any) stops getting mail
        held = tuple(Action(a, scope, reason, channel, True, evidence) for a in addresses)
        why = "the token names another address than the complainant (forwarded?)"
        return Plan(Disposition.REVIEW, held, review_reasons=(why,))
    if not addresses:
        why = f"{reason.value} without an address"
        if token_problem:
            why += f" ({token_problem})"
        return Plan(Disposition.REVIEW, review_reasons=(why,))
    if reason is Reason.COMPLAINT and c.authentication_failed:
        # a mailbox provider's report fails its own domain's checks: a forged complaint
        # would cut off whomever it names, so a person decides
        held = tuple(Action(a, scope, reason, channel, True, evidence) for a in addresses)
        reasons = tuple(_doubts(c, addresses[0], None))
        return Plan(Disposition.REVIEW, held, review_reasons=reasons)
    actions = tuple(Action(a, scope, reason, channel, evidence=evidence) for a in addresses)
    return Plan(Disposition.PROCESSED, actions)


def _privacy(c: Classification) -> Plan:
    if c.sender is None:
        return Plan(Disposition.REVIEW, review_reasons=("privacy request without a sender",))
    actions: tuple[Action, ...] = ()
    doubts = _doubts(c, c.sender, None)
    if c.privacy_optout:
        evidence = {"class": c.message_class.value, "privacy_kinds": list(c.privacy_kinds)}
        actions = (
            Action(c.sender, ALL_PROMOTIONAL, Reason.OPT_OUT, Channel.EMAIL, bool(doubts),
                   evidence),
        )  # fmt: skip
    return Plan(
        Disposition.REVIEW if doubts else Disposition.PROCESSED,
        actions,
        privacy_address=c.sender,
        privacy_kinds=c.privacy_kinds or ("other",),
        review_reasons=tuple(doubts),
        confirmable=not doubts,
    )


def _other(c: Classification) -> Plan:
    if c.machine:
        return Plan(Disposition.PROCESSED)
    if c.sender is None:
        return Plan(Disposition.REVIEW, review_reasons=("unclassified, no sender",))
    # held as a request so that a person's unclear opt-out still has a deadline
    evidence = {"class": c.message_class.value, "confidence": c.confidence}
    action = Action(c.sender, ALL_PROMOTIONAL, Reason.OPT_OUT, Channel.EMAIL, True, evidence)
    reasons: tuple[str, ...] = ("could not be classified",)
    if c.on_behalf:
        reasons += (f'the request is about another person ("{c.on_behalf}")',)
    return Plan(Disposition.REVIEW, (action,), review_reasons=reasons)


#: soft-bounce causes that say something lasting about the mailbox, unlike a blocklist,
#: a DMARC rejection or a timeout, which are about our mail or the moment: a mailbox
#: that is full or disabled for weeks has been abandoned
LASTING_CAUSES = frozenset({"mailbox_full", "disabled"})


@dataclass(frozen=True)
class SoftBounce:
    """One soft bounce of an address, as the audit trail keeps it."""

    received_at: datetime
    cause: str | None


def escalation(
    history: Sequence[SoftBounce], bounce: SoftBounce, effects: Effects
) -> dict[str, Any] | None:
    """Whether ``bounce``, after ``history`` (the address's earlier soft bounces), makes
    the address a hard bounce: the evidence for it, or None.

    Only lasting causes count, and only when there are ``soft_bounce_limit`` of them
    (this one included) and the first is ``soft_bounce_days`` older than this one: a
    backlog of five reports of one week-end's full mailbox is no abandoned mailbox.
    """
    limit = effects.soft_bounce_limit
    if limit <= 0 or bounce.cause not in LASTING_CAUSES:
        return None
    lasting = sorted(
        b.received_at for b in history if b.cause in LASTING_CAUSES
        and b.received_at <= bounce.received_at
    )  # fmt: skip
    count = len(lasting) + 1
    if count < limit:
        return None
    first = lasting[0] if lasting else bounce.received_at
    if bounce.received_at - first < timedelta(days=effects.soft_bounce_days):
        return None
    return {
        "class": MessageClass.BOUNCE.value,
        "bounce_cause": bounce.cause,
        "escalated": (
            f"{count} soft bounces of a lasting cause ({bounce.cause}) since "
            f"{first.date().isoformat()}"
        ),
    }


def escalated_plan(found: Sequence[tuple[str, dict[str, Any]]], effects: Effects) -> Plan:
    """The plan of a soft bounce whose addresses :func:`escalation` made hard bounces."""
    actions = tuple(
        Action(address, effects.hard_bounce, Reason.HARD_BOUNCE, Channel.BOUNCE,
               evidence=evidence)
        for address, evidence in found
    )  # fmt: skip
    return Plan(Disposition.PROCESSED, actions)
