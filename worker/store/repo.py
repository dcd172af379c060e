"""Every query optout runs. The service sees typed methods and domain values, never SQL.

``Store.transaction()`` hands out a :class:`Tx`: everything done through one ``Tx`` commits
or rolls back together, which is how one processed item becomes one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Engine, Select, func, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from worker.core.model import (
    ActiveSuppression,
    AuditKind,
    AuditView,
    Channel,
    Reason,
    RequestStatus,
    RequestView,
    SuppressionView,
)
from worker.errors import DatabaseUnavailable
from worker.store import bulk, wal
from worker.store.models import AuditEvent, Request, Suppression

OPEN_STATUSES = (RequestStatus.PENDING.value, RequestStatus.NEEDS_REVIEW.value)


class RequestRow(NamedTuple):
    """A request ready to insert: the service has validated and timed it.

    A named tuple, like :class:`AuditRow` and ``inbound.NewItem``, rather than a frozen
    dataclass: intake's commit builds 55,000 of these rows per 10,000 messages, and a
    frozen dataclass's ``__init__`` calls ``object.__setattr__`` once a field (0.94 µs
    an 8-field row, 0.27 µs as a named tuple). Immutable all the same, and the tuple is
    the row the bulk INSERT binds, in column order.
    """

    channel: str
    address: str
    address_hash: str
    scope: str
    reason: str
    received_at: datetime
    deadline: datetime
    warn_at: datetime
    status: str
    evidence_key: str | None
    evidence: dict[str, Any]
    actor: str | None
    note: str | None
    created_at: datetime
    applied_at: datetime | None = None


class AuditRow(NamedTuple):
    """An audit event ready to insert (see :class:`RequestRow` on the named tuple)."""

    kind: AuditKind
    at: datetime
    request_id: int | None = None
    address_hash: str | None = None
    address_masked: str | None = None
    channel: str | None = None
    actor: str | None = None
    detail: dict[str, Any] | None = None


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        #: SQLite: the thread that checkpoints the WAL (see worker.store.wal)
        self.checkpointer = wal.attach(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        try:
            with self._sessions.begin() as session:
                yield Tx(session, self.dialect)
        except OperationalError as exc:
            raise DatabaseUnavailable(_first_line(exc)) from exc

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError as exc:
            raise DatabaseUnavailable(_first_line(exc)) from exc

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.engine.dispose()


class Tx:
    """Queries inside one transaction."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    # -- requests --------------------------------------------------------------------
    def insert_request(self, row: RequestRow) -> RequestView | None:
        """Insert, or return None when the evidence key was recorded before."""
        values = row._asdict()
        stmt = self._insert(Request).values(**values).on_conflict_do_nothing()
        new_id = self.session.execute(stmt.returning(Request.id)).scalar_one_or_none()
        if new_id is None:
            return None
        return self.get_request(new_id)

    def insert_requests(self, rows: Sequence[RequestRow]) -> dict[str, int]:
        """Bulk insert (Core, not the ORM unit of work: 3× faster on a 100k import).

        Rows whose evidence key exists are skipped; returns evidence key → new id for the
        rows that went in.
        """
        if not rows:
            return {}
        if bulk.ENABLED:
            found = bulk.execute(self.session, _INSERT_REQUESTS, rows)  # tuples in column order
            return {key: int(new_id) for new_id, key in found}
        table = Request.__table__
        stmt = (
            self._insert(table).on_conflict_do_nothing().returning(table.c.id, table.c.evidence_key)
        )
        result = self.session.connection().execute(stmt, [r._asdict() for r in rows])
        return {key: int(new_id) for new_id, key in result}

    def get_request(self, request_id: int) -> RequestView | None:
        row = self.session.get(Request, request_id)
        return _request_view(row) if row else None

    def request_by_evidence_key(self, key: str) -> RequestView | None:
        row = self.session.scalars(select(Request).where(Request.evidence_key == key)).first()
        return _request_view(row) if row else None

    def set_request_status(
        self, request_id: int, status: RequestStatus, *, applied_at: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status.value}
        if applied_at is not None:
            values["applied_at"] = applied_at
        self.session.execute(update(Request).where(Request.id == request_id).values(**values))

    def list_requests(
        self,
        *,
        statuses: Sequence[str] | None = None,
        overdue_at: datetime | None = None,
        address_hash: str | None = None,
        limit: int = 1000,
    ) -> list[RequestView]:
        q: Select[Request] = select(Request)
        if statuses:
            q = q.where(Request.status.in_(statuses))
        if overdue_at is not None:
            q = q.where(Request.status.in_(OPEN_STATUSES), Request.deadline < overdue_at)
        if address_hash is not None:
            q = q.where(Request.address_hash == address_hash)
        q = q.order_by(Request.deadline, Request.id).limit(limit)
        return [_request_view(r) for r in self.session.scalars(q)]

    def open_requests_needing_attention(self, now: datetime) -> list[RequestView]:
        """Unapplied requests at or past their warning time: what the monitor reports."""
        q = (
            select(Request)
            .where(Request.status.in_(OPEN_STATUSES), Request.warn_at <= now)
            .order_by(Request.deadline)
        )
        return [_request_view(r) for r in self.session.scalars(q)]

    def request_counts(self) -> dict[str, int]:
        q = select(Request.status, func.count()).group_by(Request.status)
        return {status: int(n) for status, n in self.session.execute(q)}

    def channel_counts(self) -> dict[str, int]:
        q = select(Request.channel, func.count()).group_by(Request.channel)
        return {channel: int(n) for channel, n in self.session.execute(q)}

    def applied_durations(self, since: datetime | None = None) -> list[float]:
        """Seconds from receipt to suppression for applied requests."""
        # imports carry another system's history; they say nothing about our speed
        q = select(Request.received_at, Request.applied_at).where(
            Request.status == RequestStatus.APPLIED.value,
            Request.applied_at.is_not(None),
            Request.channel != Channel.IMPORT.value,
        )
        if since is not None:
            q = q.where(Request.received_at >= since)
        out: list[float] = []
        for received, applied in self.session.execute(q):
            if applied is not None:
                out.append(max(0.0, (applied - received).total_seconds()))
        return out

    # -- suppressions ----------------------------------------------------------------
    def active_suppressions(self, address_hash: str) -> list[ActiveSuppression]:
        q = select(
            Suppression.scope, Suppression.since, Suppression.reason, Suppression.request_id
        ).where(Suppression.address_hash == address_hash, Suppression.lifted_at.is_(None))
        return [
            ActiveSuppression(scope, since, Reason(reason), request_id)
            for scope, since, reason, request_id in self.session.execute(q)
        ]

    def insert_suppression(
        self,
        *,
        address: str | None,
        address_hash: str,
        scope: str,
        reason: Reason,
        channel: str | None,
        since: datetime,
        request_id: int | None,
        now: datetime,
    ) -> bool:
        """True when a new active suppression was created; False when one existed."""
        stmt = (
            self._insert(Suppression)
            .values(
                address=address,
                address_hash=address_hash,
                scope=scope,
                reason=reason.value,
                channel=channel,
                since=since,
                request_id=request_id,
                updated_at=now,
            )
            .on_conflict_do_nothing()
            .returning(Suppression.id)
        )
        return self.session.execute(stmt).scalar_one_or_none() is not None

    def insert_suppressions(self, rows: Sequence[dict[str, Any]]) -> set[int]:
        """Bulk insert; the request ids whose suppression was new (an active one for the
        same address and scope makes the row a no-op)."""
        if not rows:
            return set()
        if bulk.ENABLED:
            columns = tuple(rows[0])  # as Core: the keys of the first row
            # an itemgetter of several keys gives a tuple (a suppression has eight), in C
            # where a generator per row cost 1 µs (8,500 rows for 10,000 messages)
            values = list(map(itemgetter(*columns), rows))
            found = bulk.execute(self.session, _suppression_insert(columns), values)
            return {int(r) for (r,) in found}
        table = Suppression.__table__
        stmt = self._insert(table).on_conflict_do_nothing().returning(table.c.request_id)
        return {int(r) for (r,) in self.session.connection().execute(stmt, list(rows))}

    def requests_by_evidence_keys(self, keys: Sequence[str]) -> list[RequestView]:
        if not keys:
            return []
        q = select(Request).where(Request.evidence_key.in_(keys))
        return [_request_view(r) for r in self.session.scalars(q)]

    def lift(
        self, address_hash: str, scopes: Sequence[str], *, actor: str, reason: str, now: datetime
    ) -> list[SuppressionView]:
        q = select(Suppression).where(
            Suppression.address_hash == address_hash,
            Suppression.scope.in_(scopes),
            Suppression.lifted_at.is_(None),
        )
        lifted = list(self.session.scalars(q.with_for_update()))
        for s in lifted:
            s.lifted_at = now
            s.lifted_by = actor
            s.lift_reason = reason
            s.updated_at = now
        self.session.flush()
        return [_suppression_view(s) for s in lifted]

    def suppressions_for(self, address_hash: str) -> list[SuppressionView]:
        q = (
            select(Suppression)
            .where(Suppression.address_hash == address_hash)
            .order_by(Suppression.since, Suppression.id)
        )
        return [_suppression_view(s) for s in self.session.scalars(q)]

    def existing_evidence_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        q = select(Request.evidence_key).where(Request.evidence_key.in_(keys))
        return {k for k in self.session.scalars(q) if k is not None}

    def suppression_counts(self) -> dict[str, int]:
        q = (
            select(Suppression.reason, func.count())
            .where(Suppression.lifted_at.is_(None))
            .group_by(Suppression.reason)
        )
        return {reason: int(n) for reason, n in self.session.execute(q)}

    # -- audit -----------------------------------------------------------------------
    def add_audit(self, event: AuditRow) -> None:
        # written at once (not at the next ORM flush), so events keep their order
        self.add_audits([event])

    def add_audits(self, events: Sequence[AuditRow]) -> None:
        if events and bulk.ENABLED:
            bulk.execute(self.session, _INSERT_AUDITS, [_audit_tuple(e) for e in events])
        elif events:
            self.session.connection().execute(
                self._insert(AuditEvent.__table__), [_audit_values(e) for e in events]
            )

    def audit_log(
        self,
        *,
        address_hash: str | None = None,
        request_id: int | None = None,
        since: datetime | None = None,
        limit: int = 1000,
        newest_first: bool = False,
    ) -> list[AuditView]:
        q = select(AuditEvent)
        if address_hash is not None:
            q = q.where(AuditEvent.address_hash == address_hash)
        if request_id is not None:
            q = q.where(AuditEvent.request_id == request_id)
        if since is not None:
            q = q.where(AuditEvent.at >= since)
        if newest_first:  # a busy log's most recent page, for people reading it
            q = q.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        else:
            q = q.order_by(AuditEvent.at, AuditEvent.id)
        return [_audit_view(e) for e in self.session.scalars(q.limit(limit))]

    # -- helpers ---------------------------------------------------------------------
    def insert_stmt(self, table: Any) -> Any:
        """A dialect INSERT that supports ON CONFLICT DO NOTHING."""
        return self._insert(table)

    def _insert(self, table: Any) -> Any:
        # imported here: the PostgreSQL dialect (and psycopg behind it) costs a short
        # SQLite-backed command 50 ms of start-up, for a module only PostgreSQL needs
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)


