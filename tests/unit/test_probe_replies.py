"""The classifier on the probes of people's replies (tests/probes/README.md).

Never: a sender suppressed who asked for nothing (but for the cases named below, both
harmless), nor one who asked for somebody else. And a floor under the opt-outs applied
without review, so a change that loses some shows here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from worker.core.classify import classify
from worker.core.plan import Disposition, plan

PROBES = Path(__file__).resolve().parents[1] / "probes"

#: messages that suppress their sender although they ask for nothing, with why it is
#: accepted (docs/classifier-known-gaps.md)
ACCEPTED = {
    # "Désinscription OK" over "it worked": a reader already out, opted out again
    "056-desabonne-ok-merci.eml",
    # "Duda antes de darme de baja": a question under a subject that holds the request
    "063-es-duda-facturas.eml",
}
#: opt-outs applied without review, at least (of 81, 58, 20, 29, 27, 27, 17, 26, 24, 15,
#: 24 and 24 in the sets)
FLOOR = {
    # 75 since 2026-12-05: "Hoe kan ik me afmelden? Ik zie nergens een afmeldlink" is a
    # how-to question, read by a person as every other one is (096, reviewed, not lost)
    "replies-5": 75,
    "replies-6": 58,
    "replies-7": 20,
    "replies-8": 29,
    "replies-9": 27,
    "replies-10": 27,
    "replies-11": 17,
    "replies-12": 23,
    "replies-13": 24,
    "replies-14": 15,
    "replies-15": 24,
    "replies-16": 24,
}


def _outcomes(folder: str) -> list[tuple[str, str, str]]:
    """(file, expected, what happens: applied / review / nothing) for every message."""
    out = []
    with (PROBES / folder / "labels.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            c = classify((PROBES / folder / row["file"]).read_bytes())
            p = plan(c)
            applied = p.disposition is Disposition.PROCESSED and any(
                a.address == c.sender and not a.review for a in p.actions
            )
            review = p.disposition is Disposition.REVIEW
            out.append((row["file"], row["expected"], "applied" if applied else
                        "review" if review else "nothing"))  # fmt: skip
    return out


@pytest.mark.parametrize("folder", sorted(FLOOR))
def test_no_sender_who_asked_for_nothing_or_for_somebody_else_is_suppressed(
    folder: str,
) -> None:
    wrong = [
        f
        for f, expected, what in _outcomes(folder)
        if what == "applied"
        and expected in ("not_optout", "optout_other_person", "privacy_access_only", "machine")
        and f not in ACCEPTED
    ]  # fmt: skip
    assert wrong == []


@pytest.mark.parametrize("folder", sorted(FLOOR))
def test_opt_outs_are_applied_at_least_as_often_as_today(folder: str) -> None:
    outcomes = _outcomes(folder)
    applied = sum(1 for _f, e, what in outcomes if e == "optout" and what == "applied")
    lost = [f for f, e, what in outcomes if e == "optout" and what == "nothing"]
    assert applied >= FLOOR[folder]
    assert lost == []  # an opt-out is applied or reviewed, never dropped


def test_machine_mail_is_machine_mail_or_goes_to_a_person() -> None:
    # replies-14: autoresponders, help desks, read receipts, list servers, challenge
    # filters, plain-text delivery notices, half of them without any header that says
    # so: none may be taken for a person's opt-out, and none is answered
    for f, expected, what in _outcomes("replies-14"):
        if expected == "machine":
            assert what in ("nothing", "review"), f


def test_letters_that_ask_to_stop_under_a_privacy_law_stop_the_marketing() -> None:
    # replies-17: erasure, objection, do-not-sell and consent withdrawn, with a law cited
    # or in plain words, in the seven languages: each a privacy request that suppresses
    # (its near misses are a known gap: docs/classifier-known-gaps.md)
    folder = PROBES / "replies-17"
    with (folder / "labels.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["expected"] == "privacy_stop"]
    assert len(rows) == 20
    for row in rows:
        c = classify((folder / row["file"]).read_bytes())
        assert c.message_class == "privacy_request", row["file"]
        assert c.suppresses, row["file"]


#: replies-17 near misses that still stop the marketing (docs/classifier-known-gaps.md):
#: praise for an article on the right to erasure, an invitation to a panel on the LGPD
PRIVACY_DISCUSSED = {"020-de-lob-artikel-datenschutz.eml", "056-pt-br-convite-painel-lgpd.eml"}


def test_privacy_words_discussed_or_reserved_stop_nothing() -> None:
    # replies-17: access-only letters (one a template that names every other right as
    # reserved) and messages that discuss privacy rights unsubscribe nobody
    folder = PROBES / "replies-17"
    with (folder / "labels.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["expected"] != "privacy_stop"]
    assert len(rows) == 36
    wrong = [
        r["file"]
        for r in rows
        if classify((folder / r["file"]).read_bytes()).suppresses
        and r["file"] not in PRIVACY_DISCUSSED
    ]
    assert wrong == []


def test_privacy_letters_are_privacy_requests_and_only_those_asking_out_suppress() -> None:
    # replies-11: erasure and objection letters (`privacy`) stop the marketing too;
    # access-only ones (`privacy_access_only`) are queued, and suppress nobody
    folder = PROBES / "replies-11"
    with (folder / "labels.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["expected"].startswith("privacy")]
    assert len(rows) == 14
    for row in rows:
        c = classify((folder / row["file"]).read_bytes())
        assert c.message_class == "privacy_request", row["file"]
        assert c.suppresses == (row["expected"] == "privacy"), row["file"]
