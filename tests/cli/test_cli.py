"""The `optout` command as operators use it (acceptance points of the foundation issue)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from worker.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.fixture
def optout(capsys: pytest.CaptureFixture[str], config_file: Path):  # type: ignore[no-untyped-def]
    def call(*args: str) -> tuple[int, str, str]:
        return run(capsys, *args, "--config", str(config_file))

    return call


def test_phone_opt_out_check_lift_and_log(optout) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = optout("suppress", "A@Example.com", "--channel", "phone", "--actor", "desk")
    assert code == 0
    assert "a@example.com" in out
    assert optout("check", "a@example.com", "--category", "newsletter")[0] == 3
    assert optout("check", "a@example.com", "--category", "account")[0] == 0
    code, out, _ = optout("check", "a@example.com", "--category", "offers", "--json")
    assert code == 3
    answer = json.loads(out)
    assert answer["suppressed"] is True
    assert answer["reason"] == "opt-out"
    assert answer["since"]
    code, _, _ = optout(
        "lift", "a@example.com", "--scope", "all", "--actor", "desk", "--reason", "rejoined"
    )
    assert code == 0
    assert optout("check", "a@example.com", "--category", "newsletter")[0] == 0
    code, out, _ = optout("log", "--address", "a@example.com", "--json")
    events = [e["event"] for e in json.loads(out)]
    assert events == ["received", "applied", "lifted"]
    assert all(e["address"] == "a***@example.com" for e in json.loads(out))


def test_received_at_gives_the_deadline(optout) -> None:  # type: ignore[no-untyped-def]
    code, _, _ = optout("suppress", "x@example.com", "--received-at", "2026-11-25T10:00:00-05:00")
    assert code == 0
    code, out, _ = optout("requests", "--json")
    rows = json.loads(out)
    assert rows[0]["deadline"].startswith("2026-12-10T23:59:59")
    assert rows[0]["received_at"] == "2026-11-25T10:00:00-05:00"


def test_hashed_export_never_shows_the_address(optout) -> None:  # type: ignore[no-untyped-def]
    optout("suppress", "Someone@Example.com")
    code, out, _ = optout("export", "--hashed")
    assert code == 0
    assert "someone" not in out.lower()
    digest = hashlib.sha256(b"someone@example.com").hexdigest()
    rows = list(csv.DictReader(out.splitlines()))
    assert rows[0]["address_sha256"] == digest
    code, out, _ = optout("export", "--format", "ndjson")
    assert json.loads(out.splitlines()[0])["address"] == "someone@example.com"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("suppress", "not-an-address"), "not a valid email address"),
        (("check", "a@example.com", "--category", "nosuch"), "unknown category"),
        (("suppress", "a@example.com", "--scope", "account"), "transactional"),
        (("suppress", "a@example.com", "--received-at", "tomorrowish"), "invalid time"),
        (("lift", "a@example.com", "--scope", "all", "--actor", "x", "--reason", "y"), "no active"),
    ],
)
def test_user_mistakes_are_one_line_exit_2_and_write_nothing(optout, args, needle) -> None:  # type: ignore[no-untyped-def]
    code, _, err = optout(*args)
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert json.loads(optout("requests", "--json")[1]) == []
    assert json.loads(optout("log", "--json")[1]) == []


def test_missing_required_option_is_a_usage_error(optout) -> None:  # type: ignore[no-untyped-def]
    code, _, err = optout("lift", "a@example.com", "--scope", "all")
    assert code == 2
    assert "--actor" in err


def test_import_reports_bad_rows_by_line_and_imports_the_rest(optout, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "list.csv"
    f.write_text(
        "email,scope,received_at\n"
        "one@example.com,all,2026-11-01\n"
        "broken-address,all,\n"
        "two@example.com,offers,\n"
        "three@example.com,account,\n"
        "four@example.com,,2026-11-02T08:00:00Z\n"
    )
    code, out, err = optout("import", str(f), "--actor", "ops")
    assert code == 1
    assert "line 3:" in err
    assert "line 5:" in err
    assert "imported 3 requests" in out
    assert optout("check", "two@example.com", "--category", "offers")[0] == 3
    assert optout("check", "two@example.com", "--category", "newsletter")[0] == 0
    assert optout("check", "four@example.com", "--category", "newsletter")[0] == 3
    code, out, _ = optout("import", str(f))
    assert "imported 0 requests" in out
    assert "3 already present" in out


def test_import_without_address_column_is_refused(optout, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "bad.csv"
    f.write_text("name,phone\nx,1\n")
    code, _, err = optout("import", str(f))
    assert code == 2
    assert "no address column" in err


def test_report_json_lists_counts_and_deadlines(optout) -> None:  # type: ignore[no-untyped-def]
    optout("suppress", "a@example.com")
    code, out, _ = optout("report", "--json")
    assert code == 0
    rep = json.loads(out)
    assert rep["requests_by_status"] == {"applied": 1}
    assert rep["time_to_suppression"]["max_seconds"] is not None
    assert rep["overdue"] == []
    code, out, _ = optout("report")
    assert "time to suppression" in out


def test_ticket_makes_suppress_idempotent(optout) -> None:  # type: ignore[no-untyped-def]
    optout("suppress", "a@example.com", "--ticket", "T-9", "--channel", "phone")
    code, out, _ = optout("suppress", "a@example.com", "--ticket", "T-9", "--channel", "phone")
    assert code == 0
    assert "already recorded" in out
    assert len(json.loads(optout("requests", "--json")[1])) == 1


def test_wrong_config_is_refused_naming_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[database]\nurl = "sqlite:///x.db"\nulr = "typo"\n')
    code, _, err = run(capsys, "check", "a@example.com", "-c", "newsletter", "--config", str(bad))
    assert code == 2
    assert "database.ulr: unknown key" in err
