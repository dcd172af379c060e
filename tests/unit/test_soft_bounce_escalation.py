"""A mailbox that stays full or disabled: when soft bounces become a hard bounce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from worker.core.model import Channel, Reason
from worker.core.plan import Disposition, Effects, SoftBounce, escalated_plan, escalation

DAY0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ON = Effects(soft_bounce_limit=3, soft_bounce_days=14)


def full(days: float, cause: str | None = "mailbox_full") -> SoftBounce:
    return SoftBounce(DAY0 + timedelta(days=days), cause)


def test_never_by_default() -> None:
    history = [full(d) for d in range(0, 60, 5)]
    assert escalation(history, full(90), Effects()) is None


def test_the_limit_reached_over_the_days_makes_it_hard() -> None:
    evidence = escalation([full(0), full(7)], full(15), ON)
    assert evidence is not None
    assert evidence["bounce_cause"] == "mailbox_full"
    assert evidence["escalated"] == (
        "3 soft bounces of a lasting cause (mailbox_full) since 2026-11-02"
    )


def test_too_few_or_too_soon_is_not_enough() -> None:
    assert escalation([full(0)], full(20), ON) is None  # two bounces, three needed
    assert escalation([full(0), full(1)], full(2), ON) is None  # three in two days


def test_only_lasting_causes_count() -> None:
    # our IP on a blocklist says nothing about the mailbox, nor does a timeout
    history = [full(0, "blocked"), full(7, "expired"), full(10, "disabled")]
    assert escalation(history, full(20, "mailbox_full"), ON) is None
    assert escalation([full(0), full(7)], full(20, "blocked"), ON) is None
    assert escalation([full(0, "disabled"), full(7)], full(20, "disabled"), ON) is not None


def test_later_bounces_of_a_backlog_do_not_count_for_an_earlier_one() -> None:
    # an old report processed after newer ones: the newer ones are not its history
    assert escalation([full(20), full(30)], full(0), ON) is None


def test_the_escalated_plan_applies_the_hard_bounce_effect() -> None:
    p = escalated_plan([("gone@example.net", {"escalated": "x"})], Effects(hard_bounce="all"))
    assert p.disposition is Disposition.PROCESSED
    (action,) = p.actions
    assert (action.address, action.scope, action.reason, action.channel) == (
        "gone@example.net",
        "all",
        Reason.HARD_BOUNCE,
        Channel.BOUNCE,
    )
    assert not action.review
