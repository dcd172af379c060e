"""The linklog source: unsubscribe hits from a web server's access log become requests."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.config import LinklogSource
from worker.core.tokens import KeyRing
from worker.links import LinkService
from worker.service import OptoutService
from worker.sources.linklog import LinklogReader, parse_combined, parse_json
from worker.store.state import SourceStateStore

RING = KeyRing.parse("k1:linklog-test-secret-0123456789")
UA = "Mozilla/5.0 (X11; Linux x86_64)"


def combined(token: str, *, method: str = "POST", when: str = "23/Nov/2026:09:59:00 -0500") -> str:
    return f'203.0.113.9 - - [{when}] "{method} /u/{token} HTTP/1.1" 200 12 "-" "{UA}"\n'


@pytest.fixture
def links(service: OptoutService) -> LinkService:
    return LinkService(service, RING, public_url="https://mail.example.com")


def reader(
    links: LinkService, path: Path, *, fmt: str = "combined", accept_get: bool = False
) -> LinklogReader:
    cfg = LinklogSource(name="edge", kind="linklog", path=path, format=fmt, accept_get=accept_get)
    return LinklogReader(cfg, links, SourceStateStore(links.service.store))


def token(links: LinkService, address: str, scope: str = "newsletter") -> str:
    return links.link(address, scope).rsplit("/", 1)[1]


def test_a_post_hit_is_a_request_received_at_the_hits_own_time(
    links: LinkService, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    log.write_text(combined(token(links, "a@example.com")))
    result = reader(links, log).poll()
    assert (result.hits, result.recorded) == (1, 1)
    [req] = links.service.requests(address="a@example.com")
    assert req.received_at == datetime(2026, 11, 23, 14, 59, tzinfo=UTC)
    assert req.channel.value == "one-click"
    assert req.evidence["user_agent"] == UA
    assert req.evidence_key is not None
    assert req.evidence_key.startswith("linklog:")
    assert not links.service.check("a@example.com", "newsletter").allowed
    assert links.service.check("a@example.com", "offers").allowed


def test_gets_are_scanners_and_ignored_unless_configured(
    links: LinkService, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    log.write_text(combined(token(links, "g@example.com"), method="GET"))
    result = reader(links, log).poll()
    assert (result.ignored_get, result.recorded) == (1, 0)
    assert links.service.check("g@example.com", "newsletter").allowed
    other = tmp_path / "other.log"
    other.write_text(combined(token(links, "g@example.com"), method="GET"))
    assert reader(links, other, accept_get=True).poll().recorded == 1
    [req] = links.service.requests(address="g@example.com")
    assert req.channel.value == "link"


def test_the_offset_is_remembered_and_a_partial_line_waits(
    links: LinkService, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    first, second = combined(token(links, "1@example.com")), combined(token(links, "2@example.com"))
    log.write_text(first + second[:30])
    assert reader(links, log).poll().recorded == 1
    with log.open("a") as fh:
        fh.write(second[30:])
    again = reader(links, log).poll()  # a fresh reader: the position came from the database
    assert (again.lines, again.recorded) == (1, 1)
    assert reader(links, log).poll().lines == 0


def test_rotation_reads_the_rest_of_the_old_file_then_the_new_one(
    links: LinkService, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    log.write_text(combined(token(links, "1@example.com")))
    assert reader(links, log).poll().recorded == 1
    with log.open("a") as fh:
        fh.write(combined(token(links, "2@example.com"), when="23/Nov/2026:10:00:00 -0500"))
    os.rename(log, tmp_path / "access.log.1")  # logrotate's create mode
    log.write_text(combined(token(links, "3@example.com"), when="23/Nov/2026:10:01:00 -0500"))
    result = reader(links, log).poll()
    assert result.rotated
    assert (result.recorded, result.duplicates) == (2, 0)
    for n in (1, 2, 3):
        assert not links.service.check(f"{n}@example.com", "newsletter").allowed


def test_truncation_starts_again_from_the_top(links: LinkService, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(combined(token(links, "1@example.com")) * 3)
    assert reader(links, log).poll().lines == 3
    log.write_text(combined(token(links, "2@example.com")))  # copytruncate, then a new hit
    result = reader(links, log).poll()
    assert result.truncated
    assert result.recorded == 1


def test_rereading_after_a_crash_records_nothing_twice(links: LinkService, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(combined(token(links, "c@example.com")))
    assert reader(links, log).poll().recorded == 1
    SourceStateStore(links.service.store).put("edge", {"offset": "0"}, links.service.clock.now())
    result = reader(links, log).poll()
    assert (result.recorded, result.duplicates) == (0, 1)


def test_forged_tokens_and_junk_lines_are_counted_and_skipped(
    links: LinkService, tmp_path: Path
) -> None:
    good = token(links, "ok@example.com")
    forged = good[:-2] + ("AA" if good[-2:] != "AA" else "BB")
    log = tmp_path / "access.log"
    log.write_text(
        "garbage line\n"
        + combined(forged)
        + '203.0.113.9 - - [23/Nov/2026:09:59:00 -0500] "GET /index.html HTTP/1.1" 200 1 "-" "x"\n'
        + combined(good)
    )
    result = reader(links, log).poll()
    assert (result.malformed, result.invalid_tokens, result.recorded) == (1, 1, 1)
    assert len(links.service.requests()) == 1


def test_json_lines_in_nginx_and_caddy_shapes(links: LinkService, tmp_path: Path) -> None:
    t1, t2 = token(links, "n@example.com"), token(links, "c@example.com", "all")
    nginx = {
        "time_iso8601": "2026-11-23T10:00:00-05:00",
        "request_method": "POST",
        "request_uri": f"/u/{t1}",
        "status": "200",
        "http_user_agent": "curl/8",
    }
    caddy = {
        "ts": 1795446000.5,
        "status": 502,
        "request": {"method": "POST", "uri": f"/u/{t2}", "headers": {"User-Agent": ["UA/2"]}},
    }
    log = tmp_path / "access.json"
    log.write_text(json.dumps(nginx) + "\n" + json.dumps(caddy) + "\n")
    result = reader(links, log, fmt="json").poll()
    assert result.recorded == 2
    assert not links.service.check("c@example.com", "offers").allowed


def test_a_missing_log_is_not_an_error(links: LinkService, tmp_path: Path) -> None:
    assert reader(links, tmp_path / "nope.log").poll().lines == 0


def test_parsers_find_the_token_behind_a_path_prefix_and_query() -> None:
    line = combined("A" * 40).replace("/u/", "/mail/u/").replace(" HTTP/1.1", "?x=1 HTTP/1.1")
    hit = parse_combined(line)
    assert hit is not None
    assert hit.token == "A" * 40
    assert (
        parse_json(json.dumps({"request": "POST /u/" + "B" * 40 + " HTTP/2", "time": 0}))
        is not None
    )