def export_query(*, scopes: Sequence[str] | None, since: datetime | None) -> Select[Suppression]:
    """Rows for an export: active suppressions, or every change since ``since``.

    An incremental export also carries lifted rows, so a marketing system that syncs by
    ``since`` learns about re-subscriptions too.
    """
    q = select(Suppression)
    if since is None:
        q = q.where(Suppression.lifted_at.is_(None))
    else:
        q = q.where(Suppression.updated_at >= since)
    if scopes is not None:
        q = q.where(Suppression.scope.in_(scopes))
    return q.order_by(Suppression.updated_at, Suppression.id)


def iter_export(
    store: Store, *, scopes: Sequence[str] | None, since: datetime | None, batch: int = 5000
) -> Iterator[SuppressionView]:
    """Stream an export without holding the whole list in memory."""
    try:
        with Session(store.engine) as session:
            result = session.scalars(
                export_query(scopes=scopes, since=since).execution_options(yield_per=batch)
            )
            for s in result:
                yield _suppression_view(s)
    except OperationalError as exc:
        raise DatabaseUnavailable(_first_line(exc)) from exc


def blocked_hashes(tx: Tx, hashes: Sequence[str], scopes: Sequence[str]) -> set[str]:
    """Which of ``hashes`` have an active suppression in one of ``scopes``."""
    out: set[str] = set()
    for start in range(0, len(hashes), 10_000):
        chunk = hashes[start : start + 10_000]
        q = select(Suppression.address_hash).where(
            Suppression.address_hash.in_(chunk),
            Suppression.scope.in_(scopes),
            Suppression.lifted_at.is_(None),
        )
        out.update(tx.session.scalars(q))
    return out


