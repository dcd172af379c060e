"""Classifier metrics over the shared public corpus (``../shared/corpus``).

One copy of the scoring logic, used by ``tests/corpus/test_corpus.py`` (the must-hold
targets as assertions) and by ``scripts/corpus_report.py`` (``make corpus``: the figures).
The corpus is read in place and never copied into this repository.
"""

from __future__ import annotations

import csv
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

from worker.core.classify import Classification, MessageClass, classify

CLASSES = tuple(c.value for c in MessageClass)
MACHINE = frozenset({"other", "auto_reply"})
#: corpus label -> the classes that count as right for it
EXPECTED: dict[str, frozenset[str]] = {
    "unsubscribe_request": frozenset({"unsubscribe"}),
    "bounce": frozenset({"bounce"}),
    "bounce_delayed": frozenset({"bounce"}),
    "dsn_delivered": MACHINE,
    "not_bounce": MACHINE,
    "other_automated": MACHINE,
    "complaint_arf_authfailure": MACHINE,
    "autoreply": frozenset({"auto_reply"}),
    "complaint_arf": frozenset({"complaint"}),
    "human_other": frozenset({"other"}),
}
NEVER_UNSUBSCRIBE = frozenset(
    {
        "bounce",
        "bounce_delayed",
        "dsn_delivered",
        "not_bounce",
        "other_automated",
        "complaint_arf",
        "complaint_arf_authfailure",
        "autoreply",
        "human_other",
    }
)
BOUNCE_TARGET = 0.99
_HEADER_NAMES = ("from", "to", "subject", "date", "received", "return-path", "message-id")


@dataclass(frozen=True)
class Sample:
    """One labelled corpus file."""

    folder: str
    filename: str
    label: str
    expected: tuple[str, ...]
    extra: str

    @property
    def name(self) -> str:
        return f"{self.folder}/{self.filename}"

    @property
    def kind(self) -> str:
        """The label, with sisimai's auth-failure ARF reports counted as the corpus README
        says (``complaint_arf_authfailure``: machine mail, not a person's complaint)."""
        if self.label == "complaint_arf" and "feedbacktype=auth-failure" in self.extra:
            return "complaint_arf_authfailure"
        return self.label


@dataclass
class Report:
    """Everything the report prints and the test asserts."""

    results: list[tuple[Sample, Classification]] = field(default_factory=list)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    bounces: int = 0
    bounce_found: int = 0
    bounce_missed: list[str] = field(default_factory=list)
    hard_expected: int = 0
    hard_expected_found: int = 0
    hard_expected_missed: list[str] = field(default_factory=list)
    #: bounces whose labels say hard or not (sisimai's ``hardbounce=`` in ``extra``):
    #: (labelled hard, classified hard) -> count, and the disagreements by name
    hardness: Counter[tuple[bool, bool]] = field(default_factory=Counter)
    hardness_missed: list[str] = field(default_factory=list)


