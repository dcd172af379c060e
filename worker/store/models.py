"""Tables. All times are stored as UTC; SQLite keeps them naive, so a type adds the zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
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
        # at most one active suppression per address and scope: re-processing is a no-op
        Index(
            "uq_suppressions_active",
            "address_hash",
            "scope",
            unique=True,
            sqlite_where=text("lifted_at IS NULL"),
            postgresql_where=text("lifted_at IS NULL"),
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
