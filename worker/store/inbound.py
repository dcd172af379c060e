"""Queries of the intake: the inbound ledger, the review queue, privacy requests."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select, update

from worker.core.model import AuditKind
from worker.core.plan import SoftBounce
from worker.errors import InvalidState, NotFound
from worker.store import bulk, rawcodec
from worker.store.models import AuditEvent, InboundItem, ItemRequest, PrivacyRequest, Request
from worker.store.repo import Tx


@dataclass(frozen=True)
class ItemView:
    id: int
    source: str
    item_key: str
    message_id: str | None
    received_at: datetime
    size: int
    status: str
    message_class: str | None
    confidence: float | None
    sender_masked: str | None
    subject: str | None
    detail: dict[str, Any]
    error: str | None
    attempts: int
    has_raw: bool
    request_ids: tuple[int, ...]
    resolved_by: str | None


@dataclass(frozen=True)
class PrivacyView:
    id: int
    item_id: int | None
    address: str | None
    kinds: tuple[str, ...]
    received_at: datetime
    deadline: datetime
    status: str


class NewItem(NamedTuple):
    """An inbound item ready to insert; a named tuple for the reason ``repo.RequestRow``
    gives."""

    source: str
    item_key: str
    message_id: str | None
    received_at: datetime
    size: int
    raw: bytes | None
    raw_codec: str | None
    raw_sha256: str
    status: str
    message_class: str | None
    confidence: float | None
    sender_hash: str | None
    sender_masked: str | None
    subject: str | None
    detail: dict[str, Any]
    error: str | None
    created_at: datetime


def find_item(tx: Tx, source: str, item_key: str) -> ItemView | None:
    row = tx.session.scalars(
        select(InboundItem).where(InboundItem.source == source, InboundItem.item_key == item_key)
    ).first()
    return _view(tx, row) if row else None


def find_items(tx: Tx, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], ItemView]:
    """The items already in the ledger among ``(source, item_key)`` pairs: one query
    (and one more to load those found, when there are any)."""
    if not keys:
        return {}
    wanted = set(keys)
    sources, item_keys = {s for s, _ in wanted}, {k for _, k in wanted}
    if bulk.ENABLED:  # see _FIND_ITEMS; then the ORM loads only what it found
        found = [
            int(item_id)
            for item_id, source, key in bulk.query(
                tx.session, _FIND_ITEMS, _lists(tx, sources, item_keys)
            )
            if (source, key) in wanted
        ]
        if not found:
            return {}
        rows = tx.session.scalars(select(InboundItem).where(InboundItem.id.in_(found)))
    else:
        rows = tx.session.scalars(
            select(InboundItem).where(
                InboundItem.source.in_(sources), InboundItem.item_key.in_(item_keys)
            )
        )
    return {(r.source, r.item_key): _view(tx, r) for r in rows if (r.source, r.item_key) in wanted}


def first_by_message_ids(tx: Tx, message_ids: Sequence[str]) -> dict[str, int]:
    """Message-ID → the earliest item that was not a failure: duplicates from a second
    mailbox are recognised with one query per batch."""
    if not message_ids:
        return {}
    rows: Sequence[Any]
    if bulk.ENABLED:  # see _FIND_ITEMS
        rows = bulk.query(tx.session, _FIRST_BY_MESSAGE_IDS, _lists(tx, set(message_ids)))
    else:
        rows = tx.session.execute(
            select(InboundItem.message_id, func.min(InboundItem.id))
            .where(InboundItem.message_id.in_(set(message_ids)), InboundItem.status != "failed")
            .group_by(InboundItem.message_id)
        ).all()
    return {str(mid): int(item_id) for mid, item_id in rows}


#: The two lookups of every intake batch, on the driver: through the ORM each bound its
#: 500 keys as an expanding IN list, which SQLAlchemy renders again on every call
#: (30,000 bound parameters named for a 10,000-message commit: with the statements
#: built around them, ~0.15 s of its 1.2 s of CPU). Here the keys are one parameter
#: each, a JSON array (SQLite's json_each) or a text[] (PostgreSQL), and both use the
#: indexes the IN lists used (unique (source, item_key); message_id).
_FIND_ITEMS = {
    "sqlite": "SELECT id, source, item_key FROM inbound_items"
    " WHERE source IN (SELECT value FROM json_each(?))"
    " AND item_key IN (SELECT value FROM json_each(?))",
    "postgresql": "SELECT id, source, item_key FROM inbound_items"
    " WHERE source = ANY($1::text[]) AND item_key = ANY($2::text[])",
}
_FIRST_BY_MESSAGE_IDS = {
    "sqlite": "SELECT message_id, min(id) FROM inbound_items"
    " WHERE message_id IN (SELECT value FROM json_each(?)) AND status != 'failed'"
    " GROUP BY message_id",
    "postgresql": "SELECT message_id, min(id) FROM inbound_items"
    " WHERE message_id = ANY($1::text[]) AND status != 'failed' GROUP BY message_id",
}


def _lists(tx: Tx, *values: Collection[str]) -> list[Any]:
    """Each collection of strings as one bound parameter of the dialect's kind. On SQLite
    a JSON array, not ASCII-escaped: a string the driver cannot bind (a lone surrogate)
    fails here as it failed as an IN list's parameter."""
    if tx.dialect == "sqlite":
        return [json.dumps(list(v), ensure_ascii=False) for v in values]
    return [list(v) for v in values]


