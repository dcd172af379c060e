"""Classifier figures over the shared public corpus: ``make corpus``.

Prints per-class precision and recall, the bounce-recipient hit rate and a confusion
table, then the must-hold targets from the corpus README; exits 1 when a target fails
and 2 when the corpus is missing. The scoring code lives in ``tests/corpus/metrics.py``
so the report and the corpus test can never disagree.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus.metrics import (
    CLASSES,
    Report,
    corpus_root,
    evaluate,
    hardness,
    precision_recall,
    target_failures,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    root = args.corpus or corpus_root()
    if not root.is_dir():
        print(f"corpus not found at {root}; set OPTOUT_CORPUS or put it there", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report = evaluate(root)
    elapsed = time.perf_counter() - started
    _print_table(report)
    _print_confusion(report)
    _print_bounces(report, args.verbose)
    print(f"\n{len(report.results)} messages in {elapsed:.1f} s")
    failures = target_failures(report)
    if failures:
        print("\nTARGETS FAILED:")
        for line in failures:
            print(f"  {line}")
        return 1
    print("\nall corpus targets hold")
    return 0


def _print_table(report: Report) -> None:
    print(f"{'class':<17}{'precision':>10}{'recall':>8}{'predicted':>11}{'actual':>8}")
    for cls, (precision, recall, predicted, actual) in precision_recall(report).items():
        print(f"{cls:<17}{precision:>10.3f}{recall:>8.3f}{predicted:>11}{actual:>8}")


def _print_confusion(report: Report) -> None:
    short = {c: c[:8] for c in CLASSES}
    print("\nconfusion (rows: truth, columns: predicted)")
    print(" " * 17 + "".join(f"{short[c]:>10}" for c in CLASSES))
    for truth in CLASSES:
        row = "".join(f"{report.confusion[(truth, p)]:>10}" for p in CLASSES)
        print(f"{truth:<17}{row}")


def _print_bounces(report: Report, verbose: bool) -> None:
    rate = report.bounce_found / report.bounces if report.bounces else 1.0
    print(
        f"\nbounce failed-recipient hit rate: {report.bounce_found}/{report.bounces} = {rate:.2%}"
    )
    hard = report.hard_expected_found / report.hard_expected if report.hard_expected else 1.0
    print(
        "hard bounces with expected_address found: "
        f"{report.hard_expected_found}/{report.hard_expected} = {hard:.2%}"
    )
    precision, recall, predicted, actual = hardness(report)
    print(
        "hard bounces against the corpus's hardbounce= labels (hard: the address does not "
        f"exist): precision {precision:.3f}, recall {recall:.3f} ({predicted} classified "
        f"hard, {actual} labelled hard, {sum(report.hardness.values())} labelled)"
    )
    if verbose:
        for line in report.hardness_missed:
            print(f"  hardness: {line}")
        for line in report.bounce_missed + report.hard_expected_missed:
            print(f"  miss: {line}")
        for line in report.violations:
            print(f"  violation: {line}")


if __name__ == "__main__":
    sys.exit(main())
