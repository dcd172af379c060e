"""The corpus README's must-hold rules, on the shared public corpus.

The corpus lives outside the repository (we ship only messages we wrote): it is read
from ``$OPTOUT_CORPUS`` or ``../shared/corpus``. Missing, it fails under CI and skips
elsewhere with a note on where to put it.
"""

from __future__ import annotations

import pytest

from tests.conftest import service_missing
from tests.corpus.metrics import BOUNCE_TARGET, Report, corpus_root, evaluate, hardness


@pytest.fixture(scope="module")
def report() -> Report:
    root = corpus_root()
    if not root.is_dir():
        service_missing(
            f"public email corpus not found at {root}: set OPTOUT_CORPUS or put it at "
            "../shared/corpus beside the repository"
        )
    return evaluate(root)


def test_no_machine_or_human_other_sample_is_classified_unsubscribe(report: Report) -> None:
    wrong = [v for v in report.violations if "classified unsubscribe" in v]
    assert wrong == []


def test_every_unsubscribe_request_is_caught(report: Report) -> None:
    assert [v for v in report.violations if "unsubscribe request missed" in v] == []


def test_privacy_letters_are_privacy_requests(report: Report) -> None:
    assert [v for v in report.violations if "privacy letter" in v] == []


def test_success_dsns_are_never_hard_bounces(report: Report) -> None:
    assert [v for v in report.violations if "success DSN" in v] == []


def test_failed_recipient_is_found_for_99_percent_of_bounces(report: Report) -> None:
    rate = report.bounce_found / report.bounces
    assert rate >= BOUNCE_TARGET, report.bounce_missed


def test_hard_bounces_name_their_expected_address(report: Report) -> None:
    rate = report.hard_expected_found / report.hard_expected
    assert rate >= BOUNCE_TARGET, report.hard_expected_missed


def test_hard_bounces_are_the_ones_whose_address_does_not_exist(report: Report) -> None:
    """sisimai's facts label a bounce hard only when the address does not exist (user or
    host unknown, moved, a domain that takes no mail); a full mailbox, a blocklisted
    sending IP or a DMARC rejection of our mail are not. Before failure causes were read
    every 5.x.x was hard: 329 of the 408 bounces labelled not hard were (precision 0.32;
    now 95, precision 0.615, recall 0.987 -> 0.981)."""
    precision, recall, _predicted, _actual = hardness(report)
    assert recall >= 0.97, report.hardness_missed
    assert precision >= 0.6, report.hardness_missed
    # what stays: mostly "550 User unknown" that sisimai, knowing the receiving MTA, calls
    # a content filter; a report naming an unknown user is suppressed here
    not_hard = report.hardness[(False, True)] + report.hardness[(False, False)]
    assert report.hardness[(False, True)] / not_hard <= 0.25, report.hardness_missed
