"""Queries of the outbox and the alert ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from worker.store.models import AlertSent, OutboxMessage
from worker.store.repo import Tx


@dataclass(frozen=True)
class OutboxView:
    id: int
    kind: str
    dedup_key: str
    request_id: int | None
    to_masked: str
    payload: bytes | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


def enqueue(
    tx: Tx,
    *,
    kind: str,
    dedup_key: str,
    request_id: int | None,
    to_masked: str,
    payload: bytes,
    now: datetime,
) -> bool:
    """Queue a message; False when one with the same key was ever queued."""
    stmt = (
        tx.insert_stmt(OutboxMessage.__table__)
        .values(
            kind=kind,
            dedup_key=dedup_key,
            request_id=request_id,
            to_masked=to_masked,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(OutboxMessage.__table__.c.id)
    )
    return tx.session.connection().execute(stmt).scalar_one_or_none() is not None


def claim_due(tx: Tx, now: datetime, limit: int = 50) -> list[OutboxView]:
    """Due messages, locked so that a second instance skips them (PostgreSQL)."""
    q = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_view(m) for m in tx.session.scalars(q)]


def mark_sent(tx: Tx, message_id: int, now: datetime) -> None:
    # the payload holds a full address; once delivered it has no reason to stay
    tx.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status="sent", sent_at=now, payload=None, attempts=OutboxMessage.attempts + 1)
    )


def mark_retry(tx: Tx, message_id: int, *, next_at: datetime, error: str, final: bool) -> None:
    values: dict[str, object] = {
        "attempts": OutboxMessage.attempts + 1,
        "last_error": error[:2000],
        "next_attempt_at": next_at,
    }
    if final:
        values["status"] = "failed"
    tx.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(values))


def counts(tx: Tx) -> dict[str, int]:
    q = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return {status: int(n) for status, n in tx.session.execute(q)}


def list_outbox(tx: Tx, *, status: str | None = None, limit: int = 200) -> list[OutboxView]:
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        q = q.where(OutboxMessage.status == status)
    return [_view(m) for m in tx.session.scalars(q)]


def already_alerted(tx: Tx, request_ids: Sequence[int], day: str) -> set[int]:
    if not request_ids:
        return set()
    q = select(AlertSent.request_id).where(
        AlertSent.request_id.in_(request_ids), AlertSent.day == day
    )
    return set(tx.session.scalars(q))


def record_alerts(tx: Tx, rows: Sequence[tuple[int, str]], day: str, now: datetime) -> None:
    if rows:
        tx.session.connection().execute(
            tx.insert_stmt(AlertSent.__table__).on_conflict_do_nothing(),
            [{"request_id": rid, "day": day, "level": level, "at": now} for rid, level in rows],
        )


def _view(m: OutboxMessage) -> OutboxView:
    return OutboxView(
        m.id,
        m.kind,
        m.dedup_key,
        m.request_id,
        m.to_masked,
        m.payload,
        m.status,
        m.attempts,
        m.next_attempt_at,
        m.last_error,
    )
