"""The hot paths answer exactly as the general ones: the one-click dispatch and body
shortcut, the pipelined bulk check, and the bulk check's errors (pinned)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import worker.checks
from tests.api.conftest import Live
from worker.core.model import Channel
from worker.errors import DatabaseUnavailable

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FORM_UTF8 = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def seed(live: Live, address: str, scope: str = "newsletter") -> None:
    svc = live.app.service
    svc.record(svc.prepare(address, scope=scope, channel=Channel.MANUAL))


# -- one-click --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"List-Unsubscribe=One-Click", FORM),
        (b"List-Unsubscribe=One-Click", FORM_UTF8),
        (b"x=1&List-Unsubscribe=One-Click", FORM),
        (b"List-Unsubscribe=One-Click", {"Content-Type": "text/plain"}),
    ],
)
def test_one_click_bodies_that_unsubscribe(
    live: Live, body: bytes, headers: dict[str, str]
) -> None:
    token = live.token("ok@example.com", "newsletter")
    r = live.client.post(f"/u/{token}", content=body, headers=headers)
    assert r.status_code == 200
    assert r.text == "unsubscribed\n"
    assert r.headers["cache-control"] == "no-store"
    assert live.counts() == (1, 1)


@pytest.mark.parametrize(
    "body",
    [
        b"List-Unsubscribe=One-Click\n",  # same length as the usual body, not the same
        b"List-Unsubscribe=One-Clicks",
        b"List-Unsubscribe=one-click",
        b"",
    ],
)
def test_one_click_bodies_that_do_not(live: Live, body: bytes) -> None:
    token = live.token("no@example.com", "newsletter")
    r = live.client.post(f"/u/{token}", content=body, headers=FORM)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert live.counts() == (0, 0)


def test_a_malformed_multipart_body_is_a_400_json_error(live: Live) -> None:
    token = live.token("mp@example.com", "newsletter")
    r = live.client.post(
        f"/u/{token}", content=b"garbage", headers={"Content-Type": "multipart/form-data"}
    )
    assert r.status_code == 400
    assert r.json() == {"error": "Missing boundary in multipart.", "detail": None}
    assert live.counts() == (0, 0)


def test_a_chunked_oversized_form_is_refused_and_writes_nothing(live: Live) -> None:
    token = live.token("chunked@example.com", "newsletter")

    def chunks() -> Iterator[bytes]:
        yield b"List-Unsubscribe=One-Click&pad="
        for _ in range(40):
            yield b"x" * 65536

    r = live.client.post(f"/u/{token}", content=chunks(), headers=FORM)
    assert r.status_code == 400  # the form parser's field limit comes first, as before
    assert r.headers["content-type"] == "application/json"
    assert live.counts() == (0, 0)


def test_paths_beside_the_one_click_route_are_routed_as_before(live: Live) -> None:
    token = live.token("path@example.com", "newsletter")
    body = b"List-Unsubscribe=One-Click"
    assert live.client.post("/u/", content=body, headers=FORM).status_code == 404
    assert live.client.post(f"/u/{token}/", content=body, headers=FORM).status_code == 307
    assert live.client.post("/u/garbage", content=body, headers=FORM).status_code == 404
    assert live.counts() == (0, 0)


def test_the_one_click_route_is_still_in_the_openapi_schema(live: Live) -> None:
    spec = live.client.get("/openapi.json").json()
    assert spec["paths"]["/u/{token}"]["post"]["summary"] == "RFC 8058 one-click unsubscribe"


# -- bulk check ---------------------------------------------------------------------------
def test_a_pipelined_bulk_check_answers_as_the_single_checks(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker.checks, "FIRST_CHUNK", 3)  # many chunks from a short list
    monkeypatch.setattr(worker.checks, "CHUNK", 4)
    for i in range(0, 30, 3):
        seed(live, f"s{i}@example.com", "all" if i % 2 else "newsletter")
    asked = [f"s{i}@example.com" for i in range(30)]
    asked += ["S0@Example.com", " s3@example.com ", "bad@@", "s0@example.com", "", "nope"]
    r = live.client.post(
        "/v1/check",
        json={"category": "newsletter", "addresses": asked},
        headers=live.auth("check"),
    )
    assert r.status_code == 200
    answer = r.json()
    expected = [
        a
        for a in asked
        if a not in ("bad@@", "", "nope") and not live.app.service.check(a, "newsletter").allowed
    ]
    assert sorted(answer["suppressed"]) == sorted(expected)
    assert len(expected) == 13  # ten seeded, and three more spellings of two of them
    assert answer["invalid"] == ["bad@@", "", "nope"]
    assert answer["checked"] == len(asked)


def test_a_failing_chunk_fails_the_call_and_leaves_no_query_behind(live: Live) -> None:
    reads = live.ctx.reads

    def chunks() -> Iterator[list[str]]:
        yield ["0" * 64]
        raise DatabaseUnavailable("gone")

    with pytest.raises(DatabaseUnavailable):
        reads.blocked_among(chunks(), ["all"])
    assert reads.blocked_among(iter([["0" * 64], [], ["1" * 64]]), ["all"]) == set()


AUTH_JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            b"{not json",
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", 1],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": "Expecting property name enclosed in double quotes"},
                }
            ],
        ),
        (
            json.dumps({"category": 5, "addresses": "a@example.com"}).encode(),
            [
                {
                    "type": "string_type",
                    "loc": ["body", "category"],
                    "msg": "Input should be a valid string",
                    "input": 5,
                },
                {
                    "type": "list_type",
                    "loc": ["body", "addresses"],
                    "msg": "Input should be a valid list",
                    "input": "a@example.com",
                },
            ],
        ),
        (
            json.dumps({"category": "offers", "addresses": [1]}).encode(),
            [
                {
                    "type": "string_type",
                    "loc": ["body", "addresses", 0],
                    "msg": "Input should be a valid string",
                    "input": 1,
                }
            ],
        ),
        (
            json.dumps({"category": "offers", "addresses": [], "x": 1}).encode(),
            [
                {
                    "type": "extra_forbidden",
                    "loc": ["body", "x"],
                    "msg": "Extra inputs are not permitted",
                    "input": 1,
                }
            ],
        ),
        (
            b"",
            [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}],
        ),
    ],
)
def test_bulk_check_input_errors_are_422_with_the_validation_detail(
    live: Live, body: bytes, detail: list[dict[str, object]]
) -> None:
    r = live.client.post("/v1/check", content=body, headers={**live.auth("check"), **AUTH_JSON})
    assert r.status_code == 422
    assert r.json() == {"detail": detail}


def test_bulk_check_over_the_maximum_is_413_with_the_count(live: Live) -> None:
    n = live.ctx.max_bulk_addresses + 1
    r = live.client.post(
        "/v1/check",
        json={"category": "offers", "addresses": ["a@example.com"] * n},
        headers=live.auth("check"),
    )
    assert r.status_code == 413
    assert r.json() == {
        "error": "too many addresses",
        "detail": f"{n} > {live.ctx.max_bulk_addresses} per call",
    }
