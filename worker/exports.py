"""The export format, shared by `optout export` and `GET /v1/export`, so files taken from
either door are interchangeable."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from worker.core.model import SuppressionView
from worker.core.times import iso


def export_columns(*, hashed: bool, incremental: bool) -> list[str]:
    cols = ["address_sha256" if hashed else "address", "scope", "reason", "since", "channel"]
    return cols + (["status", "lifted_at"] if incremental else [])


def export_record(s: SuppressionView, *, hashed: bool, incremental: bool) -> dict[str, Any]:
    """One row; a hashed export never carries the address, a full one never the hash."""
    rec: dict[str, Any] = (
        {"address_sha256": s.address_hash} if hashed else {"address": s.address or ""}
    )
    rec.update(scope=s.scope, reason=s.reason.value, since=iso(s.since))
    rec["channel"] = s.channel.value if s.channel else None
    if incremental:
        rec.update(status="lifted" if s.lifted_at else "active", lifted_at=iso(s.lifted_at))
    return rec


def export_chunks(
    rows: Iterable[SuppressionView],
    *,
    fmt: str,
    hashed: bool,
    incremental: bool,
    every: int = 1000,
) -> Iterator[tuple[str, int]]:
    """The export as text pieces of about ``every`` rows, with the row count of each, so
    a file, a terminal or an HTTP stream is written without holding the list in memory.
    A CSV always starts with its header, even when no row follows."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=export_columns(hashed=hashed, incremental=incremental))
    if fmt == "csv":
        writer.writeheader()
    n = 0
    for s in rows:
        if not hashed and s.address is None:
            continue  # a tombstone has only its hash; it appears in hashed exports
        rec = export_record(s, hashed=hashed, incremental=incremental)
        if fmt == "ndjson":
            buf.write(json.dumps(rec) + "\n")
        else:
            writer.writerow(rec)
        n += 1
        if n == every:
            yield buf.getvalue(), n
            buf.seek(0)
            buf.truncate()
            n = 0
    yield buf.getvalue(), n
