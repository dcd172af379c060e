"""Issue 3's acceptance, end to end through `optout run` and the `optout` command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.cli.test_daemon import free_port, start, wait_for_health
from tests.conftest import ROOT


def optout(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # not `-m worker.cli`: run as __main__, that module is a second copy of worker.cli
        # on which worker.cli_links does not register its commands
        [
            sys.executable,
            "-c",
            "from worker.cli import main; main()",
            *args,
            "--config",
            str(config),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_headers_then_one_click_then_check_then_the_page_for_the_rest(
    config_file: Path, tmp_path: Path
) -> None:
    port = free_port()
    text = config_file.read_text().replace(
        'public_url = "http://127.0.0.1:8025"', f'public_url = "http://127.0.0.1:{port}"'
    )
    config_file.write_text(text)
    assert optout(config_file, "migrate").returncode == 0
    proc = start(config_file, port, tmp_path)
    try:
        wait_for_health(port, proc)
        out = optout(config_file, "headers", "a@example.com", "--category", "newsletter")
        assert out.returncode == 0, out.stderr
        assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in out.stdout
        url = re.search(r"List-Unsubscribe: <(http[^>]+)>", out.stdout)
        assert url is not None
        link = url.group(1)

        with httpx.Client(timeout=10, follow_redirects=False) as client:
            assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
            check = ("check", "a@example.com", "--category")
            assert optout(config_file, *check, "newsletter").returncode == 3
            assert optout(config_file, *check, "offers").returncode == 0
            assert optout(config_file, *check, "account").returncode == 0

            # a second person: GET leaves them allowed; "all promotional" then stops offers
            out = optout(config_file, "headers", "b@example.com", "--category", "newsletter")
            m = re.search(r"<(http[^>]+)>", out.stdout)
            assert m is not None
            b_link = m.group(1)
            assert client.get(b_link).status_code == 200
            assert (
                optout(config_file, "check", "b@example.com", "--category", "newsletter").returncode
                == 0
            )
            r = client.post(b_link + "/confirm", data={"choice": "all"})
            assert r.status_code == 200
            assert (
                optout(config_file, "check", "b@example.com", "--category", "offers").returncode
                == 3
            )
            assert (
                optout(config_file, "check", "b@example.com", "--category", "account").returncode
                == 0
            )

        transactional = optout(config_file, "headers", "a@example.com", "--category", "account")
        assert transactional.returncode == 0
        assert "no unsubscribe headers" in transactional.stdout
    finally:
        proc.terminate()
        proc.wait(15)
