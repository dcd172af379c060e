"""Deleting personal data while keeping the proof: addresses go, hashes stay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from worker.store.models import InboundItem, PrivacyRequest, Request, Suppression
from worker.store.repo import Tx


def forget_address(tx: Tx, address_hash: str) -> dict[str, int]:
    """Blank every stored copy of one address; suppressions survive as hash tombstones."""
    counts: dict[str, int] = {}
    for name, stmt in (
        ("requests", update(Request).where(Request.address_hash == address_hash)
         .values(address=None, note=None)),
        ("suppressions", update(Suppression).where(Suppression.address_hash == address_hash)
         .values(address=None)),
        ("privacy_requests", update(PrivacyRequest)
         .where(PrivacyRequest.address_hash == address_hash).values(address=None)),
        ("inbound_items", update(InboundItem).where(InboundItem.sender_hash == address_hash)
         .values(raw=None, raw_codec=None, subject=None)),
    ):  # fmt: skip
        counts[name] = int(tx.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
    return counts


def drop_raw_before(tx: Tx, cutoff: datetime) -> int:
    """Drop stored message bodies received before ``cutoff`` (not those still in review)."""
    stmt = (
        update(InboundItem)
        .where(
            InboundItem.received_at < cutoff,
            InboundItem.raw.is_not(None),
            InboundItem.status.in_(("processed", "resolved")),
        )
        .values(raw=None, raw_codec=None)
    )
    return int(tx.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
