"""The deadline monitor: every open request (and privacy request) near or past its
deadline is announced once a day — a warning log line, an error for a missed deadline,
a metric, and one alert mail listing them when ``[smtp] alerts_to`` is set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from worker.core.addresses import mask
from worker.core.times import iso
from worker.mail.compose import AlertItem
from worker.mailer import Mailer
from worker.metrics import Metrics
from worker.service import OptoutService
from worker.store import inbound
from worker.store import outbox as q

log = structlog.get_logger("optout.monitor")


@dataclass(frozen=True)
class MonitorResult:
    near: int
    overdue: int
    alerted: int
    mailed: bool


class DeadlineMonitor:
    def __init__(
        self, service: OptoutService, mailer: Mailer | None, metrics: Metrics | None = None
    ) -> None:
        self.service = service
        self.mailer = mailer
        self.metrics = metrics

    def run(self) -> MonitorResult:
        now = self.service.clock.now()
        cal = self.service.policy.calendar
        day = cal.local_day(now).isoformat()
        items = self._items(now)
        with self.service.store.transaction() as tx:
            # the ledger key: request ids as they are, privacy requests negated
            keyed = {(-i.request_id if i.channel == "privacy" else i.request_id): i for i in items}
            seen = q.already_alerted(tx, list(keyed), day)
            fresh = {k: i for k, i in keyed.items() if k not in seen}
            q.record_alerts(tx, [(k, i.kind) for k, i in fresh.items()], day, now)
            mailed = self.mailer.alert_in(tx, list(fresh.values()), day) if self.mailer else False
        for item in fresh.values():
            self._announce(item)
        return MonitorResult(
            near=sum(1 for i in items if i.kind == "near"),
            overdue=sum(1 for i in items if i.kind == "overdue"),
            alerted=len(fresh),
            mailed=mailed,
        )

    def _items(self, now: datetime) -> list[AlertItem]:
        cal = self.service.policy.calendar
        warn = self.service.policy.warn_before_business_days
        report = self.service.report()
        items = [
            AlertItem(
                request_id=r.id,
                kind="overdue" if r.deadline < now else "near",
                channel=r.channel.value,
                status=r.status.value,
                address_masked=mask(r.address or ""),
                received_at=r.received_at,
                deadline=r.deadline,
                business_days_left=cal.business_days_between(now, r.deadline),
            )
            for r in [*report.overdue, *report.near_deadline]
        ]
        with self.service.store.transaction() as tx:
            privacy = inbound.list_privacy(tx, "open")
        for p in privacy:
            if cal.warn_at(p.deadline, warn) > now:
                continue
            items.append(
                AlertItem(
                    request_id=p.id,
                    kind="overdue" if p.deadline < now else "near",
                    channel="privacy",
                    status=p.status,
                    address_masked=mask(p.address or ""),
                    received_at=p.received_at,
                    deadline=p.deadline,
                    business_days_left=cal.business_days_between(now, p.deadline),
                )
            )
        return items

    def _announce(self, item: AlertItem) -> None:
        fields = {
            "request_id": item.request_id,
            "channel": item.channel,
            "status": item.status,
            "address": item.address_masked,
            "deadline": iso(item.deadline),
            "business_days_left": item.business_days_left,
        }
        if item.overdue:
            log.error("deadline.missed", **fields)
        else:
            log.warning("deadline.near", **fields)
        if self.metrics is not None:
            self.metrics.alerts.labels(item.kind).inc()
