"""The /v1 suppression API: keys and scopes, checks one and many, export, headers, writes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator

import pytest

from tests.api.conftest import Live
from worker.core.model import Channel


def seed(live: Live, address: str, scope: str = "newsletter") -> None:
    svc = live.app.service
    svc.record(svc.prepare(address, scope=scope, channel=Channel.MANUAL))


def test_a_check_without_a_key_is_401(live: Live) -> None:
    r = live.client.get("/v1/suppressions/a@example.com", params={"category": "newsletter"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"]


def test_an_unknown_key_is_401(live: Live) -> None:
    r = live.client.get(
        "/v1/suppressions/a@example.com",
        params={"category": "newsletter"},
        headers={"Authorization": "Bearer oo_not-a-real-key"},
    )
    assert r.status_code == 401


def test_a_check_key_cannot_write_403(live: Live) -> None:
    r = live.client.post(
        "/v1/suppressions", json={"address": "a@example.com"}, headers=live.auth("check")
    )
    assert r.status_code == 403
    assert live.counts() == (0, 0)


def test_single_check_answers_with_reason_and_time(live: Live) -> None:
    seed(live, "a@example.com")
    auth = live.auth("check")
    r = live.client.get(
        "/v1/suppressions/A@Example.com", params={"category": "newsletter"}, headers=auth
    )
    assert r.status_code == 200
    body = r.json()
    assert body["address"] == "a@example.com"
    assert body["category"] == "newsletter"
    assert body["suppressed"] is True
    assert body["reason"] == "opt-out"
    assert body["since"].endswith("Z")
    r = live.client.get(
        "/v1/suppressions/a@example.com", params={"category": "account"}, headers=auth
    )
    assert r.json() == {
        "address": "a@example.com",
        "category": "account",
        "suppressed": False,
        "reason": None,
        "since": None,
        "scope": None,
        "request_id": None,
    }


def test_an_admin_key_may_check_too(live: Live) -> None:
    r = live.client.get(
        "/v1/suppressions/a@example.com",
        params={"category": "newsletter"},
        headers=live.auth("admin"),
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/suppressions/not-an-address", {"category": "newsletter"}),
        ("/v1/suppressions/a@example.com", {"category": "nope"}),
    ],
)
def test_bad_address_or_unknown_category_is_a_json_422(
    live: Live, path: str, params: dict[str, str]
) -> None:
    r = live.client.get(path, params=params, headers=live.auth("check"))
    assert r.status_code == 422
    assert r.json()["error"] in ("not a valid email address", "unknown category")


def test_a_revoked_key_stops_working(live: Live) -> None:
    new = live.ctx.keys.create("leaving", "check")
    auth = {"Authorization": f"Bearer {new.key}"}
    params = {"category": "newsletter"}
    assert live.client.get("/v1/suppressions/a@example.com", params=params, headers=auth).is_success
    live.ctx.keys.revoke("leaving")
    r = live.client.get("/v1/suppressions/a@example.com", params=params, headers=auth)
    assert r.status_code == 401


def test_bulk_check_returns_the_suppressed_ones_and_the_invalid_ones(live: Live) -> None:
    seed(live, "one@example.com", "newsletter")
    seed(live, "all@example.com", "all")
    seed(live, "offers@example.com", "offers")
    body = {
        "category": "newsletter",
        "addresses": [
            "One@Example.com",
            "all@example.com",
            "offers@example.com",
            "fresh@example.com",
            "broken@@",
        ],
    }
    r = live.client.post("/v1/check", json=body, headers=live.auth("check"))
    assert r.status_code == 200
    answer = r.json()
    assert sorted(answer["suppressed"]) == ["One@Example.com", "all@example.com"]
    assert answer["invalid"] == ["broken@@"]
    assert answer["checked"] == 5


def test_bulk_check_streams_ndjson_when_asked(live: Live) -> None:
    for i in range(50):
        seed(live, f"u{i}@example.com", "all")
    addresses = [f"u{i}@example.com" for i in range(100)]
    auth = {**live.auth("check"), "Accept": "application/x-ndjson"}
    r = live.client.post(
        "/v1/check", json={"category": "offers", "addresses": addresses}, headers=auth
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert sorted(x["address"] for x in lines) == sorted(addresses[:50])
    assert all(x["suppressed"] and x["category"] == "offers" for x in lines)


def test_bulk_check_refuses_more_than_the_configured_maximum(live: Live) -> None:
    too_many = [f"u{i}@example.com" for i in range(live.ctx.max_bulk_addresses + 1)]
    r = live.client.post(
        "/v1/check",
        json={"category": "offers", "addresses": too_many},
        headers=live.auth("check"),
    )
    assert r.status_code == 413
    assert r.json()["error"]


def test_bulk_check_with_an_unknown_category_is_422(live: Live) -> None:
    r = live.client.post(
        "/v1/check",
        json={"category": "nope", "addresses": ["a@example.com"]},
        headers=live.auth("check"),
    )
    assert r.status_code == 422


def test_export_csv_full_and_hashed(live: Live) -> None:
    seed(live, "e1@example.com", "all")
    seed(live, "e2@example.com", "newsletter")
    auth = live.auth("check")
    r = live.client.get("/v1/export", headers=auth)
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(x["address"] for x in rows) == ["e1@example.com", "e2@example.com"]
    r = live.client.get("/v1/export", params={"hashed": "true", "category": "offers"}, headers=auth)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["address_sha256"] for x in rows] == [hashlib.sha256(b"e1@example.com").hexdigest()]
    assert "e1@example.com" not in r.text


def test_incremental_export_carries_lifts_as_ndjson(live: Live) -> None:
    seed(live, "back@example.com", "newsletter")
    live.app.service.lift("back@example.com", "newsletter", actor="ops", reason="asked")
    r = live.client.get(
        "/v1/export", params={"since": "1d", "format": "ndjson"}, headers=live.auth("check")
    )
    assert r.status_code == 200
    [rec] = [json.loads(line) for line in r.text.splitlines()]
    assert rec["status"] == "lifted"
    assert rec["address"] == "back@example.com"


def test_export_with_a_bad_since_is_422(live: Live) -> None:
    r = live.client.get("/v1/export", params={"since": "yesterday-ish"}, headers=live.auth("check"))
    assert r.status_code == 422


def test_headers_for_promotional_and_transactional(live: Live) -> None:
    auth = live.auth("check")
    r = live.client.get(
        "/v1/headers", params={"address": "h@example.com", "category": "newsletter"}, headers=auth
    )
    assert r.status_code == 200
    h = r.json()["headers"]
    assert h["List-Unsubscribe"].startswith(f"<{live.app.settings.http.public_url}/u/")
    assert h["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    r = live.client.get(
        "/v1/headers", params={"address": "h@example.com", "category": "account"}, headers=auth
    )
    body = r.json()
    assert body["transactional"] is True
    assert body["headers"] == {}
    assert "transactional" in body["note"]


def test_admin_suppress_is_audited_and_idempotent_by_reference(live: Live) -> None:
    auth = live.auth("admin")
    body = {"address": "Call@Example.com", "scope": "offers", "reference": "T-1"}
    r = live.client.post("/v1/suppressions", json=body, headers=auth)
    assert r.status_code == 201
    assert r.json()["created"] is True
    r = live.client.post("/v1/suppressions", json=body, headers=auth)
    assert r.status_code == 200
    assert r.json()["created"] is False
    assert not live.app.service.check("call@example.com", "offers").allowed
    [req] = live.app.service.requests(address="call@example.com")
    assert req.channel.value == "api"
    assert req.actor is not None
    assert req.actor.startswith("api-key:")


def test_admin_suppress_refuses_a_transactional_scope_and_writes_nothing(live: Live) -> None:
    r = live.client.post(
        "/v1/suppressions",
        json={"address": "x@example.com", "scope": "account"},
        headers=live.auth("admin"),
    )
    assert r.status_code == 422
    assert live.counts() == (0, 0)


def test_admin_lift_needs_a_reason_and_keeps_history(live: Live) -> None:
    seed(live, "lift@example.com", "newsletter")
    auth = live.auth("admin")
    r = live.client.post(
        "/v1/lift", json={"address": "lift@example.com", "scope": "newsletter"}, headers=auth
    )
    assert r.status_code == 422
    r = live.client.post(
        "/v1/lift",
        json={"address": "lift@example.com", "scope": "newsletter", "reason": "re-subscribed"},
        headers=auth,
    )
    assert r.status_code == 200
    assert r.json()["lifted"] == ["newsletter"]
    assert live.app.service.check("lift@example.com", "newsletter").allowed
    r = live.client.post(
        "/v1/lift",
        json={"address": "lift@example.com", "scope": "newsletter", "reason": "again"},
        headers=auth,
    )
    assert r.status_code == 404


def test_a_chunked_oversized_json_body_is_cut_off_with_413(live: Live) -> None:
    auth = live.auth("admin")

    def chunks() -> Iterator[bytes]:
        yield b'{"address": "a@example.com", "note": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    r = live.client.post(
        "/v1/suppressions",
        content=chunks(),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert live.counts() == (0, 0)


def test_malformed_json_is_a_4xx_json_error(live: Live) -> None:
    r = live.client.post(
        "/v1/check",
        content=b"{not json",
        headers={**live.auth("check"), "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422)
    assert r.headers["content-type"].startswith("application/json")


def test_openapi_and_docs_are_served(live: Live) -> None:
    spec = live.client.get("/openapi.json").json()
    assert "/v1/check" in spec["paths"]
    assert "/u/{token}" in spec["paths"]
    assert live.client.get("/docs").status_code == 200
