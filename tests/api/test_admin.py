"""``/admin``: sign-in with an admin key, the session cookie, CSRF, and the ops pages."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

from tests.api.conftest import Live
from tests.intake import messages as m
from worker.core.model import Channel

RECEIVED = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def login(live: Live, scope: str = "admin") -> str:
    """Sign in; returns the key's name (the actor of what the session does)."""
    name = f"ops-{scope}"
    key = live.ctx.keys.create(name, scope).key
    r = live.client.post("/admin/login", data={"key": key})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/admin"
    return name


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def review_item(live: Live) -> int:
    result = live.app.intake.process("inbox", "1:1", m.QUESTION_WITH_FOOTER, RECEIVED)
    assert result.disposition.value == "review"
    return result.item_id


def test_pages_redirect_to_login_without_a_session(live: Live) -> None:
    for path in ("/admin", "/admin/review", "/admin/search", "/admin/log", "/admin/review/1"):
        r = live.client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"] == "/admin/login"
    r = live.client.post("/admin/review/1/apply", data={"reason": "x"})
    assert r.status_code == 303
    page = live.client.get("/admin/login")
    assert page.status_code == 200
    assert 'type="password"' in page.text
    assert "<script" not in page.text


def test_a_check_scope_key_is_refused(live: Live) -> None:
    key = live.key("check")
    r = live.client.post("/admin/login", data={"key": key})
    assert r.status_code == 403
    assert "admin-scope key is needed" in r.text
    assert "set-cookie" not in r.headers
    r = live.client.post("/admin/login", data={"key": "oo_not-a-key"})
    assert r.status_code == 401
    r = live.client.get("/admin", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 303


def test_login_sets_a_strict_httponly_cookie_and_the_dashboard_shows_deadlines(
    live: Live,
) -> None:
    svc = live.app.service
    now = svc.clock.now()
    cal, days = svc.policy.calendar, svc.policy.business_days
    warn = svc.policy.warn_before_business_days
    received = next(
        now - timedelta(days=d)
        for d in range(1, 30)
        if (dl := cal.deadline(now - timedelta(days=d), days)) >= now
        and cal.warn_at(dl, warn) <= now
    )
    req = svc.prepare("late.person@example.com", channel=Channel.EMAIL, received_at=received)
    held = svc.record(dataclasses.replace(req, needs_review=True)).request

    key = live.ctx.keys.create("ops", "admin").key
    r = live.client.post("/admin/login", data={"key": key})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "max-age=28800" in cookie
    assert key not in r.headers["set-cookie"]

    page = live.client.get("/admin")
    assert page.status_code == 200
    assert "Near their deadline (1)" in page.text
    assert "l***@example.com" in page.text
    assert "late.person@example.com" not in page.text
    tz = svc.policy.calendar.tz
    assert f"Times are in {tz}" in page.text
    assert held.deadline.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") in page.text

    # scripts: a Bearer admin key works without a cookie
    fresh = type(live.client)(base_url=live.url)
    with fresh:
        r = fresh.get("/admin", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200


def test_review_apply_with_a_reason_suppresses_and_resolves_the_item(live: Live) -> None:
    item_id = review_item(live)
    name = login(live)
    listing = live.client.get("/admin/review")
    assert f'href="/admin/review/{item_id}"' in listing.text
    assert "j***@example.org" in listing.text
    page = live.client.get(f"/admin/review/{item_id}")
    assert "gift cards" in page.text
    token = csrf(page.text)

    r = live.client.post(f"/admin/review/{item_id}/apply", data={"csrf": token, "reason": " "})
    assert r.status_code == 422
    assert "A reason is required" in r.text
    assert live.app.service.check("jane@example.org", "newsletter").allowed

    r = live.client.post(
        f"/admin/review/{item_id}/apply", data={"csrf": token, "reason": "asked to stop"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/admin/review/{item_id}?notice=applied"
    assert not live.app.service.check("jane@example.org", "newsletter").allowed
    view, _ = live.app.intake.item(item_id)
    assert view.status == "resolved"
    assert view.resolved_by == name
    assert "Applied" in live.client.get(r.headers["location"]).text

    again = live.client.post(
        f"/admin/review/{item_id}/dismiss", data={"csrf": token, "reason": "x"}
    )
    assert again.status_code == 409
    assert "not waiting for review" in again.text
    missing = live.client.post("/admin/review/9999/apply", data={"csrf": token, "reason": "x"})
    assert missing.status_code == 404


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(
    live: Live,
) -> None:
    item_id = review_item(live)
    login(live)
    before = live.counts()
    for data in ({"reason": "r"}, {"reason": "r", "csrf": "forged"}):
        r = live.client.post(f"/admin/review/{item_id}/apply", data=data)
        assert r.status_code == 403
    assert live.client.post("/admin/logout", data={}).status_code == 403
    view, _ = live.app.intake.item(item_id)
    assert view.status == "review"
    assert live.counts() == before
    assert live.app.service.check("jane@example.org", "newsletter").allowed
    assert live.client.get("/admin").status_code == 200  # still signed in


def test_search_shows_a_phone_opt_out_and_refuses_a_malformed_address(live: Live) -> None:
    svc = live.app.service
    svc.record(svc.prepare("caller@example.com", channel=Channel.PHONE, actor="desk"))
    login(live)
    r = live.client.get("/admin/search", params={"address": "Caller@Example.com"})
    assert r.status_code == 200
    assert "No suppression" not in r.text
    assert "<strong>active</strong>" in r.text
    assert "phone" in r.text
    bad = live.client.get("/admin/search", params={"address": "not an address"})
    assert bad.status_code == 422
    assert "Not a usable email address" in bad.text


def test_audit_log_lists_events_with_masked_addresses_only(live: Live) -> None:
    svc = live.app.service
    svc.record(svc.prepare("secret.person@example.com", channel=Channel.PHONE, actor="desk"))
    svc.record(svc.prepare("other@example.com", channel=Channel.PHONE, actor="desk"))
    login(live)
    r = live.client.get("/admin/log")
    assert r.status_code == 200
    assert "s***@example.com" in r.text
    assert "secret.person" not in r.text
    assert r.text.index("o***@example.com") < r.text.index("s***@example.com")  # newest first
    one = live.client.get("/admin/log", params={"address": "secret.person@example.com"})
    assert "secret.person" not in one.text
    assert "o***@example.com" not in one.text
    assert "received" in one.text
    assert "applied" in one.text
    bad = live.client.get("/admin/log", params={"since": "yesterday-ish"})
    assert bad.status_code == 422


def test_logout_ends_the_session(live: Live) -> None:
    login(live)
    page = live.client.get("/admin")
    old_cookie = live.client.cookies.get("optout_admin")
    assert old_cookie
    r = live.client.post("/admin/logout", data={"csrf": csrf(page.text)})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/admin/login")
    assert live.client.get("/admin").status_code == 303
    # a copy of the old cookie no longer works either
    live.client.cookies.set("optout_admin", old_cookie, path="/admin")
    assert live.client.get("/admin").status_code == 303


def test_an_item_page_shows_a_bounce_with_its_cause(live: Live) -> None:
    result = live.app.intake.process("inbox", "2:1", m.DSN_FULL, RECEIVED)
    assert result.request_ids == ()
    login(live)
    page = live.client.get(f"/admin/review/{result.item_id}")
    assert page.status_code == 200
    assert "<dt>Bounce</dt><dd>soft: mailbox full</dd>" in page.text
