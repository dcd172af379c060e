"""Everything intake needs to know about one raw message before it touches the database.

Classification is the costly, pure part of intake, so it is done here, away from the
transaction: the poller runs :func:`prepare_many` in a process pool on the other cores
while the event loop fetches the next batch and commits the previous one. Inputs and
outputs are plain bytes and frozen dataclasses, which is what lets them cross a process
boundary cheaply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

from worker.core.classify import classify_with_subject
from worker.core.message import header, parse_bytes
from worker.core.verdict import DEFAULT_MAX_BYTES, Prepared

__all__ = ["Prepared", "prepare", "prepare_many", "subject"]

#: how much of a message :func:`subject` reads its header block from
_HEAD_CUT: Final = 65536


def prepare(
    raw: bytes, max_bytes: int = DEFAULT_MAX_BYTES, ours: frozenset[str] = frozenset()
) -> Prepared:
    """Classify one message; never raises (neither does :func:`classify`)."""
    classification, parsed_subject = classify_with_subject(raw, max_bytes=max_bytes, ours=ours)
    if parsed_subject is not None and _whole_head(raw):
        # the same header lines subject() would parse: the block ends before its cut
        subj = parsed_subject[:500] or None
    else:
        subj = subject(raw)
    return Prepared(classification, subj, hashlib.sha256(raw).hexdigest())


def _whole_head(raw: bytes) -> bool:
    """True when :func:`subject`'s cut keeps the whole header block of ``raw``.

    The parser ends the header block at the first empty line; an empty line found
    within the cut is one, so the parser stops there or earlier, on the same lines.
    """
    return len(raw) <= _HEAD_CUT or b"\r\n\r\n" in raw[:_HEAD_CUT] or b"\n\n" in raw[:_HEAD_CUT]


def prepare_many(
    raws: Sequence[bytes], max_bytes: int = DEFAULT_MAX_BYTES, ours: frozenset[str] = frozenset()
) -> list[Prepared]:
    """One call per chunk: a process pool pays its pickling and wake-up once per chunk."""
    return [prepare(raw, max_bytes, ours) for raw in raws]


def subject(raw: bytes) -> str | None:
    """The decoded Subject, cut to 500 characters; None when absent or unreadable."""
    try:
        # the header block only: the classifier has parsed the whole message already
        head = raw[:_HEAD_CUT].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        return header(parse_bytes(head), "Subject")[:500] or None
    except Exception:  # the subject is a convenience for the review list only
        return None