_REQUEST_FIELDS = RequestRow._fields
_INSERT_REQUESTS = bulk.Insert(
    Request.__table__,  # type: ignore[arg-type]
    _REQUEST_FIELDS,
    on_conflict_do_nothing=True,
    returning=("id", "evidence_key"),
)
_AUDIT_COLUMNS = (
    "kind",
    "at",
    "request_id",
    "address_hash",
    "address_masked",
    "channel",
    "actor",
    "detail",
)
_INSERT_AUDITS = bulk.Insert(AuditEvent.__table__, _AUDIT_COLUMNS)  # type: ignore[arg-type]


def _suppression_insert(columns: tuple[str, ...]) -> bulk.Insert:
    return bulk.Insert(
        Suppression.__table__,  # type: ignore[arg-type]
        columns,
        on_conflict_do_nothing=True,
        returning=("request_id",),
    )


def _audit_tuple(e: AuditRow) -> tuple[Any, ...]:
    # the same values as _audit_values, in _AUDIT_COLUMNS order
    return (
        e.kind.value,
        e.at,
        e.request_id,
        e.address_hash,
        e.address_masked,
        e.channel,
        e.actor,
        e.detail or {},
    )


def _audit_values(e: AuditRow) -> dict[str, Any]:
    return {
        "kind": e.kind.value,
        "at": e.at,
        "request_id": e.request_id,
        "address_hash": e.address_hash,
        "address_masked": e.address_masked,
        "channel": e.channel,
        "actor": e.actor,
        "detail": e.detail or {},
    }


