"""`optout classify`, `optout review`, `optout privacy` as ops use them."""

from __future__ import annotations

import json
import mailbox
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.intake import messages as m
from worker.bootstrap import open_app
from worker.config import load_settings

RECEIVED = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_classify_reads_eml_maildir_and_mbox_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    eml = tmp_path / "one.eml"
    eml.write_bytes(m.UNSUBSCRIBE)
    md = mailbox.Maildir(tmp_path / "md", create=True)
    md.add(m.DSN_HARD)
    mb = mailbox.mbox(tmp_path / "box.mbox", create=True)
    mb.add(m.OUT_OF_OFFICE)
    mb.add(m.ERASURE)
    mb.flush()
    code, out, _ = run(
        capsys, "classify", "--json", str(eml), str(tmp_path / "md"), str(tmp_path / "box.mbox")
    )
    assert code == 0
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["class"] for r in recs] == ["unsubscribe", "bounce", "auto_reply", "privacy_request"]
    assert recs[1]["addresses"] == ["gone.user@example.net"]
    assert all(r["evidence"] for r in recs)
    assert not (tmp_path / "var").exists()


def test_classify_missing_file_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "classify", str(tmp_path / "nope.eml"))
    assert code == 2
    assert "no such file" in err


def test_review_list_show_apply_and_dismiss(
    capsys: pytest.CaptureFixture[str], config_file: Path
) -> None:
    app = open_app(load_settings(config_file))
    first = app.intake.process("inbox", "1:1", m.QUESTION_WITH_FOOTER, RECEIVED)
    second_msg = m.QUESTION_WITH_FOOTER.replace(b"question-1", b"question-2").replace(
        b"jane@example.org", b"joe@example.org"
    )
    second = app.intake.process("inbox", "1:2", second_msg, RECEIVED)
    app.close()
    cfg = ("--config", str(config_file))
    code, out, _ = run(capsys, "review", "list", "--json", *cfg)
    items = json.loads(out)
    assert [i["id"] for i in items] == [first.item_id, second.item_id]
    assert items[0]["deadline"].startswith("2026-12-0")
    assert items[0]["from"] == "j***@example.org"
    code, out, _ = run(capsys, "review", "show", str(first.item_id), "--json", *cfg)
    shown = json.loads(out)
    assert "gift cards" in shown["text"]
    code, out, _ = run(
        capsys, "review", "apply", str(first.item_id), "--actor", "ops", "--reason", "yes", *cfg
    )
    assert code == 0
    assert run(capsys, "check", "jane@example.org", "-c", "newsletter", *cfg)[0] == 3
    code, _, _ = run(
        capsys, "review", "dismiss", str(second.item_id), "--actor", "ops", "--reason", "q", *cfg
    )
    assert code == 0
    assert run(capsys, "check", "joe@example.org", "-c", "newsletter", *cfg)[0] == 0
    assert json.loads(run(capsys, "review", "list", "--json", *cfg)[1]) == []
    code, _, err = run(
        capsys, "review", "apply", str(second.item_id), "--actor", "ops", "--reason", "x", *cfg
    )
    assert code == 2
    assert "not waiting for review" in err
    assert run(capsys, "review", "show", "999", *cfg)[0] == 2


def test_privacy_queue_lists_requests_with_deadlines(
    capsys: pytest.CaptureFixture[str], config_file: Path
) -> None:
    app = open_app(load_settings(config_file))
    app.intake.process("inbox", "1:1", m.ERASURE, RECEIVED)
    app.close()
    code, out, _ = run(capsys, "privacy", "--json", "--config", str(config_file))
    assert code == 0
    (p,) = json.loads(out)
    assert "erasure" in p["kinds"]
    assert p["deadline"].startswith("2027-01-07")
    cfg = ("--config", str(config_file))
    code, _, err = run(capsys, "privacy", "close", str(p["id"]), "--actor", "dpo", *cfg)
    assert code == 2  # --reason is required
    code, _, _ = run(
        capsys, "privacy", "close", str(p["id"]), "--actor", "dpo", "--reason", "data sent", *cfg
    )
    assert code == 0
    assert json.loads(run(capsys, "privacy", "--json", *cfg)[1]) == []
    (closed,) = json.loads(run(capsys, "privacy", "--status", "closed", "--json", *cfg)[1])
    assert closed["status"] == "closed"
    code, _, err = run(
        capsys, "privacy", "close", str(p["id"]), "--actor", "dpo", "--reason", "again", *cfg
    )
    assert code == 2
    assert "is closed" in err


def test_review_show_names_a_bounce_and_its_cause(
    capsys: pytest.CaptureFixture[str], config_file: Path
) -> None:
    app = open_app(load_settings(config_file))
    hard = app.intake.process("inbox", "1:1", m.DSN_HARD, RECEIVED)
    full = app.intake.process("inbox", "1:2", m.DSN_FULL, RECEIVED)
    app.close()
    cfg = ("--config", str(config_file))
    shown = [
        json.loads(run(capsys, "review", "show", str(r.item_id), "--json", *cfg)[1])
        for r in (hard, full)
    ]
    assert [(s["bounce_kind"], s["bounce_cause"]) for s in shown] == [
        ("hard", "no_such_user"),
        ("soft", "mailbox_full"),
    ]


def test_configured_soft_bounce_escalation_reaches_the_intake(config_file: Path) -> None:
    text = config_file.read_text().replace("# soft_bounce_limit = 0", "soft_bounce_limit = 2")
    config_file.write_text(text.replace("# soft_bounce_days = 14", "soft_bounce_days = 0"))
    app = open_app(load_settings(config_file))
    try:
        first = app.intake.process("inbox", "1:1", m.DSN_FULL, RECEIVED)
        again = m.DSN_FULL.replace(b"<dsn-full@", b"<dsn-full-2@")
        second = app.intake.process("inbox", "1:2", again, RECEIVED)
        assert (len(first.request_ids), len(second.request_ids)) == (0, 1)
        assert not app.service.check("gone.user@example.net", "account").allowed
    finally:
        app.close()
