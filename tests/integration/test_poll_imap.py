"""`optout poll` against a real Dovecot: the inbox issue's acceptance points."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.conftest import ROOT, service_missing
from tests.corpus.metrics import corpus_root
from tests.e2e.conftest import Sink
from tests.intake import messages as m
from tests.integration.dovecot import Dovecot
from worker.core.classify import classify

PASSWORD_ENV = "OPTOUT_TEST_IMAP_PASSWORD"


@pytest.fixture
def imap_config(
    config_file: Path, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch, smtp_sink: Sink
) -> Path:
    monkeypatch.setenv(PASSWORD_ENV, dovecot.password)
    config_file.write_text(
        config_file.read_text()
        + f"""
[[sources]]
name = "imap"
kind = "imap"
host = "127.0.0.1"
port = {dovecot.port}
tls = "none"
username = "{dovecot.user}"
password_env = "{PASSWORD_ENV}"
mailbox = "INBOX"
processed_mailbox = "optout/processed"
review_mailbox = "optout/review"

[smtp]
host = "127.0.0.1"
port = {smtp_sink.port}
tls = "none"
from = "Example <no-reply@example.com>"
"""
    )
    return config_file


def poll(capsys: pytest.CaptureFixture[str], config: Path) -> dict[str, object]:
    code, out, err = run(capsys, "poll", "--source", "imap", "--json", "--config", str(config))
    assert code == 0, err
    (result,) = json.loads(out)["sources"]
    return dict(result)


def test_reply_appended_to_dovecot_becomes_a_suppression_once(
    capsys: pytest.CaptureFixture[str], imap_config: Path, dovecot: Dovecot
) -> None:
    internaldate = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # Friday, Thanksgiving ahead
    dovecot.append(m.UNSUBSCRIBE, date_time=internaldate)
    assert poll(capsys, imap_config)["fetched"] == 1
    cfg = ("--config", str(imap_config))
    assert run(capsys, "check", "jane@example.org", "-c", "newsletter", *cfg)[0] == 3
    assert run(capsys, "check", "jane@example.org", "-c", "account", *cfg)[0] == 0
    (req,) = json.loads(run(capsys, "requests", "--json", *cfg)[1])
    assert req["received_at"] == "2026-11-20T10:00:00-05:00"  # INTERNALDATE, not Date:
    assert req["deadline"].startswith("2026-12-07")
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids("optout.processed")) == 1
    again = poll(capsys, imap_config)
    assert again["fetched"] == 0
    assert len(json.loads(run(capsys, "requests", "--json", *cfg)[1])) == 1


def test_footer_quote_question_lands_in_review_folder(
    capsys: pytest.CaptureFixture[str], imap_config: Path, dovecot: Dovecot
) -> None:
    dovecot.append(m.QUESTION_WITH_FOOTER)
    assert poll(capsys, imap_config)["outcomes"] == {"review": 1}
    assert len(dovecot.uids("optout.review")) == 1
    cfg = ("--config", str(imap_config))
    assert run(capsys, "check", "jane@example.org", "-c", "newsletter", *cfg)[0] == 0


def _corpus_pick(label: str, extra_has: str) -> bytes:
    root = corpus_root()
    if not root.is_dir():
        service_missing(f"public email corpus not found at {root}")
    for labels in sorted(root.glob("*/labels.csv")):
        with labels.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["label"] == label and extra_has in row["extra"]:
                    return (labels.parent / row["filename"]).read_bytes()
    raise AssertionError(f"no {label} sample with {extra_has!r}")


def test_machine_mail_from_the_corpus_is_never_an_opt_out_of_its_sender(
    capsys: pytest.CaptureFixture[str], imap_config: Path, dovecot: Dovecot, smtp_sink: Sink
) -> None:
    dsn = _corpus_pick("bounce", "hardbounce=true")
    arf = _corpus_pick("complaint_arf", "feedbacktype=abuse")
    ooo = _corpus_pick("autoreply", "Auto-Submitted")
    for raw in (dsn, arf, ooo):
        dovecot.append(raw)
    result = poll(capsys, imap_config)
    assert result["fetched"] == 3
    cfg = ("--config", str(imap_config))
    for raw in (dsn, arf, ooo):
        sender = classify(raw).sender
        if sender:
            assert run(capsys, "check", sender, "-c", "newsletter", *cfg)[0] == 0, sender
    (failed,) = classify(dsn).addresses[:1]
    assert run(capsys, "check", failed, "-c", "account", *cfg)[0] == 3  # hard bounce: every
    code, out, _ = run(capsys, "outbox", "--json", *cfg)
    assert code == 0
    assert json.loads(out) == []  # no reply queued to any of them
    assert smtp_sink.messages == []


CRASH = """
import asyncio, os, sys
from worker.bootstrap import open_app
from worker.config import load_settings
from worker.config import mailbox_entries
from worker.poller import Poller
from worker.sources import open_source
from worker.store.state import DbCheckpoint

