"""Inbound messages: classify, plan, record — one transaction per message.

A source hands over raw bytes with a stable key; this module decides and commits, and
only then may the source move the message (DESIGN rule 8). Seeing the same key again
(a crash between commit and move) changes nothing and just answers where it goes.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from worker.core.addresses import address_hash, mask
from worker.core.classify import Classification, classify
from worker.core.deadlines import calendar_deadline
from worker.core.message import header, parse_bytes
from worker.core.model import AuditKind, NewRequest, RequestStatus
from worker.core.plan import Action, Disposition, Effects, Plan, plan
from worker.core.tokens import InvalidToken, KeyRing, TokenClaims
from worker.errors import DatabaseUnavailable, InvalidState, NotFound
from worker.mailer import Mailer
from worker.service import OptoutService, require_text
from worker.store import inbound as q
from worker.store.repo import AuditRow, Tx

log = structlog.get_logger("optout.intake")

#: bodies above this are kept out of the classifier and go to review as they are
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ItemResult:
    item_id: int
    disposition: Disposition
    message_class: str | None
    new: bool
    request_ids: tuple[int, ...] = ()
    confirmable: bool = False


@dataclass(frozen=True)
class IntakePolicy:
    effects: Effects = field(default_factory=Effects)
    privacy_days: int = 45
    max_bytes: int = DEFAULT_MAX_BYTES


class IntakeService:
    def __init__(
        self,
        service: OptoutService,
        keyring: KeyRing | None,
        policy: IntakePolicy,
        *,
        mailer: Mailer | None = None,
    ) -> None:
        self.service = service
        self.keyring = keyring
        self.policy = policy
        self.mailer = mailer

    @property
    def clock(self) -> Any:
        return self.service.clock

    # -- processing ------------------------------------------------------------------
    def process(
        self,
        source: str,
        key: str,
        raw: bytes,
        received_at: datetime,
        *,
        too_large: bool = False,
        size: int | None = None,
    ) -> ItemResult:
        """Decide and commit one message. Raises only when the database is unavailable,
        in which case the message must stay where it is, to be taken again later.

        ``too_large``: the source loaded only the header block; a person decides.
        """
        started = time.perf_counter()
        with self.service.store.transaction() as tx:
            seen = q.find_item(tx, source, key)
            if seen is not None and seen.status != "failed":
                return _result(seen, new=False)
        c = classify(raw, max_bytes=self.policy.max_bytes)
        if too_large:
            why = f"message of {size or len(raw)} bytes is over the size limit; headers only"
            p = Plan(Disposition.REVIEW, review_reasons=(why,))
        else:
            token, problem = self._token(c)
            p = plan(c, token=token, token_problem=problem, effects=self.policy.effects)
        try:
            with self.service.store.transaction() as tx:
                result = self._commit(tx, source, key, raw, received_at, c, p, seen)
        except DatabaseUnavailable:
            raise
        except Exception as exc:  # dead letter: kept with its error, replayable
            log.error("intake.failed", source=source, key=key, error=repr(exc))
            result = self._dead_letter(source, key, raw, received_at, c, exc, seen)
        log.info(
            "intake.item",
            source=source,
            item_id=result.item_id,
            **{"class": result.message_class},
            outcome=result.disposition.value,
            requests=list(result.request_ids),
            new=result.new,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return result

    def _token(self, c: Classification) -> tuple[TokenClaims | None, str | None]:
        if not c.tokens:
            return None, None
        if self.keyring is None:
            return None, "token present but no token keys are configured"
        for raw in c.tokens:
            for verify in (self.keyring.verify_mailto, self.keyring.verify):
                try:
                    return verify(raw), None
                except InvalidToken:
                    continue
        return None, "token present but invalid"

    def _commit(
        self,
        tx: Tx,
        source: str,
        key: str,
        raw: bytes,
        received_at: datetime,
        c: Classification,
        p: Plan,
        seen: q.ItemView | None,
    ) -> ItemResult:
        now = self.clock.now()
        twin = q.find_by_message_id(tx, c.message_id) if c.message_id else None
        if twin is not None:  # the same mail again, e.g. from a second mailbox
            p = Plan(Disposition.PROCESSED)
        status = p.disposition.value
        fields = _item_fields(source, key, raw, received_at, c, p, twin, now, status)
        if seen is not None:  # a failed item taken again: retry in place
            q.update_item(tx, seen.id, **fields, attempts=seen.attempts + 1, error=None)
            item_id = seen.id
        else:
            item_id = q.insert_item(tx, q.NewItem(**fields, error=None, created_at=now))
        self._audit_item(tx, item_id, source, c, p, now)
        request_ids = [self._action(tx, item_id, a, c, source, key, received_at) for a in p.actions]
        if p.privacy_address:
            self._privacy(tx, item_id, p, received_at, now)
        if p.confirmable and self.mailer is not None:
            self._confirm(tx, request_ids, c)
        return ItemResult(
            item_id, p.disposition, c.message_class.value, True, tuple(request_ids), p.confirmable
        )

    def _action(
        self,
        tx: Tx,
        item_id: int,
        a: Action,
        c: Classification,
        source: str,
        key: str,
        received_at: datetime,
    ) -> int:
        ident = f"msg:{c.message_id}" if c.message_id else f"item:{source}:{key}"
        evidence = {**a.evidence, "message_id": c.message_id, "item_id": item_id}
        req = NewRequest(
            address=a.address,
            scope=a.scope,
            channel=a.channel,
            received_at=received_at,
            evidence_key=f"{ident}:{address_hash(a.address)[:16]}:{a.reason.value}"[:255],
            actor=f"source:{source}",
            reason=a.reason,
            evidence=evidence,
            needs_review=a.review,
        )
        outcome = self.service.record_in(tx, req)
        q.link_request(tx, item_id, outcome.request.id)
        return outcome.request.id

    def _confirm(self, tx: Tx, request_ids: list[int], c: Classification) -> None:
        assert self.mailer is not None
        for rid in request_ids:
            view = tx.get_request(rid)
            if view is not None and view.status is RequestStatus.APPLIED:
                self.mailer.confirm_in(
                    tx, view, message_class=c.message_class.value, machine=c.machine,
                    in_reply_to=c.message_id,
                )  # fmt: skip

    def _privacy(self, tx: Tx, item_id: int, p: Plan, received_at: datetime, now: datetime) -> None:
        assert p.privacy_address is not None
        tz = self.service.policy.calendar.tz
        deadline = calendar_deadline(received_at, self.policy.privacy_days, tz)
        digest = address_hash(p.privacy_address)
        pid = q.insert_privacy(
            tx,
            item_id=item_id,
            address=p.privacy_address,
            address_hash=digest,
            kinds=p.privacy_kinds,
            received_at=received_at,
            deadline=deadline,
            now=now,
        )
        tx.add_audit(
            AuditRow(
                kind=AuditKind.RECEIVED,
                at=now,
                address_hash=digest,
                address_masked=mask(p.privacy_address),
                channel="email",
                detail={"privacy_request": pid, "kinds": list(p.privacy_kinds), "item_id": item_id},
            )
        )

    def _audit_item(
        self, tx: Tx, item_id: int, source: str, c: Classification, p: Plan, now: datetime
    ) -> None:
        sender_hash = address_hash(c.sender) if c.sender else None
        masked = mask(c.sender) if c.sender else None
        base = {"item_id": item_id, "source": source, "message_id": c.message_id}
        tx.add_audit(AuditRow(AuditKind.RECEIVED, now, None, sender_hash, masked, "email",
                              detail=base))  # fmt: skip
        tx.add_audit(
            AuditRow(
                AuditKind.CLASSIFIED,
                now,
                None,
                sender_hash,
                masked,
                "email",
                detail={
                    **base,
                    "class": c.message_class.value,
                    "confidence": c.confidence,
                    "evidence": list(c.evidence),
                    "outcome": p.disposition.value,
                    "review_reasons": list(p.review_reasons),
                },
            )
        )

    def _dead_letter(
        self,
        source: str,
        key: str,
        raw: bytes,
        received_at: datetime,
        c: Classification,
        exc: Exception,
        seen: q.ItemView | None,
    ) -> ItemResult:
        now = self.clock.now()
        p = Plan(Disposition.REVIEW, review_reasons=("processing failed",))
        fields = _item_fields(source, key, raw, received_at, c, p, None, now, "failed")
        error = f"{type(exc).__name__}: {exc}"[:2000]
        with self.service.store.transaction() as tx:
            if seen is not None:
                q.update_item(tx, seen.id, **fields, error=error, attempts=seen.attempts + 1)
                item_id = seen.id
            else:
                item_id = q.insert_item(tx, q.NewItem(**fields, error=error, created_at=now))
        return ItemResult(item_id, Disposition.REVIEW, c.message_class.value, True)

    # -- review ----------------------------------------------------------------------
    def review_items(self, limit: int = 200) -> list[q.ItemView]:
        with self.service.store.transaction() as tx:
            return q.list_items(tx, ("review", "failed"), limit)

    def item(self, item_id: int) -> tuple[q.ItemView, bytes | None]:
        with self.service.store.transaction() as tx:
            view = q.get_item(tx, item_id)
            if view is None:
                raise NotFound(f"inbound item {item_id}")
            return view, q.item_raw(tx, item_id)

    def review_apply(self, item_id: int, *, actor: str, reason: str) -> list[int]:
        """Apply what the item asked for (its held requests), resolving the item."""
        with self.service.store.transaction() as tx:
            view = self._open_item(tx, item_id)
            held = self._held(tx, view)
            if not held:
                raise InvalidState(
                    f"item {item_id} holds no request to apply; record one with `optout suppress`"
                    " and dismiss the item"
                )
            for rid in held:
                self.service.apply_pending_in(tx, rid, actor=actor, reason=reason)
            self._resolve(tx, view, actor, "applied", reason)
        return held

    def review_dismiss(self, item_id: int, *, actor: str, reason: str) -> None:
        with self.service.store.transaction() as tx:
            view = self._open_item(tx, item_id)
            for rid in self._held(tx, view):
                self.service.dismiss_in(tx, rid, actor=actor, reason=reason)
            self._resolve(tx, view, actor, "dismissed", reason)

    def close_privacy(self, privacy_id: int, *, actor: str, reason: str) -> None:
        """Record that a privacy request was answered; its deadline alerts end."""
        require_text(actor, "actor")
        require_text(reason, "reason")
        now = self.clock.now()
        with self.service.store.transaction() as tx:
            digest = q.close_privacy(tx, privacy_id, actor=actor, note=reason, now=now)
            tx.add_audit(
                AuditRow(AuditKind.REVIEWED, now, None, digest, None, "email", actor,
                         {"privacy_request": privacy_id, "outcome": "closed", "reason": reason})
            )  # fmt: skip

    def retry(self, item_id: int) -> ItemResult:
        """Replay a failed item from its stored raw message."""
        view, raw = self.item(item_id)
        if view.status != "failed":
            raise InvalidState(f"item {item_id} is {view.status}, not failed")
        if raw is None:
            raise InvalidState(f"item {item_id} has no stored message left to replay")
        return self.process(view.source, view.item_key, raw, view.received_at)

    def _open_item(self, tx: Tx, item_id: int) -> q.ItemView:
        view = q.get_item(tx, item_id)
        if view is None:
            raise NotFound(f"inbound item {item_id}")
        if view.status not in ("review", "failed"):
            raise InvalidState(f"item {item_id} is {view.status}, not waiting for review")
        return view

    @staticmethod
    def _held(tx: Tx, view: q.ItemView) -> list[int]:
        held = []
        for rid in view.request_ids:
            r = tx.get_request(rid)
            if r is not None and r.status in (RequestStatus.NEEDS_REVIEW, RequestStatus.PENDING):
                held.append(rid)
        return held

    def _resolve(self, tx: Tx, view: q.ItemView, actor: str, outcome: str, reason: str) -> None:
        now = self.clock.now()
        detail = {**view.detail, "resolution": outcome, "resolution_reason": reason}
        q.update_item(tx, view.id, status="resolved", resolved_at=now, resolved_by=actor,
                      detail=detail)  # fmt: skip
        kind = AuditKind.REVIEWED if outcome == "applied" else AuditKind.DISMISSED
        tx.add_audit(
            AuditRow(kind, now, None, None, view.sender_masked, "email", actor,
                     {"item_id": view.id, "outcome": outcome, "reason": reason})
        )  # fmt: skip


def _item_fields(
    source: str,
    key: str,
    raw: bytes,
    received_at: datetime,
    c: Classification,
    p: Plan,
    twin: q.ItemView | None,
    now: datetime,
    status: str,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "evidence": list(c.evidence),
        "review_reasons": list(p.review_reasons),
        "addresses": [mask(a) for a in c.addresses],
        "bounce_kind": c.bounce_kind,
        "feedback_type": c.feedback_type,
        "privacy_kinds": list(c.privacy_kinds),
        "machine": c.machine,
    }
    if twin is not None:
        detail["duplicate_of"] = twin.id
    return {
        "source": source,
        "item_key": key,
        "message_id": c.message_id[:998] if c.message_id else None,
        "received_at": received_at,
        "size": len(raw),
        "raw": raw,
        "raw_sha256": hashlib.sha256(raw).hexdigest(),
        "status": status,
        "message_class": c.message_class.value,
        "confidence": c.confidence,
        "sender_hash": address_hash(c.sender) if c.sender else None,
        "sender_masked": mask(c.sender) if c.sender else None,
        "subject": _subject(raw),
        "detail": detail,
    }


def _subject(raw: bytes) -> str | None:
    try:
        # the header block only: the classifier has parsed the whole message already
        head = raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        return header(parse_bytes(head), "Subject")[:500] or None
    except Exception:  # the subject is a convenience for the review list only
        return None


def _result(view: q.ItemView, *, new: bool) -> ItemResult:
    disposition = Disposition.PROCESSED if view.status == "processed" else Disposition.REVIEW
    return ItemResult(view.id, disposition, view.message_class, new, view.request_ids)
