"""Wiring: settings → engine → store → service. The only place objects are assembled."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from worker.config import Settings
from worker.core.clock import Clock, SystemClock
from worker.core.tokens import KeyRing
from worker.service import OptoutService, Policy
from worker.store.db import create_db_engine, ensure_schema, is_sqlite, migrate
from worker.store.repo import Store

if TYPE_CHECKING:  # built on first use (see App)
    from worker.intake import IntakeService
    from worker.mailer import Mailer
    from worker.metrics import Metrics


class App:
    """The opened application: settings, database, service, and the parts built on them.

    Intake (the classifier and its phrase tables), the mailer and the metrics are built
    on first use, with their imports: `optout check`, `suppress` or `log` in a script's
    loop need none of them, and did not wait for them (0.77 s a call, 0.5 s without).
    """

    def __init__(self, settings: Settings, store: Store, service: OptoutService) -> None:
        self.settings = settings
        self.store = store
        self.service = service

    @cached_property
    def metrics(self) -> Metrics:
        from worker.metrics import Metrics

        metrics = Metrics()
        metrics.attach_store(self.store)
        if "mailer" in self.__dict__:  # a mailer built before counts from now on
            self.mailer.metrics = metrics
        return metrics

    @cached_property
    def mailer(self) -> Mailer:
        from worker.mailer import Mailer

        # the metrics only if something made them (the daemon's HTTP server and jobs, see
        # above): a one-shot command has no one to report to, and `optout poll` started
        # 40 ms sooner without prometheus_client and the http.server it imports
        return Mailer(self.settings, self.service, metrics=self.__dict__.get("metrics"))

    @cached_property
    def intake(self) -> IntakeService:
        return intake_from(self.settings, self.service, self.mailer)

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
    return App(settings, store, service)


def keyring_from(settings: Settings) -> KeyRing | None:
    spec = settings.token_keys()
    if spec is None:
        return None
    return KeyRing.parse(spec.get_secret_value(), source=settings.tokens.keys_env)


def intake_from(
    settings: Settings, service: OptoutService, mailer: Mailer | None = None
) -> IntakeService:
    from worker.core.plan import Effects
    from worker.intake import IntakePolicy, IntakeService

    e = settings.effects
    effects = Effects(e.hard_bounce, e.complaint, e.soft_bounce_limit, e.soft_bounce_days)
    policy = IntakePolicy(
        effects=effects, privacy_days=settings.deadlines.privacy_days, ours=settings.own_addresses()
    )
    return IntakeService(service, keyring_from(settings), policy, mailer=mailer)


def migrate_database(settings: Settings) -> None:
    """Bring the schema to the code's, and store the configured holiday calendar's years
    around today (see ``OptoutService.load_calendar``): the first pass after an install
    or an upgrade of the holidays library then reads them rather than building them."""
    engine = create_db_engine(settings.database.url)
    try:
        migrate(engine)
        service = OptoutService(Store(engine), policy_from(settings), SystemClock())
        service.load_calendar(service.clock.now())
    finally:
        engine.dispose()