def soft_bounces(tx: Tx, hashes: Collection[str]) -> dict[str, list[SoftBounce]]:
    """Address hash -> its soft bounces so far, from the ``bounced`` audit events (one
    query, on the audit trail's address-hash index)."""
    if not hashes:
        return {}
    rows = tx.session.execute(
        select(AuditEvent.address_hash, AuditEvent.detail).where(
            AuditEvent.kind == AuditKind.BOUNCED.value,
            AuditEvent.address_hash.in_(sorted(hashes)),
        )
    )
    out: dict[str, list[SoftBounce]] = {}
    for digest, detail in rows:
        try:
            received = datetime.fromisoformat(str(detail["received_at"]))
        except (KeyError, TypeError, ValueError):
            continue  # not ours to count: hand-written, or from another version
        cause = detail.get("cause")
        out.setdefault(str(digest), []).append(
            SoftBounce(received, cause if isinstance(cause, str) else None)
        )
    return out


def get_item(tx: Tx, item_id: int) -> ItemView | None:
    row = tx.session.get(InboundItem, item_id)
    return _view(tx, row) if row else None


def item_raw(tx: Tx, item_id: int) -> bytes | None:
    """The message as received, or None once retention dropped it."""
    row = tx.session.execute(
        select(InboundItem.raw, InboundItem.raw_codec, InboundItem.raw_sha256).where(
            InboundItem.id == item_id
        )
    ).first()
    if row is None or row.raw is None:
        return None
    try:
        return rawcodec.unpack(row.raw, row.raw_codec, row.raw_sha256)
    except rawcodec.StoredMessageUnreadable as exc:
        raise rawcodec.StoredMessageUnreadable(f"inbound item {item_id}: {exc.detail}") from None


def insert_items(tx: Tx, items: Sequence[NewItem]) -> list[int]:
    """Insert a batch; the new ids in the order given.

    Fast path (``bulk``): one multi-row INSERT … RETURNING id, source, item_key, the ids
    put in order by their unique (source, item_key). Core path: one multi-row INSERT
    without RETURNING and one SELECT of the ids by those keys (a Core INSERT … RETURNING
    that must keep the parameter order falls back to one statement per row on SQLite).
    """
    if not items:
        return []
    if bulk.ENABLED:  # one INSERT … RETURNING; the order of the ids comes from the keys
        found = bulk.execute(tx.session, _INSERT_ITEMS, [(*i, 1) for i in items])
        new = {(source, key): int(item_id) for item_id, source, key in found}
        return [new[(i.source, i.item_key)] for i in items]
    tx.session.connection().execute(
        insert(InboundItem), [{**i._asdict(), "attempts": 1} for i in items]
    )
    ids = tx.session.execute(
        select(InboundItem.source, InboundItem.item_key, InboundItem.id).where(
            InboundItem.source.in_({i.source for i in items}),
            InboundItem.item_key.in_([i.item_key for i in items]),
        )
    )
    by_key = {(source, key): int(item_id) for source, key, item_id in ids}
    return [by_key[(i.source, i.item_key)] for i in items]


def update_item(tx: Tx, item_id: int, **values: Any) -> None:
    tx.session.execute(update(InboundItem).where(InboundItem.id == item_id).values(**values))


def link_requests(tx: Tx, pairs: Sequence[tuple[int, int]]) -> None:
    """``(item_id, request_id)`` pairs, in one statement; pairs already there are kept."""
    if pairs and bulk.ENABLED:
        bulk.execute(tx.session, _INSERT_LINKS, pairs)
    elif pairs:
        stmt = tx.insert_stmt(ItemRequest.__table__).on_conflict_do_nothing()
        tx.session.connection().execute(stmt, [{"item_id": i, "request_id": r} for i, r in pairs])