app = open_app(load_settings(sys.argv[1]))
(entry,) = mailbox_entries(app.settings, "imap")
source = open_source(entry, DbCheckpoint(app.store, app.service.clock))

async def crash(*_args):
    os._exit(137)  # killed after the commit, before the move

source.settle_many = crash
asyncio.run(Poller(source, app.intake).poll_once())
"""


def test_killed_between_commit_and_move_the_restart_repeats_nothing(
    capsys: pytest.CaptureFixture[str], imap_config: Path, dovecot: Dovecot
) -> None:
    dovecot.append(m.UNSUBSCRIBE)
    proc = subprocess.run(
        [sys.executable, "-c", CRASH, str(imap_config)], cwd=ROOT, capture_output=True,
        env={**os.environ}, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 137, proc.stderr.decode()
    assert len(dovecot.uids("INBOX")) == 1  # committed, not moved
    cfg = ("--config", str(imap_config))
    log_before = json.loads(run(capsys, "log", "--json", *cfg)[1])
    result = poll(capsys, imap_config)
    assert result["fetched"] == 1
    assert result["new"] == 0  # recognised by its key: only moved
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids("optout.processed")) == 1
    assert len(json.loads(run(capsys, "requests", "--json", *cfg)[1])) == 1
    assert json.loads(run(capsys, "log", "--json", *cfg)[1]) == log_before


def test_a_mailbox_polled_by_another_instance_is_skipped(
    capsys: pytest.CaptureFixture[str], imap_config: Path, dovecot: Dovecot, db_url: str
) -> None:
    from worker.store.db import create_db_engine
    from worker.store.lease import Lease

    dovecot.append(m.UNSUBSCRIBE)
    engine = create_db_engine(db_url)
    other = Lease(engine, "source:imap")  # another instance, mid-poll
    assert other.acquire()
    try:
        code, _, err = run(capsys, "poll", "--source", "imap", "--config", str(imap_config))
        if engine.dialect.name == "postgresql":
            assert code == 1
            assert "another instance" in err
            assert len(dovecot.uids("INBOX")) == 1
        else:
            assert code == 0  # SQLite is one host's database: no lease to contend for
    finally:
        other.release()
        engine.dispose()
    poll(capsys, imap_config)
    assert dovecot.uids("INBOX") == []


def test_a_wrong_password_fails_the_source_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    imap_config: Path,
    dovecot: Dovecot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the pass's first login is the head start's, before the database is open: its
    # failure is the source's, reported as a pass reports it
    dovecot.append(m.UNSUBSCRIBE)
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    code, out, err = run(capsys, "poll", "--source", "imap", "--json", "--config", str(imap_config))
    assert code == 1, err
    report = json.loads(out)
    assert report["sources"] == []
    assert list(report["failures"]) == ["imap"]
    assert "authentication failed" in report["failures"]["imap"].lower()
    assert len(dovecot.uids("INBOX")) == 1
    cfg = ("--config", str(imap_config))
    assert json.loads(run(capsys, "requests", "--json", *cfg)[1]) == []
