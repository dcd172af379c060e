"""The daemon end to end: real Dovecot, real aiosmtpd sink, SQLite and PostgreSQL.

The daemon issue's acceptance: a reply APPENDed becomes a suppression within seconds
and gets exactly one confirmation; an out-of-office gets nothing; a review item close to
its deadline produces one alert mail and a warning line; an IMAP outage is survived and
the mail that arrived meanwhile is processed; SIGTERM exits 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from datetime import time as dtime
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.conftest import Sink
from tests.e2e.conftest import Daemon, start_daemon, wait_until
from tests.intake import messages as m
from tests.integration.dovecot import Dovecot
from worker.core.deadlines import BusinessCalendar

PASSWORD_ENV = "OPTOUT_TEST_IMAP_PASSWORD"


def write_config(config_file: Path, server: Dovecot, sink: Sink) -> Path:
    text = config_file.read_text()
    text = text.replace("[monitor]\ninterval_seconds = 300", "[monitor]\ninterval_seconds = 2")
    text += f"""
[[sources]]
name = "imap"
kind = "imap"
host = "127.0.0.1"
port = {server.port}
tls = "none"
username = "{server.user}"
password_env = "{PASSWORD_ENV}"
interval_seconds = 2

[smtp]
host = "127.0.0.1"
port = {sink.port}
tls = "none"
from = "Example <no-reply@example.com>"
alerts_to = "ops@example.com"
"""
    config_file.write_text(text)
    return config_file


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args, "--config", str(config)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def suppressed(config: Path, address: str, category: str = "newsletter") -> bool:
    return cli(config, "check", address, "-c", category).returncode == 3


def mails_to(sink: Sink, rcpt: str) -> list[bytes]:
    return [e.content for e in sink.messages if rcpt in e.rcpt_tos]


@pytest.fixture
def daemon_setup(
    config_file: Path, tmp_path: Path, smtp_sink: Sink, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    from tests.integration.conftest import _start

    gen = _start(".")
    server = next(gen)
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    config = write_config(config_file, server, smtp_sink)
    daemon = start_daemon(config, tmp_path, {PASSWORD_ENV: server.password})
    yield daemon, server, config
    daemon.stop()
    next(gen, None)


def test_reply_suppressed_and_confirmed_once_ooo_ignored_alert_sent(
    daemon_setup: tuple[Daemon, Dovecot, Path], smtp_sink: Sink
) -> None:
    daemon, server, config = daemon_setup
    # a review item received 9 business days ago: its deadline is the next business day
    cal = BusinessCalendar()
    today = cal.local_day(datetime.now(UTC))
    old_day = cal.subtract_business_days(today, 9)
    received = datetime.combine(old_day, dtime(10, 0), tzinfo=cal.tz)
    server.append(m.QUESTION_WITH_FOOTER, date_time=received)

    appended = time.monotonic()
    server.append(m.UNSUBSCRIBE)
    server.append(m.OUT_OF_OFFICE)
    took = wait_until(lambda: suppressed(config, "jane@example.org"), timeout=10)
    print(f"APPEND → suppression: {took:.2f} s (incl. CLI start-up)")
    assert time.monotonic() - appended < 10
    assert suppressed(config, "jane@example.org", "offers")
    assert not suppressed(config, "jane@example.org", "account")

    wait_until(lambda: len(mails_to(smtp_sink, "ops@example.com")) >= 1, timeout=15)
    wait_until(lambda: len(mails_to(smtp_sink, "jane@example.org")) >= 1, timeout=15)
    time.sleep(3)  # a few more monitor and outbox runs: still one of each
    (confirmation,) = mails_to(smtp_sink, "jane@example.org")
    assert message_from_bytes(confirmation)["Auto-Submitted"] == "auto-replied"
    (alert,) = mails_to(smtp_sink, "ops@example.com")
    assert "jane@example.org" not in alert.decode(errors="replace")
    assert len(smtp_sink.messages) == 2  # nothing to the out-of-office sender

    report = json.loads(cli(config, "report", "--json").stdout)
    assert len(report["near_deadline"]) == 1
    events = daemon.logs()
    assert any(e["event"] == "deadline.near" and e["level"] == "warning" for e in events)
    # a one-click POST is visible through the API at once
    key = cli(config, "keys", "create", "--name", "e2e", "--scope", "check").stdout.split()[0]
    answer = json.loads(
        cli(config, "headers", "click@example.com", "-c", "offers", "--json").stdout
    )
    url = answer["headers"]["List-Unsubscribe"].strip("<>").split(">")[0]
    path = "/u/" + url.rsplit("/u/", 1)[1]
    status = daemon.post(path, b"List-Unsubscribe=One-Click")
    assert status == 200
    auth = {"Authorization": f"Bearer {key}"}
    got = daemon.get("/v1/suppressions/click@example.com?category=offers", auth)
    assert got["suppressed"] is True
    assert (
        daemon.get("/v1/suppressions/click@example.com?category=newsletter", auth)["suppressed"]
        is False
    )

    metrics = daemon.get("/metrics")
    assert 'optout_time_to_suppression_seconds_count{channel="email"} 1.0' in metrics
    assert 'optout_time_to_suppression_seconds_count{channel="one-click"} 1.0' in metrics
    assert daemon.stop() == 0


def test_imap_outage_is_survived_and_mail_is_processed_after(
    daemon_setup: tuple[Daemon, Dovecot, Path],
) -> None:
    daemon, server, config = daemon_setup
    server.append(m.UNSUBSCRIBE)
    wait_until(lambda: suppressed(config, "jane@example.org"), timeout=10)
    server.stop()
    time.sleep(30)
    assert daemon.proc.poll() is None  # still running
    other = m.UNSUBSCRIBE.replace(b"jane@example.org", b"joe@example.org").replace(
        b"reply-1@", b"reply-2@"
    )
    server.start()
    server.append(other)  # arrived while the daemon was cut off
    wait_until(lambda: suppressed(config, "joe@example.org"), timeout=60)
    events = daemon.logs()
    failures = [e for e in events if e["event"] == "job.failed" and e["job"] == "source:imap"]
    assert failures, "the outage was not logged"
    assert all("retry_in_seconds" in e for e in failures)
    health = daemon.get("/healthz")
    assert health["jobs"]["source:imap"]["failures"] >= 1
    assert daemon.stop() == 0
