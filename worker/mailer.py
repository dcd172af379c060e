"""Confirmations and alerts go through the outbox: queued in the transaction that
decided them, sent afterwards, retried with backoff. SMTP being down leaves the outbox
waiting and stops nothing else; the dedup key keeps it to one mail per request."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING

import structlog

from worker.config import Settings
from worker.core.addresses import mask
from worker.core.categories import ALL_PROMOTIONAL
from worker.core.model import AuditKind, Reason, RequestView
from worker.mail.compose import AlertItem, alert, confirmation, may_confirm, pick_language
from worker.mail.headers import MAIL_POLICY
from worker.mail.sender import PermanentSendError, SmtpSender, backoff, jittered
from worker.service import OptoutService
from worker.store import outbox as q
from worker.store.repo import AuditRow, Tx

if TYPE_CHECKING:  # prometheus_client is loaded where metrics are made (App.metrics)
    from worker.metrics import Metrics

log = structlog.get_logger("optout.mailer")

#: after this many temporary failures a message is given up (≈ 2 days with the backoff)
MAX_ATTEMPTS = 12


@dataclass(frozen=True)
class FlushStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0


class Mailer:
    def __init__(
        self,
        settings: Settings,
        service: OptoutService,
        *,
        sender: SmtpSender | None = None,
        metrics: Metrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.smtp = settings.smtp
        self.sender = sender or (SmtpSender(self.smtp) if self.smtp else None)
        self.metrics = metrics
        self.rng = rng or random.Random()
        from_addr = parseaddr(self.smtp.from_)[1] if self.smtp else ""
        self.domain = from_addr.rpartition("@")[2] or "localhost"

    @property
    def confirmations_on(self) -> bool:
        return self.smtp is not None and self.settings.confirmations.enabled

    # -- queueing (inside the caller's transaction) ------------------------------------
    def confirm_in(
        self,
        tx: Tx,
        request: RequestView,
        *,
        message_class: str | None,
        machine: bool,
        in_reply_to: str | None = None,
        language_hint: str | None = None,
    ) -> bool:
        """Queue the one confirmation of an applied opt-out, when the rules allow it."""
        if not self.confirmations_on or self.smtp is None or request.address is None:
            return False
        bounced = any(
            s.reason is Reason.HARD_BOUNCE for s in tx.active_suppressions(request.address_hash)
        )
        if not may_confirm(message_class, machine=machine, recent_hard_bounce=bounced):
            return False
        cats = self.service.categories
        stopped = cats.covered_by(request.scope)
        msg = confirmation(
            to=request.address,
            sender=self.smtp.from_,
            scope_label="all" if request.scope == ALL_PROMOTIONAL else request.scope,
            categories_stopped=stopped,
            account_continues=any(not c.promotional for c in cats),
            received_at=request.received_at,
            request_id=request.id,
            language=pick_language(language_hint),
            message_id_domain=self.domain,
            in_reply_to=in_reply_to,
            date=self.service.clock.now(),
        )
        return q.enqueue(
            tx,
            kind="confirmation",
            dedup_key=f"confirm:{request.id}",
            request_id=request.id,
            to_masked=mask(request.address),
            payload=msg.as_bytes(policy=MAIL_POLICY),
            now=self.service.clock.now(),
        )

    def alert_in(self, tx: Tx, items: list[AlertItem], day: str) -> bool:
        """Queue one alert mail listing requests not yet alerted about today."""
        if self.smtp is None or not self.smtp.alerts_to or not items:
            return False
        now = self.service.clock.now()
        msg = alert(
            to=self.smtp.alerts_to,
            sender=self.smtp.from_,
            items=items,
            generated_at=now,
            message_id_domain=self.domain,
        )
        ids = ",".join(str(i.request_id) for i in sorted(items, key=lambda i: i.request_id))
        return q.enqueue(
            tx,
            kind="alert",
            dedup_key=f"alert:{day}:{ids}"[:255],
            request_id=None,
            to_masked=mask(self.smtp.alerts_to),
            payload=msg.as_bytes(policy=MAIL_POLICY),
            now=now,
        )

    # -- sending -----------------------------------------------------------------------
    async def flush(self, limit: int = 100) -> FlushStats:
        """Send what is due; each message's outcome is committed on its own."""
        if self.sender is None:
            return FlushStats()
        due = await asyncio.to_thread(self._claim, limit)
        if not due:
            return FlushStats()
        messages = [_parse(m.payload or b"") for m in due]
        results = await self.sender.send_many(messages)
        stats = await asyncio.to_thread(self._record, due, results)
        if stats.sent or stats.failed or stats.retried:
            log.info("mail.flushed", sent=stats.sent, retried=stats.retried, failed=stats.failed)
        return stats

    def _claim(self, limit: int) -> list[q.OutboxView]:
        with self.service.store.transaction() as tx:
            return q.claim_due(tx, self.service.clock.now(), limit)

    def _record(self, due: list[q.OutboxView], results: Sequence[Exception | None]) -> FlushStats:
        sent = retried = failed = 0
        now = self.service.clock.now()
        with self.service.store.transaction() as tx:
            for m, error in zip(due, results, strict=True):
                if error is None:
                    q.mark_sent(tx, m.id, now)
                    sent += 1
                    self._count(m.kind, "sent")
                    if m.kind == "confirmation" and m.request_id is not None:
                        self._audit_confirmed(tx, m, now)
                    continue
                final = isinstance(error, PermanentSendError) or m.attempts + 1 >= MAX_ATTEMPTS
                next_at: datetime = now + jittered(backoff(m.attempts), self.rng)
                q.mark_retry(tx, m.id, next_at=next_at, error=str(error), final=final)
                log.warning("mail.failed", kind=m.kind, to=m.to_masked, error=str(error),
                            final=final, attempt=m.attempts + 1)  # fmt: skip
                failed += int(final)
                retried += int(not final)
                self._count(m.kind, "failed" if final else "retry")
        return FlushStats(sent, retried, failed)

    @staticmethod
    def _audit_confirmed(tx: Tx, m: q.OutboxView, now: datetime) -> None:
        """Rule 9: a sent confirmation is a step of the request's history too."""
        request = tx.get_request(m.request_id) if m.request_id is not None else None
        tx.add_audit(
            AuditRow(
                kind=AuditKind.CONFIRMED,
                at=now,
                request_id=m.request_id,
                address_hash=request.address_hash if request else None,
                address_masked=m.to_masked,
                channel="email",
                detail={"outbox_id": m.id, "attempts": m.attempts + 1},
            )
        )

    def _count(self, kind: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.mail.labels(kind, outcome).inc()

    async def close(self) -> None:
        if self.sender is not None:
            await self.sender.close()


def _parse(payload: bytes) -> EmailMessage:
    msg = message_from_bytes(payload, policy=policy.SMTP.clone(max_line_length=998))
    assert isinstance(msg, EmailMessage)
    return msg
