"""The README's walk-through runs as written (STYLE: examples in the README are tested)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.conftest import ROOT


def walkthrough() -> list[tuple[list[str], int]]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```console", 1)[1].split("```", 1)[0]
    steps = []
    for line in block.splitlines():
        if not line.startswith("$ optout "):
            continue
        command, _, comment = line[2:].partition("#")
        expected = re.search(r"exit (\d)", comment)
        steps.append((shlex.split(command)[1:], int(expected.group(1)) if expected else 0))
    return steps


def test_readme_walkthrough_runs(capsys: pytest.CaptureFixture[str], config_file: Path) -> None:
    steps = walkthrough()
    assert len(steps) >= 8
    for args, expected in steps:
        code, out, err = run(capsys, *args, "--config", str(config_file))
        assert code == expected, f"optout {' '.join(args)} → {code}: {err}"
        if "--hashed" in args:
            assert "example.com" not in out
