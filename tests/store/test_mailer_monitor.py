"""Outbox and deadline monitor rules, on SQLite and PostgreSQL (SMTP faked by a recorder;
the real-server path is in tests/integration/test_smtp_sender.py and tests/e2e)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage

import pytest

from tests.intake import messages as m
from worker.config import Settings, SmtpSettings
from worker.core.clock import FixedClock
from worker.core.model import Channel
from worker.intake import IntakePolicy, IntakeService
from worker.mail.sender import PermanentSendError, TemporarySendError
from worker.mailer import MAX_ATTEMPTS, Mailer
from worker.monitor import DeadlineMonitor
from worker.service import OptoutService
from worker.store import outbox


@dataclass
class Recorder:
    """Stands in for SmtpSender.send_many; ``fail`` scripts the next answers."""

    sent: list[EmailMessage] = field(default_factory=list)
    fail: list[Exception | None] = field(default_factory=list)

    async def send_many(self, msgs: Sequence[EmailMessage]) -> list[Exception | None]:
        out: list[Exception | None] = []
        for msg in msgs:
            err = self.fail.pop(0) if self.fail else None
            if err is None:
                self.sent.append(msg)
            out.append(err)
        return out

    async def close(self) -> None:
        return None


@pytest.fixture
def smtp_settings(settings: Settings) -> Settings:
    smtp = SmtpSettings.model_validate(
        {"host": "127.0.0.1", "port": 2525, "tls": "none", "from": "Ex <no-reply@example.com>",
         "alerts_to": "ops@example.com"}
    )  # fmt: skip
    return settings.model_copy(update={"smtp": smtp})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def mailer(smtp_settings: Settings, service: OptoutService, recorder: Recorder) -> Mailer:
    return Mailer(smtp_settings, service, sender=recorder)  # type: ignore[arg-type]


@pytest.fixture
def intake(service: OptoutService, mailer: Mailer) -> IntakeService:
    return IntakeService(service, None, IntakePolicy(), mailer=mailer)


async def test_one_confirmation_per_applied_reply_even_when_seen_twice(
    intake: IntakeService, mailer: Mailer, recorder: Recorder
) -> None:
    now = intake.clock.now()
    intake.process("inbox", "1", m.UNSUBSCRIBE, now)
    intake.process("inbox", "1", m.UNSUBSCRIBE, now)
    intake.process("other", "7", m.UNSUBSCRIBE, now)  # same Message-ID elsewhere
    stats = await mailer.flush()
    assert stats.sent == 1
    assert (await mailer.flush()).sent == 0
    (msg,) = recorder.sent
    assert msg["To"] == "jane@example.org"
    assert msg["Auto-Submitted"] == "auto-replied"
    kinds = [e.kind.value for e in intake.service.audit_log(address="jane@example.org")]
    assert kinds.count("confirmed") == 1


@pytest.mark.parametrize("raw", [m.OUT_OF_OFFICE, m.DSN_HARD, m.QUESTION_WITH_FOOTER])
async def test_no_confirmation_to_machine_mail_bounces_or_review(
    intake: IntakeService, mailer: Mailer, recorder: Recorder, raw: bytes
) -> None:
    intake.process("inbox", "1", raw, intake.clock.now())
    await mailer.flush()
    assert recorder.sent == []


async def test_smtp_down_keeps_the_message_waiting_with_backoff(
    intake: IntakeService, mailer: Mailer, recorder: Recorder
) -> None:
    clock = intake.clock
    assert isinstance(clock, FixedClock)
    intake.process("inbox", "1", m.UNSUBSCRIBE, clock.now())
    recorder.fail = [TemporarySendError("connection refused")]
    stats = await mailer.flush()
    assert stats.retried == 1
    assert recorder.sent == []
    assert (await mailer.flush()).sent == 0  # not due yet
    clock.advance(timedelta(minutes=5))
    assert (await mailer.flush()).sent == 1


async def test_permanent_failure_is_not_retried(
    intake: IntakeService, mailer: Mailer, recorder: Recorder, service: OptoutService
) -> None:
    intake.process("inbox", "1", m.UNSUBSCRIBE, intake.clock.now())
    recorder.fail = [PermanentSendError("550 no such user")]
    assert (await mailer.flush()).failed == 1
    with service.store.transaction() as tx:
        assert outbox.counts(tx) == {"failed": 1}
    assert MAX_ATTEMPTS > 1


async def test_monitor_alerts_once_a_day_with_one_mail(
    service: OptoutService, mailer: Mailer, recorder: Recorder
) -> None:
    clock = service.clock
    assert isinstance(clock, FixedClock)
    # a review item received 9 business days ago: one business day left
    received = clock.now() - timedelta(days=13)
    req = service.prepare("late@example.com", channel=Channel.EMAIL, received_at=received)
    service.record(type(req)(**{**req.__dict__, "needs_review": True}))
    monitor = DeadlineMonitor(service, mailer)
    first = monitor.run()
    assert (first.near, first.alerted, first.mailed) == (1, 1, True)
    again = monitor.run()
    assert (again.alerted, again.mailed) == (0, False)
    await mailer.flush()
    (msg,) = recorder.sent
    assert msg["To"] == "ops@example.com"
    assert "late@example.com" not in msg.as_string()
    clock.advance(timedelta(days=1))
    assert monitor.run().alerted == 1  # next day: announced again


def test_monitor_reports_overdue_as_missed(service: OptoutService) -> None:
    clock = service.clock
    assert isinstance(clock, FixedClock)
    req = service.prepare(
        "late@example.com", channel=Channel.EMAIL, received_at=clock.now() - timedelta(days=30)
    )
    service.record(type(req)(**{**req.__dict__, "needs_review": True}))
    result = DeadlineMonitor(service, None).run()
    assert result.overdue == 1
    assert not result.mailed