def _request_view(r: Request) -> RequestView:
    return RequestView(
        id=r.id,
        channel=Channel(r.channel),
        address=r.address,
        address_hash=r.address_hash,
        scope=r.scope,
        received_at=r.received_at,
        deadline=r.deadline,
        warn_at=r.warn_at,
        status=RequestStatus(r.status),
        applied_at=r.applied_at,
        actor=r.actor,
        note=r.note,
        evidence_key=r.evidence_key,
        evidence=dict(r.evidence or {}),
    )


def _suppression_view(s: Suppression) -> SuppressionView:
    return SuppressionView(
        id=s.id,
        address=s.address,
        address_hash=s.address_hash,
        scope=s.scope,
        reason=Reason(s.reason),
        since=s.since,
        request_id=s.request_id,
        channel=Channel(s.channel) if s.channel else None,
        lifted_at=s.lifted_at,
        lifted_by=s.lifted_by,
        lift_reason=s.lift_reason,
        updated_at=s.updated_at,
    )


def _audit_view(e: AuditEvent) -> AuditView:
    return AuditView(
        id=e.id,
        at=e.at,
        kind=AuditKind(e.kind),
        request_id=e.request_id,
        address_hash=e.address_hash,
        address_masked=e.address_masked,
        channel=e.channel,
        actor=e.actor,
        detail=dict(e.detail or {}),
    )


def _first_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