def list_items(tx: Tx, statuses: tuple[str, ...], limit: int = 200) -> list[ItemView]:
    rows = tx.session.scalars(
        select(InboundItem)
        .where(InboundItem.status.in_(statuses))
        .order_by(InboundItem.received_at, InboundItem.id)
        .limit(limit)
    )
    return [_view(tx, r) for r in rows]


@dataclass(frozen=True)
class NewPrivacy:
    item_id: int
    address: str
    address_hash: str
    kinds: tuple[str, ...]
    received_at: datetime
    deadline: datetime


def insert_privacies(tx: Tx, rows: Sequence[NewPrivacy], now: datetime) -> list[int]:
    """Queue privacy requests found in a batch of items; their ids, in order (one item
    holds at most one, which is what mapping the ids back by item relies on)."""
    if not rows:
        return []
    if bulk.ENABLED:
        returned = bulk.execute(
            tx.session,
            _INSERT_PRIVACIES,
            [
                (r.item_id, r.address, r.address_hash, ",".join(r.kinds), r.received_at,
                 r.deadline, "open", now)
                for r in rows
            ],
        )  # fmt: skip
        new = {int(item_id): int(pid) for item_id, pid in returned}
        return [new[r.item_id] for r in rows]
    values = [
        {**r.__dict__, "kinds": ",".join(r.kinds), "status": "open", "created_at": now}
        for r in rows
    ]
    tx.session.connection().execute(insert(PrivacyRequest), values)
    found = tx.session.execute(
        select(PrivacyRequest.item_id, PrivacyRequest.id).where(
            PrivacyRequest.item_id.in_([r.item_id for r in rows])
        )
    )
    by_item = {int(item_id): int(pid) for item_id, pid in found if item_id is not None}
    return [by_item[r.item_id] for r in rows]


_ITEM_FIELDS = NewItem._fields
_INSERT_ITEMS = bulk.Insert(
    InboundItem.__table__,  # type: ignore[arg-type]
    (*_ITEM_FIELDS, "attempts"),
    returning=("id", "source", "item_key"),
)
_INSERT_LINKS = bulk.Insert(
    ItemRequest.__table__,  # type: ignore[arg-type]
    ("item_id", "request_id"),
    on_conflict_do_nothing=True,
)
_INSERT_PRIVACIES = bulk.Insert(
    PrivacyRequest.__table__,  # type: ignore[arg-type]
    ("item_id", "address", "address_hash", "kinds", "received_at", "deadline", "status",
     "created_at"),
    returning=("item_id", "id"),
)  # fmt: skip


def close_privacy(tx: Tx, privacy_id: int, *, actor: str, note: str, now: datetime) -> str:
    """Close an open privacy request; returns its address hash (for the audit event)."""
    row = tx.session.get(PrivacyRequest, privacy_id, with_for_update=True)
    if row is None:
        raise NotFound(f"privacy request {privacy_id}")
    if row.status != "open":
        raise InvalidState(f"privacy request {privacy_id} is {row.status}")
    row.status, row.closed_at, row.closed_by, row.note = "closed", now, actor, note
    tx.session.flush()
    return row.address_hash


def list_privacy(tx: Tx, status: str | None = "open", limit: int = 1000) -> list[PrivacyView]:
    q = select(PrivacyRequest).order_by(PrivacyRequest.deadline).limit(limit)
    if status:
        q = q.where(PrivacyRequest.status == status)
    return [
        PrivacyView(
            p.id,
            p.item_id,
            p.address,
            tuple(k for k in p.kinds.split(",") if k),
            p.received_at,
            p.deadline,
            p.status,
        )
        for p in tx.session.scalars(q)
    ]


def _view(tx: Tx, row: InboundItem) -> ItemView:
    ids = tuple(
        tx.session.scalars(
            select(ItemRequest.request_id)
            .join(Request, Request.id == ItemRequest.request_id)
            .where(ItemRequest.item_id == row.id)
            .order_by(ItemRequest.request_id)
        )
    )
    return ItemView(
        id=row.id,
        source=row.source,
        item_key=row.item_key,
        message_id=row.message_id,
        received_at=row.received_at,
        size=row.size,
        status=row.status,
        message_class=row.message_class,
        confidence=row.confidence,
        sender_masked=row.sender_masked,
        subject=row.subject,
        detail=dict(row.detail or {}),
        error=row.error,
        attempts=row.attempts,
        has_raw=row.raw is not None,
        request_ids=ids,
        resolved_by=row.resolved_by,
    )
