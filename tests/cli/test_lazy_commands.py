"""Commands of the cli_* modules are loaded when asked for, and none is forgotten."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from worker.cli import LAZY_COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "optout.example.toml"


def test_the_lazy_table_names_every_command_of_the_other_modules_and_where_it_is() -> None:
    # every cli_* module, also one added later and forgotten in the table
    for path in sorted((ROOT / "worker").glob("cli_*.py")):
        importlib.import_module(f"worker.{path.stem}")
    registered = {n: c.callback.__module__ for n, c in cli.commands.items() if c.callback}
    assert {n: m for n, m in registered.items() if m != "worker.cli"} == LAZY_COMMANDS


def test_help_lists_every_command() -> None:
    ctx = cli.make_context("optout", ["--help"], resilient_parsing=True)
    names = cli.list_commands(ctx)
    assert set(LAZY_COMMANDS) <= set(names)
    assert {"run", "migrate", "suppress", "check", "lift", "requests", "log", "report"} <= set(
        names
    )


@pytest.mark.parametrize(
    ("args", "loaded", "absent"),
    [
        # a check in a script's loop: no classifier, no IMAP source, no mailer
        (["check", "a@example.com", "--category", "newsletter"], [],
         ["worker.core.classify", "worker.sources.imap", "worker.mailer", "worker.cli_intake"]),
        (["review", "list"], ["worker.cli_intake"], []),
        # a one-shot pass: the mailer queues confirmations, but nothing is scraped; the
        # classifier's modules are its worker process's, the parent reads the answers
        (["poll"], ["worker.cli_intake", "worker.mailer", "worker.core.verdict"],
         ["prometheus_client", "apscheduler", "worker.metrics", "worker.core.classify"]),
    ],
)  # fmt: skip
def test_a_command_loads_only_what_it_needs(
    tmp_path: Path, args: list[str], loaded: list[str], absent: list[str]
) -> None:
    config = tmp_path / "optout.toml"
    config.write_text(
        EXAMPLE.read_text().replace(
            'url = "sqlite:///var/optout.db"', f'url = "sqlite:///{tmp_path / "o.db"}"'
        )
    )
    probe = (
        "import sys\n"
        "from worker.cli import main\n"
        "try:\n"
        f"    main({[*args, '--config', str(config)]!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
        "print('CODE', code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    modules = set(done.stdout.split("MODULES ", 1)[1].split("\n", 1)[0].split())
    assert "CODE 0" in done.stdout, done.stdout + done.stderr
    for name in loaded:
        assert name in modules
    for name in absent:
        assert name not in modules


def _gc_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)  # fmt: skip
    return out.stdout.split()


def test_the_start_up_pause_leaves_the_collector_on_and_the_imports_frozen() -> None:
    # a pause that forgot to restore would leave every command (and a test run that
    # imports the CLI) without cyclic collection
    code = (
        "import gc, worker.cli as c\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 10000)\n"
        "with c.built_for_good():\n"
        "    inside = gc.isenabled()\n"
        "print(inside, gc.isenabled())\n"
    )
    assert _gc_after(code) == ["True", "True", "False", "True"]


def test_the_start_up_pause_leaves_a_collector_that_was_off_off() -> None:
    code = (
        "import gc\ngc.disable()\nimport worker.cli as c\n"
        "with c.built_for_good():\n    pass\n"
        "print(gc.isenabled())\n"
    )
    assert _gc_after(code) == ["False"]


@pytest.mark.parametrize("first", ["mailer", "metrics"])
def test_the_mailer_counts_into_the_metrics_whichever_is_built_first(
    tmp_path: Path, first: str
) -> None:
    from worker.bootstrap import open_app
    from worker.config import load_settings

    config = tmp_path / "optout.toml"
    config.write_text(
        EXAMPLE.read_text().replace(
            'url = "sqlite:///var/optout.db"', f'url = "sqlite:///{tmp_path / "o.db"}"'
        )
    )
    app = open_app(load_settings(config))
    try:
        getattr(app, first)
        metrics = app.metrics
        assert app.mailer.metrics is metrics
    finally:
        app.close()