def corpus_root() -> Path:
    """``$OPTOUT_CORPUS``, else ``shared/corpus`` beside the repository (or beside one of
    its parent folders, for a checkout nested one level deeper)."""
    env = os.environ.get("OPTOUT_CORPUS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    for parent in repo.parents:
        candidate = parent / "shared" / "corpus"
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / "corpus"


def load_samples(root: Path) -> list[Sample]:
    samples: list[Sample] = []
    for labels in sorted(root.glob("*/labels.csv")):
        with labels.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                samples.append(
                    Sample(
                        labels.parent.name,
                        row["filename"],
                        row["label"].strip(),
                        tuple(row["expected_address"].lower().split()),
                        row["extra"],
                    )
                )
    return samples


def message_bytes(root: Path, sample: Sample) -> bytes:
    """The sample as a message: body-only fixtures get a minimal reply header block."""
    data = (root / sample.folder / sample.filename).read_bytes()
    if sample.folder == "datenanfragen-templates":
        data = render_template(data.decode("utf-8")).encode("utf-8")
    if _has_headers(data):
        return data
    html = sample.filename.endswith(".html") or data.lstrip()[:1] == b"<"
    ctype = "text/html" if html else "text/plain"
    head = (
        "From: Reader <reader@example.org>\n"
        "To: news@example.com\n"
        "Subject: Re: Your message\n"
        f"Message-ID: <corpus-{zlib.crc32(sample.name.encode())}@example.org>\n"
        "MIME-Version: 1.0\n"
        f"Content-Type: {ctype}; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    return head.encode("ascii") + data


def render_template(text: str) -> str:
    """Fill a datenanfragen letter: every conditional block on, placeholders with a name."""
    text = re.sub(r"</?[a-z]+>", "", text)
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\[[\w-]+>([^\[\]]*)\]", r"\1", text)
    return re.sub(r"\{[^{}]*\}", "Jane Doe", text)


def _has_headers(data: bytes) -> bool:
    try:
        parsed = BytesHeaderParser().parsebytes(data[:65536])
    except Exception:
        return False
    return any(name in parsed for name in _HEADER_NAMES)


def iter_results(root: Path) -> Iterator[tuple[Sample, Classification]]:
    for sample in load_samples(root):
        yield sample, classify(message_bytes(root, sample))


def evaluate(root: Path) -> Report:
    report = Report()
    for sample, result in iter_results(root):
        report.results.append((sample, result))
        got = result.message_class.value
        report.confusion[(truth_class(sample.kind, got), got)] += 1
        _check(report, sample, result)
    return report


def truth_class(label: str, predicted: str) -> str:
    """The class a label stands for; for "machine mail" labels, the prediction if allowed."""
    if label.startswith("privacy_"):
        return "privacy_request"
    allowed = EXPECTED.get(label, frozenset({"other"}))
    if predicted in allowed:
        return predicted
    return "other" if "other" in allowed else next(iter(sorted(allowed)))


def _check(report: Report, sample: Sample, result: Classification) -> None:
    got = result.message_class.value
    if sample.kind in NEVER_UNSUBSCRIBE and got == "unsubscribe":
        report.violations.append(f"{sample.name}: {sample.kind} classified unsubscribe")
    if sample.label == "unsubscribe_request" and got != "unsubscribe":
        report.violations.append(f"{sample.name}: unsubscribe request missed ({got})")
    if sample.label.startswith("privacy_") and got != "privacy_request":
        report.violations.append(f"{sample.name}: privacy letter classified {got}")
    if sample.label == "dsn_delivered" and result.bounce_kind == "hard":
        report.violations.append(f"{sample.name}: success DSN classified as a hard bounce")
    if sample.label in {"bounce", "bounce_delayed"}:
        report.bounces += 1
        found = got == "bounce" and bool(result.addresses)
        if found and sample.expected:
            found = all(a in result.addresses for a in sample.expected)
        report.bounce_found += found
        if not found:
            report.bounce_missed.append(f"{sample.name} -> {got} {result.addresses}")
    labelled = _hardbounce(sample.extra) if sample.label == "bounce" else None
    if labelled is not None:
        hard = got == "bounce" and result.bounce_kind == "hard"
        report.hardness[(labelled, hard)] += 1
        if labelled != hard:
            report.hardness_missed.append(
                f"{sample.name}: labelled {'hard' if labelled else 'not hard'}, got "
                f"{got} {result.bounce_kind} ({result.bounce_cause})"
            )
    if sample.label == "bounce" and sample.expected:
        report.hard_expected += 1
        if got == "bounce" and all(a in result.addresses for a in sample.expected):
            report.hard_expected_found += 1
        else:
            report.hard_expected_missed.append(f"{sample.name} -> {got} {result.addresses}")


def _hardbounce(extra: str) -> bool | None:
    """sisimai's verdict on the address (``hardbounce=true``: it does not exist), if given."""
    for part in extra.split():
        if part.startswith("hardbounce="):
            return part.split("=", 1)[1].lower() == "true"
    return None


def hardness(report: Report) -> tuple[float, float, int, int]:
    """Hard bounces against sisimai's labels: (precision, recall, classified hard,
    labelled hard)."""
    tp = report.hardness[(True, True)]
    predicted = tp + report.hardness[(False, True)]
    actual = tp + report.hardness[(True, False)]
    return (tp / predicted if predicted else 1.0, tp / actual if actual else 1.0,
            predicted, actual)  # fmt: skip


def precision_recall(report: Report) -> dict[str, tuple[float, float, int, int]]:
    """Per class: (precision, recall, predicted count, true count)."""
    out: dict[str, tuple[float, float, int, int]] = {}
    for cls in CLASSES:
        tp = report.confusion[(cls, cls)]
        predicted = sum(n for (_t, p), n in report.confusion.items() if p == cls)
        actual = sum(n for (t, _p), n in report.confusion.items() if t == cls)
        out[cls] = (
            tp / predicted if predicted else 1.0,
            tp / actual if actual else 1.0,
            predicted,
            actual,
        )
    return out


def target_failures(report: Report) -> list[str]:
    """The corpus README's must-hold rules that do not hold; empty when all pass."""
    failures = list(report.violations)
    if report.bounces and report.bounce_found / report.bounces < BOUNCE_TARGET:
        failures.append(
            f"failed recipient found for {report.bounce_found}/{report.bounces} bounces"
            f" (< {BOUNCE_TARGET:.0%})"
        )
    rate = report.hard_expected_found / report.hard_expected if report.hard_expected else 1.0
    if rate < BOUNCE_TARGET:
        failures.append(
            f"expected address found for {report.hard_expected_found}/{report.hard_expected}"
            f" hard bounces (< {BOUNCE_TARGET:.0%})"
        )
    return failures
