"""The export format, shared by `optout export` and `GET /v1/export`, so files taken from
either door are interchangeable."""

from __future__ import annotations

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
