"""Tables. All times are stored as UTC; SQLite keeps them naive, so a type adds the zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on both backends."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class Request(Base):
    """One opt-out request as received: the unit with a deadline."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    # NULL once the person's data is deleted; the hash stays (DESIGN rule 7)
    address: Mapped[str | None] = mapped_column(String(320))
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32), server_default="opt-out")
    received_at: Mapped[datetime]
    deadline: Mapped[datetime]
    warn_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    applied_at: Mapped[datetime | None]
    # idempotency: the same ticket, message-id or token hit twice is one request
    evidence_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_requests_status_deadline", "status", "deadline"),
        Index("ix_requests_received_at", "received_at"),
    )


class Suppression(Base):
    """An address (or its hash) that must not receive the categories of ``scope``."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    address: Mapped[str | None] = mapped_column(String(320))
    address_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(32))
    since: Mapped[datetime]
    request_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("requests.id", ondelete="SET NULL")
    )
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str | None] = mapped_column(String(128))
    lift_reason: Mapped[str | None] = mapped_column(Text)
    # bumped on every change, so an incremental export also carries lifts
    updated_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        # at most one active suppression per address and scope: re-processing is a no-op.
        # Partial on both backends (migration 0001 creates it so, and test_migrations
        # reads it back from each); only SQLite's clause is written here: naming
        # ``postgresql_where`` makes SQLAlchemy import its whole PostgreSQL dialect to
        # check the keyword, 12 ms of CPU at the start of every SQLite-backed command, and
        # the schema comes from the migrations, never from these models
        Index(
            "uq_suppressions_active",
            "address_hash",
            "scope",
            unique=True,
            sqlite_where=text("lifted_at IS NULL"),
        ),
        Index("ix_suppressions_address_hash", "address_hash"),
    )


class AuditEvent(Base):
    """Append-only trail. Holds the hash and a masked form, never the full address,
    so deleting a person's data never has to rewrite history."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[int | None] = mapped_column(BigId, index=True)
    address_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    address_masked: Mapped[str | None] = mapped_column(String(320))
    channel: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiKey(Base):
    """A key a marketing system presents as ``Authorization: Bearer …``.

    Only the SHA-256 of the key is kept: the key is 256 random bits, so a plain hash is as
    good as a slow one here, and a leaked database does not leak working keys.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the first characters of the key, so ops can tell which key a system holds
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class SourceState(Base):
    """Small per-source bookmarks (a log offset, a mailbox UID) kept across restarts."""

    __tablename__ = "source_state"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class HolidayYear(Base):
    """One year of a holiday calendar as the holidays library computed it.

    Building the library's calendar costs a process 0.07-0.1 s of CPU before its first
    deadline (it imports the country's module and its calendars); `optout poll`, run
    every minute, paid it at every start, on the way to its first commit. Stored here
    by ``optout migrate`` and by the first process that needs a year, read back by the
    next. ``subdivision`` is "" for a country's national calendar.
    """

    __tablename__ = "holiday_years"

    country: Mapped[str] = mapped_column(String(8), primary_key=True)
    subdivision: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the library release that computed ``days``: another release computes them again
    library_version: Mapped[str] = mapped_column(String(32))
    #: ISO day -> holiday name
    days: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime]


class InboundItem(Base):
    """One message taken in from a source, with its outcome: the intake's ledger.

    The unique (source, item_key) is what makes a re-fetch after a crash between commit
    and move a no-op: the item is found here and only moved. ``raw`` is dropped by the
    retention job; the metadata and the classification stay as evidence.
    """

    __tablename__ = "inbound_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    item_key: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    received_at: Mapped[datetime]
    size: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: how ``raw`` is stored (see worker.store.rawcodec): "lz4", or NULL for as received
    raw_codec: Mapped[str | None] = mapped_column(String(16))
    raw_sha256: Mapped[str] = mapped_column(String(64))
    # processed | review | failed | resolved
    status: Mapped[str] = mapped_column(String(16))
    message_class: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    sender_hash: Mapped[str | None] = mapped_column(String(64))
    sender_masked: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        UniqueConstraint("source", "item_key", name="uq_inbound_items_source_key"),
        Index("ix_inbound_items_status", "status"),
    )


class ItemRequest(Base):
    """Which requests an inbound item produced (a bounce may name several recipients)."""

    __tablename__ = "item_requests"

    item_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inbound_items.id", ondelete="CASCADE"), primary_key=True
    )
    request_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True
    )


class PrivacyRequest(Base):
    """A data-protection request (erasure, access, objection…) queued for ops."""

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inbound_items.id", ondelete="SET NULL")
    )
    address: Mapped[str | None] = mapped_column(String(320))
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    kinds: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime]
    deadline: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("item_id", name="uq_privacy_requests_item_id"),)


class OutboxMessage(Base):
    """Mail to send after a commit (confirmations, alerts), so SMTP being down never
    blocks or undoes processing. ``dedup_key`` makes "at most once per request" a
    database guarantee rather than a hope."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # confirmation | alert
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    request_id: Mapped[int | None] = mapped_column(BigId, index=True)
    to_masked: Mapped[str] = mapped_column(String(320))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)


class AlertSent(Base):
    """One row per request per local day it was alerted about: the once-a-day rule."""

    __tablename__ = "alerts_sent"

    request_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
