"""The daemon end to end on the embedded Maildir inbox with a real SMTP sink."""

from __future__ import annotations

import mailbox
import subprocess
import sys
from email import message_from_bytes
from pathlib import Path

from tests.e2e.conftest import Sink, start_daemon, wait_until
from tests.intake import messages as m


def check(config: Path, address: str, category: str) -> int:
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", "check", address, "-c", category,
         "--config", str(config)],
        capture_output=True, check=False,
    ).returncode  # fmt: skip


def test_reply_is_suppressed_and_confirmed_once_out_of_office_gets_nothing(
    config_file: Path, tmp_path: Path, smtp_sink: Sink
) -> None:
    text = config_file.read_text().replace("interval_seconds = 60", "interval_seconds = 2")
    text += (
        f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_sink.port}\ntls = "none"\n'
        'from = "Example <no-reply@example.com>"\nalerts_to = "ops@example.com"\n'
    )
    config_file.write_text(text)
    daemon = start_daemon(config_file, tmp_path)
    try:
        box = mailbox.Maildir(tmp_path / "inbox", create=True)
        box.add(m.UNSUBSCRIBE)
        box.add(m.OUT_OF_OFFICE)
        wait_until(lambda: check(config_file, "jane@example.org", "newsletter") == 3, 20)
        assert check(config_file, "jane@example.org", "offers") == 3
        assert check(config_file, "jane@example.org", "account") == 0
        wait_until(lambda: len(smtp_sink.messages) >= 1, 20)
        health = daemon.get("/healthz")
        assert health["jobs"]["source:inbox"]["last_success"]
        metrics = daemon.get("/metrics")
        assert "optout_items_processed_total" in metrics
    finally:
        code = daemon.stop()
    assert code == 0
    (sent,) = smtp_sink.messages  # exactly one: the reply, never the out-of-office
    assert sent.rcpt_tos == ["jane@example.org"]
    msg = message_from_bytes(sent.content)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == "<reply-1@example.org>"
    events = [e["event"] for e in daemon.logs()]
    assert "intake.item" in events
    assert "daemon.stopped" in events
    assert "jane@example.org" not in daemon.log_path.read_text()
