"""The application service: request → suppression → audit, one transaction each.

Every entry point (CLI, HTTP, intake sources) goes through here, so the rules — scope
validation, deadlines, idempotency by evidence key, the audit trail — hold the same way
whichever door a request came in by. No SQL here: queries live in ``worker.store``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from worker.core.addresses import address_hash, mask, normalise, recent_address_hash
from worker.core.categories import ALL_PROMOTIONAL, EVERY, Categories
from worker.core.clock import Clock
from worker.core.deadlines import BusinessCalendar
from worker.core.decision import may_send
from worker.core.model import (
    AuditKind,
    AuditView,
    Channel,
    Decision,
    NewRequest,
    Outcome,
    Reason,
    RequestStatus,
    RequestView,
    SuppressionView,
)
from worker.core.stats import percentile
from worker.errors import InvalidState, InvalidTime, NotFound, UserError
from worker.store import calendar as stored
from worker.store.repo import AuditRow, RequestRow, Store, Tx, blocked_hashes, iter_export

log = structlog.get_logger("optout.service")

#: (calendar, local day of receipt, business days, warn before) → (deadline, warn_at)
_DEADLINES: dict[tuple[BusinessCalendar, date, int, int], tuple[datetime, datetime]] = {}

#: requests dated further in the future than this are flagged in their evidence
FUTURE_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Policy:
    """The parts of the configuration the rules depend on."""

    categories: Categories
    calendar: BusinessCalendar
    business_days: int = 10
    warn_before_business_days: int = 2


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    requests_by_status: dict[str, int]
    requests_by_channel: dict[str, int]
    active_suppressions_by_reason: dict[str, int]
    time_to_suppression: dict[str, float | None]
    near_deadline: list[RequestView] = field(default_factory=list)
    overdue: list[RequestView] = field(default_factory=list)


class OptoutService:
    def __init__(self, store: Store, policy: Policy, clock: Clock) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock

    @property
    def categories(self) -> Categories:
        return self.policy.categories

    # -- recording -------------------------------------------------------------------
    def prepare(
        self,
        address: str,
        *,
        scope: str = ALL_PROMOTIONAL,
        channel: Channel,
        received_at: datetime | None = None,
        evidence_key: str | None = None,
        actor: str | None = None,
        note: str | None = None,
        evidence: dict[str, Any] | None = None,
        reason: Reason = Reason.OPT_OUT,
    ) -> NewRequest:
        """Validate a request before anything is written: bad input changes nothing."""
        normalised = normalise(address)
        if reason is Reason.OPT_OUT:
            scope = self.categories.opt_out_scope(scope)
        else:
            scope = self.categories.effect_scope(scope)
        now = self.clock.now()
        when = received_at or now
        if when.tzinfo is None:
            raise InvalidTime("received time needs a timezone")
        evidence = dict(evidence or {})
        if when > now + FUTURE_SLACK:
            # Kept (an operator may enter a scheduled or mis-clocked request) but flagged,
            # because a future receipt also pushes the deadline out.
            evidence["received_at_in_future"] = True
        return NewRequest(
            address=normalised,
            scope=scope,
            channel=channel,
            received_at=when,
            evidence_key=evidence_key,
            actor=actor,
            note=note,
            reason=reason,
            evidence=evidence,
        )

    def record(self, req: NewRequest) -> Outcome:
        """Record and apply one request in one transaction; idempotent by evidence key."""
        return self.record_many([req])[0]

    def record_many(self, reqs: Sequence[NewRequest]) -> list[Outcome]:
        """Record several requests in one transaction (group commit of concurrent link
        hits); each keeps its own idempotency, audit events and outcome."""
        with self.store.transaction() as tx:
            outcomes = self.record_batch_in(tx, reqs)
        for req, outcome in zip(reqs, outcomes, strict=True):
            log.info(
                "request.recorded" if outcome.created else "request.duplicate",
                request_id=outcome.request.id,
                channel=req.channel.value,
                scope=req.scope,
                address=mask(req.address),
                outcome=outcome.request.status.value,
            )
        return outcomes

    def record_in(self, tx: Tx, req: NewRequest) -> Outcome:
        """Record inside a transaction the caller owns (intake: one per inbound item)."""
        return self.record_batch_in(tx, [req])[0]

    def record_batch_in(self, tx: Tx, reqs: Sequence[NewRequest]) -> list[Outcome]:
        """The one recording path: a handful of set-based statements per batch.

        Requests are inserted already applied (or held for review); an evidence key seen
        before — in an earlier transaction or earlier in this batch — is a duplicate and
        changes nothing but the audit trail.
        """
        now = self.clock.now()
        keys = [r.evidence_key or f"auto:{uuid.uuid4().hex}" for r in reqs]
        first: dict[str, int] = {}
        rows: dict[str, RequestRow] = {}
        for i, (req, key) in enumerate(zip(reqs, keys, strict=True)):
            if key not in first:
                first[key] = i
                rows[key] = self.request_row(req, recent_address_hash(req.address), now, key)
        ids = tx.insert_requests(list(rows.values()))
        earlier = {v.evidence_key: v for v in tx.requests_by_evidence_keys(
            [k for k in rows if k not in ids])}  # fmt: skip
        new_views = {k: _view(ids[k], rows[k]) for k in ids}
        created = tx.insert_suppressions(
            [self._suppression(v, reqs[first[k]].reason, now) for k, v in new_views.items()
             if v.status is RequestStatus.APPLIED]
        )  # fmt: skip
        audits: list[AuditRow] = []
        outcomes: list[Outcome] = []
        for i, (req, key) in enumerate(zip(reqs, keys, strict=True)):
            view = new_views.get(key)
            if view is not None and first[key] == i:
                audits.append(self._audit(AuditKind.RECEIVED, view, now, req,
                                          {"evidence": req.evidence}))  # fmt: skip
                made = view.id in created
                if view.status is RequestStatus.APPLIED:
                    audits.append(_applied_audit(view, req.reason, now, req.actor, made))
                outcomes.append(Outcome(view, created=True, suppression_created=made))
                continue
            seen = view or earlier[key]
            audits.append(self._audit(AuditKind.DUPLICATE, seen, now, req,
                                      {"evidence_key": req.evidence_key}))  # fmt: skip
            outcomes.append(Outcome(seen, created=False, suppression_created=False))
        tx.add_audits(audits)
        return outcomes

    @staticmethod
    def _suppression(view: RequestView, reason: Reason, now: datetime) -> dict[str, Any]:
        return {
            "address": view.address,
            "address_hash": view.address_hash,
            "scope": view.scope,
            "reason": reason.value,
            "channel": view.channel.value,
            "since": now,
            "request_id": view.id,
            "updated_at": now,
        }

    def _apply_in(
        self, tx: Tx, view: RequestView, reason: Reason, now: datetime, actor: str | None
    ) -> bool:
        created = tx.insert_suppression(
            address=view.address,
            address_hash=view.address_hash,
            scope=view.scope,
            reason=reason,
            channel=view.channel.value,
            since=now,
            request_id=view.id,
            now=now,
        )
        tx.set_request_status(view.id, RequestStatus.APPLIED, applied_at=now)
        tx.add_audit(_applied_audit(view, reason, now, actor, created))
        return created

    def request_row(
        self, req: NewRequest, digest: str, now: datetime, key: str | None = None
    ) -> RequestRow:
        deadline, warn_at = self._deadline(req.received_at)
        held = req.needs_review
        return RequestRow(
            channel=req.channel.value,
            address=req.address,
            address_hash=digest,
            scope=req.scope,
            reason=req.reason.value,
            received_at=req.received_at,
            deadline=deadline,
            warn_at=warn_at,
            status=(RequestStatus.NEEDS_REVIEW if held else RequestStatus.APPLIED).value,
            evidence_key=key or req.evidence_key,
            evidence=req.evidence,
            actor=req.actor,
            note=req.note,
            created_at=now,
            applied_at=None if held else now,
        )

    def warm_up(self) -> None:
        """Load the holiday calendar and compute today's deadline once, ahead of the
        first request that needs it.

        The library's calendar took 0.10 s of CPU to build; the years around today are
        read from the database instead (:meth:`load_calendar`). `optout poll` runs this
        in its head start's thread while the first batches are fetched and classified,
        the daemon on its database thread; otherwise the first commit paid it, with
        every later batch of the pass waiting behind it.
        """
        now = self.clock.now()
        self.load_calendar(now)
        self._deadline(now)

    def load_calendar(self, now: datetime) -> None:
        """Give the calendar last, this and next year's holidays (a deadline set in late
        December falls in January) from the database, computing and storing the years
        it lacks there, for the next process (``holiday_years``). Storing is best
        effort: a calendar that could not be stored is computed again next time."""
        cal = self.policy.calendar
        year = cal.local_day(now).year
        years = [y for y in (year - 1, year, year + 1) if y not in cal.loaded_years]
        if not years:
            return
        with self.store.transaction() as tx:
            found = stored.load_years(tx, cal, years)
        missing = {y: cal.library_holidays(y) for y in years if y not in found}
        for y, days in (found | missing).items():
            cal.preload(y, days)
        if not missing:
            return
        try:
            with self.store.transaction() as tx:
                stored.save_years(tx, cal, missing, now)
        except Exception as exc:  # e.g. a read-only replica: the calendar is in hand anyway
            log.warning("calendar.not_stored", country=cal.country, error=repr(exc))

    def _deadline(self, received_at: datetime) -> tuple[datetime, datetime]:
        """Deadline and warning time of a request received at ``received_at``.

        Both depend only on the local day of receipt (see ``BusinessCalendar.deadline``),
        so they are computed once per calendar, day and policy: a batch or an import
        mostly shares a handful of days.
        """
        cal = self.policy.calendar
        days, before = self.policy.business_days, self.policy.warn_before_business_days
        key = (cal, cal.local_day(received_at), days, before)
        found = _DEADLINES.get(key)
        if found is None:
            deadline = cal.deadline(received_at, days)
            found = (deadline, cal.warn_at(deadline, before))
            if len(_DEADLINES) >= 4096:
                _DEADLINES.clear()
            _DEADLINES[key] = found
        return found

    @staticmethod
    def _audit(
        kind: AuditKind, view: RequestView, now: datetime, req: NewRequest, detail: dict[str, Any]
    ) -> AuditRow:
        return AuditRow(
            kind=kind,
            at=now,
            request_id=view.id,
            address_hash=view.address_hash,
            address_masked=mask(req.address),
            channel=req.channel.value,
            actor=req.actor,
            detail={"scope": req.scope, **detail},
        )

    # -- review ----------------------------------------------------------------------
    def apply_pending(self, request_id: int, *, actor: str, reason: str) -> RequestView:
        """Apply a request that waited for review; audited with who and why."""
        with self.store.transaction() as tx:
            return self.apply_pending_in(tx, request_id, actor=actor, reason=reason)

    def apply_pending_in(self, tx: Tx, request_id: int, *, actor: str, reason: str) -> RequestView:
        view = _held(tx, request_id, actor, reason)
        now = self.clock.now()
        tx.add_audit(_review_audit(AuditKind.REVIEWED, view, now, actor, reason))
        self._apply_in(tx, view, Reason.OPT_OUT, now, actor)
        done = tx.get_request(request_id)
        assert done is not None
        return done

    def dismiss_in(self, tx: Tx, request_id: int, *, actor: str, reason: str) -> RequestView:
        """Close a held request without applying it (not an opt-out, after review)."""
        view = _held(tx, request_id, actor, reason)
        tx.set_request_status(request_id, RequestStatus.DISMISSED)
        tx.add_audit(_review_audit(AuditKind.DISMISSED, view, self.clock.now(), actor, reason))
        done = tx.get_request(request_id)
        assert done is not None
        return done

    # -- checks ----------------------------------------------------------------------
    def check(self, address: str, category: str) -> Decision:
        normalised = normalise(address)
        self.categories.get(category)
        with self.store.transaction() as tx:
            active = tx.active_suppressions(address_hash(normalised))
        return may_send(self.categories, category, active)

    def suppressed_among(self, addresses: Sequence[str], category: str) -> list[str]:
        """The subset of ``addresses`` that must not get ``category`` (bulk check)."""
        self.categories.get(category)
        by_hash: dict[str, list[str]] = {}
        for raw in addresses:
            by_hash.setdefault(address_hash(normalise(raw)), []).append(raw)
        with self.store.transaction() as tx:
            hits = blocked_hashes(tx, list(by_hash), self.categories.scopes_blocking(category))
        return [raw for h in hits for raw in by_hash[h]]

    # -- lifting ---------------------------------------------------------------------
    def lift(self, address: str, scope: str, *, actor: str, reason: str) -> list[SuppressionView]:
        """Re-subscribe, keeping history. Lifting one category out of an "all" opt-out
        keeps the person suppressed for the other promotional categories."""
        require_text(actor, "actor")
        require_text(reason, "reason")
        normalised = normalise(address)
        if scope != EVERY:
            self.categories.effect_scope(scope)
        digest = address_hash(normalised)
        now = self.clock.now()
        with self.store.transaction() as tx:
            lifted = tx.lift(digest, self._lift_scopes(scope), actor=actor, reason=reason, now=now)
            if not lifted:
                raise NotFound(f"no active suppression of {mask(normalised)} for scope {scope!r}")
            kept = self._split_all(tx, lifted, scope, normalised, digest, now)
            tx.add_audit(
                AuditRow(
                    kind=AuditKind.LIFTED,
                    at=now,
                    address_hash=digest,
                    address_masked=mask(normalised),
                    actor=actor,
                    request_id=lifted[0].request_id,
                    detail={
                        "scope": scope,
                        "reason": reason,
                        "lifted": [s.scope for s in lifted],
                        "kept": kept,
                    },
                )
            )
        log.info("suppression.lifted", address=mask(normalised), scope=scope, actor=actor)
        return lifted

    def _lift_scopes(self, scope: str) -> list[str]:
        if scope == ALL_PROMOTIONAL:
            return [ALL_PROMOTIONAL, *(c.name for c in self.categories.promotional)]
        if scope == EVERY:
            return [EVERY]
        cat = self.categories.get(scope)
        return [scope, ALL_PROMOTIONAL] if cat.promotional else [scope]

    def _split_all(
        self,
        tx: Tx,
        lifted: list[SuppressionView],
        scope: str,
        address: str,
        digest: str,
        now: datetime,
    ) -> list[str]:
        """When an "all" suppression was lifted for one category, re-create the others."""
        whole = [s for s in lifted if s.scope == ALL_PROMOTIONAL]
        if scope in (ALL_PROMOTIONAL, EVERY) or not whole:
            return []
        original = whole[0]
        kept = [c.name for c in self.categories.promotional if c.name != scope]
        for name in kept:
            tx.insert_suppression(
                address=address,
                address_hash=digest,
                scope=name,
                reason=original.reason,
                channel=original.channel.value if original.channel else None,
                since=original.since,
                request_id=original.request_id,
                now=now,
            )
        return kept

    # -- reading ---------------------------------------------------------------------
    def requests(
        self, status: str | None = None, *, address: str | None = None, limit: int = 1000
    ) -> list[RequestView]:
        digest = address_hash(normalise(address)) if address else None
        with self.store.transaction() as tx:
            if status == "overdue":
                return tx.list_requests(
                    overdue_at=self.clock.now(), address_hash=digest, limit=limit
                )
            statuses = None
            if status is not None:
                try:
                    statuses = [RequestStatus(status).value]
                except ValueError:
                    raise UserError(f"unknown status {status!r}") from None
            return tx.list_requests(statuses=statuses, address_hash=digest, limit=limit)

    def audit_log(
        self, *, address: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[AuditView]:
        digest = address_hash(normalise(address)) if address else None
        with self.store.transaction() as tx:
            return tx.audit_log(address_hash=digest, since=since, limit=limit)

    def history(self, address: str) -> list[SuppressionView]:
        with self.store.transaction() as tx:
            return tx.suppressions_for(address_hash(normalise(address)))

    def export(
        self, *, category: str | None = None, since: datetime | None = None
    ) -> Iterator[SuppressionView]:
        scopes = self.categories.scopes_blocking(category) if category else None
        return iter_export(self.store, scopes=scopes, since=since)

    def report(self) -> Report:
        now = self.clock.now()
        with self.store.transaction() as tx:
            attention = tx.open_requests_needing_attention(now)
            durations = tx.applied_durations()
            by_status = tx.request_counts()
            by_channel = tx.channel_counts()
            by_reason = tx.suppression_counts()
        return Report(
            generated_at=now,
            requests_by_status=by_status,
            requests_by_channel=by_channel,
            active_suppressions_by_reason=by_reason,
            time_to_suppression={
                "count": float(len(durations)),
                "p50_seconds": percentile(durations, 50),
                "p95_seconds": percentile(durations, 95),
                "max_seconds": max(durations) if durations else None,
            },
            near_deadline=[r for r in attention if r.deadline >= now],
            overdue=[r for r in attention if r.deadline < now],
        )


#: text -> member: the same as ``Channel(text)`` for the texts a RequestRow holds (made
#: from the members), without the enum's Python-level lookup (0.3 µs, twice a request)
_CHANNELS: dict[str, Channel] = {c.value: c for c in Channel}
_STATUSES: dict[str, RequestStatus] = {s.value: s for s in RequestStatus}


def _view(request_id: int, row: RequestRow) -> RequestView:
    return RequestView(
        id=request_id,
        channel=_CHANNELS[row.channel],
        address=row.address,
        address_hash=row.address_hash,
        scope=row.scope,
        received_at=row.received_at,
        deadline=row.deadline,
        warn_at=row.warn_at,
        status=_STATUSES[row.status],
        applied_at=row.applied_at,
        actor=row.actor,
        note=row.note,
        evidence_key=row.evidence_key,
        evidence=row.evidence,
    )


def _applied_audit(
    view: RequestView, reason: Reason, now: datetime, actor: str | None, created: bool
) -> AuditRow:
    return AuditRow(
        kind=AuditKind.APPLIED,
        at=now,
        request_id=view.id,
        address_hash=view.address_hash,
        address_masked=mask(view.address or ""),
        channel=view.channel.value,
        actor=actor,
        detail={"scope": view.scope, "reason": reason.value, "new": created},
    )


def _held(tx: Tx, request_id: int, actor: str, reason: str) -> RequestView:
    """The request a reviewer decides on; it must still be waiting for that decision."""
    require_text(actor, "actor")
    require_text(reason, "reason")
    view = tx.get_request(request_id)
    if view is None:
        raise NotFound(f"request {request_id}")
    if view.status not in (RequestStatus.PENDING, RequestStatus.NEEDS_REVIEW):
        raise InvalidState(f"request {request_id} is {view.status.value}")
    return view


def require_text(value: str | None, name: str) -> None:
    if not value or not value.strip():
        raise UserError(f"--{name} is required")


def _review_audit(
    kind: AuditKind, view: RequestView, now: datetime, actor: str, reason: str
) -> AuditRow:
    return AuditRow(
        kind=kind,
        at=now,
        request_id=view.id,
        address_hash=view.address_hash,
        address_masked=mask(view.address or ""),
        channel=view.channel.value,
        actor=actor,
        detail={"reason": reason},
    )
