"""Prometheus metrics: counters fed by the edges (poller, HTTP, jobs), gauges read from
the database at scrape time so every instance reports the same queue state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from worker.store.repo import Store
from worker.store.stats import queue_state

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.items = Counter(
            "optout_items_processed", "Inbound items processed", ["source", "class", "outcome"],
            registry=r,
        )  # fmt: skip
        self.suppressions = Counter(
            "optout_suppressions", "New suppressions", ["channel", "reason"], registry=r
        )
        self.requests = Counter("optout_requests", "Requests recorded", ["channel"], registry=r)
        self.alerts = Counter("optout_deadline_alerts", "Deadline alerts", ["level"], registry=r)
        self.job_runs = Counter("optout_job_runs", "Scheduled job runs", ["job"], registry=r)
        self.job_failures = Counter(
            "optout_job_failures", "Scheduled job failures", ["job"], registry=r
        )
        self.mail = Counter("optout_mail", "Outgoing mail", ["kind", "outcome"], registry=r)
        self.to_suppression = Histogram(
            "optout_time_to_suppression_seconds",
            "From receipt (INTERNALDATE, link hit) to committed suppression",
            ["channel"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

    def attach_store(self, store: Store) -> None:
        self.registry.register(_QueueCollector(store))

    def observe_suppression(self, channel: str, received_at: datetime, now: datetime) -> None:
        self.to_suppression.labels(channel).observe(max(0.0, (now - received_at).total_seconds()))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _QueueCollector(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            state = queue_state(self.store)
        except Exception:  # a scrape must answer even when the database does not
            up = GaugeMetricFamily("optout_database_up", "Database reachable")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("optout_database_up", "Database reachable")
        up.add_metric([], 1)
        yield up
        for name, doc, value in (
            ("optout_review_backlog", "Items waiting for review", state.review_backlog),
            ("optout_failed_items", "Dead-letter items", state.failed_items),
            ("optout_open_requests", "Requests not yet applied", state.open_requests),
            ("optout_overdue_requests", "Open requests past deadline", state.overdue_requests),
            ("optout_outbox_pending", "Mail waiting to be sent", state.outbox_pending),
            ("optout_oldest_open_request_age_seconds", "Age of the oldest open request",
             state.oldest_open_age_seconds),
        ):  # fmt: skip
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], float(value))
            yield g
        g = GaugeMetricFamily(
            "optout_active_suppressions", "Active suppressions", labels=["reason"]
        )
        for reason, n in state.suppressions_by_reason.items():
            g.add_metric([reason], float(n))
        yield g
