"""Counts for metrics, /healthz and `optout status`: a few cheap aggregate queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from worker.store.models import InboundItem, OutboxMessage, Request, Suppression
from worker.store.repo import OPEN_STATUSES, Store


@dataclass(frozen=True)
class QueueState:
    review_backlog: int
    failed_items: int
    open_requests: int
    overdue_requests: int
    outbox_pending: int
    oldest_open_age_seconds: float
    suppressions_by_reason: dict[str, int] = field(default_factory=dict)


def queue_state(store: Store, now: datetime | None = None) -> QueueState:
    now = now or datetime.now(UTC)
    with store.transaction() as tx:
        s = tx.session
        items = dict(
            s.execute(
                select(InboundItem.status, func.count())
                .where(InboundItem.status.in_(("review", "failed")))
                .group_by(InboundItem.status)
            ).all()
        )
        open_q = select(func.count(), func.min(Request.received_at)).where(
            Request.status.in_(OPEN_STATUSES)
        )
        open_count, oldest = s.execute(open_q).one()
        overdue = s.scalar(
            select(func.count()).where(Request.status.in_(OPEN_STATUSES), Request.deadline < now)
        )
        outbox = s.scalar(select(func.count()).where(OutboxMessage.status == "pending"))
        by_reason = dict(
            s.execute(
                select(Suppression.reason, func.count())
                .where(Suppression.lifted_at.is_(None))
                .group_by(Suppression.reason)
            ).all()
        )
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return QueueState(
        review_backlog=int(items.get("review", 0)),
        failed_items=int(items.get("failed", 0)),
        open_requests=int(open_count or 0),
        overdue_requests=int(overdue or 0),
        outbox_pending=int(outbox or 0),
        oldest_open_age_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        suppressions_by_reason={str(k): int(v) for k, v in by_reason.items()},
    )
