"""Scopes: an opt-out never reaches transactional mail; the decision names its reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.core.categories import Categories, Kind
from worker.core.decision import may_send
from worker.core.model import ActiveSuppression, Reason
from worker.errors import InvalidScope, UnknownCategory

CATS = Categories.from_kinds(
    {
        "account": Kind.TRANSACTIONAL,
        "receipts": Kind.TRANSACTIONAL,
        "newsletter": Kind.PROMOTIONAL,
        "offers": Kind.PROMOTIONAL,
    }
)
T1 = datetime(2026, 11, 1, tzinfo=UTC)
T2 = datetime(2026, 11, 2, tzinfo=UTC)


def sup(scope: str, since: datetime = T1, reason: Reason = Reason.OPT_OUT) -> ActiveSuppression:
    return ActiveSuppression(scope, since, reason, 7)


def test_all_promotional_opt_out_stops_every_promotional_category() -> None:
    for cat in ("newsletter", "offers"):
        d = may_send(CATS, cat, [sup("all")])
        assert not d.allowed
        assert d.reason is Reason.OPT_OUT
        assert d.since == T1
        assert d.request_id == 7


def test_opt_out_never_stops_transactional_mail() -> None:
    for cat in ("account", "receipts"):
        assert may_send(CATS, cat, [sup("all"), sup("newsletter"), sup("offers")]).allowed


def test_one_category_opt_out_leaves_the_others() -> None:
    assert not may_send(CATS, "newsletter", [sup("newsletter")]).allowed
    assert may_send(CATS, "offers", [sup("newsletter")]).allowed


def test_every_scope_stops_transactional_too() -> None:
    d = may_send(CATS, "account", [sup("every", reason=Reason.HARD_BOUNCE)])
    assert not d.allowed
    assert d.reason is Reason.HARD_BOUNCE


def test_oldest_blocking_suppression_is_reported() -> None:
    d = may_send(CATS, "newsletter", [sup("newsletter", T2), sup("all", T1)])
    assert d.since == T1
    assert d.scope == "all"


def test_opt_out_scope_refuses_transactional_and_unknown() -> None:
    assert CATS.opt_out_scope("all") == "all"
    assert CATS.opt_out_scope("offers") == "offers"
    with pytest.raises(InvalidScope, match="transactional"):
        CATS.opt_out_scope("account")
    with pytest.raises(InvalidScope, match="reserved"):
        CATS.opt_out_scope("every")
    with pytest.raises(UnknownCategory, match="'nosuch'"):
        CATS.opt_out_scope("nosuch")


def test_unknown_category_in_a_check_is_an_error() -> None:
    with pytest.raises(UnknownCategory, match="known: account, newsletter, offers, receipts"):
        may_send(CATS, "nosuch", [])


def test_covered_by_and_scopes_blocking_are_inverse() -> None:
    for scope in ("all", "every", "newsletter", "offers", "account"):
        for cat in CATS.names:
            assert (cat in CATS.covered_by(scope)) == (scope in CATS.scopes_blocking(cat))


def test_reserved_names_cannot_be_categories() -> None:
    with pytest.raises(ValueError, match="invalid category name"):
        Categories.from_kinds({"all": Kind.PROMOTIONAL})
