"""Wiring: settings → engine → store → service. The only place objects are assembled."""

from __future__ import annotations

from dataclasses import dataclass

from worker.config import Settings
from worker.core.clock import Clock, SystemClock
from worker.core.plan import Effects
from worker.core.tokens import KeyRing
from worker.intake import IntakePolicy, IntakeService
from worker.mailer import Mailer
from worker.metrics import Metrics
from worker.service import OptoutService, Policy
from worker.store.db import create_db_engine, ensure_schema, is_sqlite, migrate
from worker.store.repo import Store


@dataclass
class App:
    settings: Settings
    store: Store
    service: OptoutService
    intake: IntakeService
    mailer: Mailer
    metrics: Metrics

    def close(self) -> None:
        self.store.dispose()


def policy_from(settings: Settings) -> Policy:
    return Policy(
        categories=settings.category_set(),
        calendar=settings.calendar(),
        business_days=settings.deadlines.business_days,
        warn_before_business_days=settings.deadlines.warn_before_business_days,
    )


def open_app(settings: Settings, *, clock: Clock | None = None, check_schema: bool = True) -> App:
    """Open the database; an embedded SQLite is migrated on the spot, PostgreSQL must be
    migrated with `optout migrate` first (several instances may share it)."""
    engine = create_db_engine(settings.database.url, echo=settings.database.echo)
    if check_schema:
        ensure_schema(engine, auto_migrate=is_sqlite(settings.database.url))
    store = Store(engine)
    service = OptoutService(store, policy_from(settings), clock or SystemClock())
    metrics = Metrics()
    metrics.attach_store(store)
    mailer = Mailer(settings, service, metrics=metrics)
    return App(settings, store, service, intake_from(settings, service, mailer), mailer, metrics)


def keyring_from(settings: Settings) -> KeyRing | None:
    spec = settings.token_keys()
    if spec is None:
        return None
    return KeyRing.parse(spec.get_secret_value(), source=settings.tokens.keys_env)


def intake_from(
    settings: Settings, service: OptoutService, mailer: Mailer | None = None
) -> IntakeService:
    e = settings.effects
    effects = Effects(e.hard_bounce, e.complaint, e.soft_bounce_limit, e.soft_bounce_days)
    policy = IntakePolicy(
        effects=effects, privacy_days=settings.deadlines.privacy_days, ours=settings.own_addresses()
    )
    return IntakeService(service, keyring_from(settings), policy, mailer=mailer)


def migrate_database(settings: Settings) -> None:
    engine = create_db_engine(settings.database.url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
