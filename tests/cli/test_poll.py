"""`optout poll` on the embedded Maildir inbox: each message processed once, then moved."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.intake import messages as m


def deliver(inbox: Path, *messages: bytes) -> None:
    box = mailbox.Maildir(inbox, create=True)
    for msg in messages:
        box.add(mailbox.MaildirMessage(msg))  # lands in new/


def count(folder: Path) -> int:
    return sum(1 for sub in ("new", "cur") if (folder / sub).is_dir()
               for _ in (folder / sub).iterdir())  # fmt: skip


def test_poll_processes_the_maildir_and_moves_each_message(
    capsys: pytest.CaptureFixture[str], config_file: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    deliver(inbox, m.UNSUBSCRIBE, m.OUT_OF_OFFICE, m.QUESTION_WITH_FOOTER, m.DSN_HARD)
    cfg = ("--config", str(config_file))
    code, out, err = run(capsys, "poll", "--json", *cfg)
    assert code == 0, err
    (result,) = json.loads(out)["sources"]
    assert result["fetched"] == 4
    assert result["outcomes"] == {"processed": 3, "review": 1}
    assert count(inbox) == 0
    assert count(inbox / ".processed") == 3
    assert count(inbox / ".review") == 1
    assert run(capsys, "check", "jane@example.org", "-c", "newsletter", *cfg)[0] == 3
    assert run(capsys, "check", "gone.user@example.net", "-c", "account", *cfg)[0] == 3
    code, out, _ = run(capsys, "poll", "--json", *cfg)
    assert json.loads(out)["sources"][0]["fetched"] == 0
    assert len(json.loads(run(capsys, "requests", "--json", *cfg)[1])) == 3


def test_poll_unknown_source_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], config_file: Path
) -> None:
    code, _, err = run(capsys, "poll", "--source", "nope", "--config", str(config_file))
    assert code == 2
    assert "no source named 'nope'" in err


def test_poll_reads_a_configured_access_log(
    capsys: pytest.CaptureFixture[str], config_file: Path, tmp_path: Path
) -> None:
    from tests.unit.test_linklog import combined
    from worker.bootstrap import open_app
    from worker.config import load_settings
    from worker.links import LinkService

    access = tmp_path / "access.log"
    config_file.write_text(
        config_file.read_text()
        + f'\n[[sources]]\nname = "web"\nkind = "linklog"\npath = "{access}"\n'
    )
    app = open_app(load_settings(config_file))
    url = LinkService.from_settings(app.service, app.settings).link("hit@example.com", "offers")
    app.close()
    access.write_text(combined(url.rsplit("/", 1)[1]))
    cfg = ("--config", str(config_file))
    code, out, err = run(capsys, "poll", "--source", "web", "--json", *cfg)
    assert code == 0, err
    (result,) = json.loads(out)["sources"]
    assert result["new"] == 1
    assert run(capsys, "check", "hit@example.com", "-c", "offers", *cfg)[0] == 3
    assert run(capsys, "check", "hit@example.com", "-c", "newsletter", *cfg)[0] == 0
