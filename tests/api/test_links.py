"""The unsubscribe link: RFC 8058 one-click, the safe GET page, and the confirm step."""

from __future__ import annotations

import base64

import pytest

from tests.api.conftest import Live

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def suppressed(live: Live, address: str, category: str) -> bool:
    return not live.app.service.check(address, category).allowed


def test_one_click_post_commits_before_the_200_and_only_for_that_category(live: Live) -> None:
    token = live.token("a@example.com", "newsletter")
    r = live.client.post(f"/u/{token}", data=ONE_CLICK)
    assert r.status_code == 200
    assert suppressed(live, "a@example.com", "newsletter")
    assert not suppressed(live, "a@example.com", "offers")
    assert not suppressed(live, "a@example.com", "account")


def test_one_click_accepts_a_multipart_body(live: Live) -> None:
    token = live.token("m@example.com", "newsletter")
    r = live.client.post(f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert r.status_code == 200
    assert suppressed(live, "m@example.com", "newsletter")


def test_one_click_accepts_a_bare_body_without_content_type(live: Live) -> None:
    token = live.token("bare@example.com", "offers")
    r = live.client.post(f"/u/{token}", content=b"List-Unsubscribe=One-Click")
    assert r.status_code == 200
    assert suppressed(live, "bare@example.com", "offers")


def test_one_click_needs_no_cookie_origin_or_csrf_and_never_redirects(live: Live) -> None:
    token = live.token("x@example.com", "all")
    r = live.client.post(
        f"/u/{token}",
        data=ONE_CLICK,
        headers={"Origin": "https://evil.example", "Referer": "https://elsewhere.example/"},
    )
    assert 200 <= r.status_code < 300
    assert "set-cookie" not in r.headers
    assert "location" not in r.headers
    assert suppressed(live, "x@example.com", "offers")


def test_repeated_one_click_posts_are_one_request(live: Live) -> None:
    token = live.token("twice@example.com", "newsletter")
    for _ in range(3):
        assert live.client.post(f"/u/{token}", data=ONE_CLICK).status_code == 200
    assert live.counts() == (1, 1)


def test_one_click_evidence_has_user_agent_and_age_of_the_token(live: Live) -> None:
    token = live.token("ev@example.com", "newsletter")
    live.client.post(f"/u/{token}", data=ONE_CLICK, headers={"User-Agent": "GoogleOneClick/1"})
    [req] = live.app.service.requests(address="ev@example.com")
    assert req.channel.value == "one-click"
    assert req.evidence["user_agent"] == "GoogleOneClick/1"
    assert 0 <= req.evidence["seconds_since_minted"] < 60
    assert req.evidence_key == f"one-click:{req.evidence['token_id']}"


def test_a_post_without_the_one_click_body_changes_nothing(live: Live) -> None:
    token = live.token("nobody@example.com", "newsletter")
    r = live.client.post(f"/u/{token}", data={"something": "else"})
    assert r.status_code == 400
    assert live.counts() == (0, 0)


def test_get_shows_the_page_and_changes_nothing(live: Live) -> None:
    token = live.token("reader@example.com", "newsletter")
    r = live.client.get(f"/u/{token}")
    assert r.status_code == 200
    page = r.text
    assert "r***@example.com" in page
    assert "reader@example.com" not in page
    assert 'name="choice" value="this"' in page
    assert 'name="choice" value="all"' in page
    assert 'name="categories" value="offers"' in page
    assert 'value="account"' not in page  # transactional is never offered
    assert "Account email continues" in page
    assert "<script" not in page
    assert 'name="viewport"' in page
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert live.counts() == (0, 0)
    assert not suppressed(live, "reader@example.com", "newsletter")


@pytest.mark.parametrize(
    ("accept", "lang", "phrase"),
    [
        ("es-ES,es;q=0.9,en;q=0.5", "es", "Cancelar la suscripción"),
        ("fr-CA, fr;q=0.8", "fr", "Se désabonner"),
        ("de", "de", "Abmelden"),
        ("ja, en;q=0.3", "en", "Unsubscribe"),
    ],
)
def test_the_page_speaks_the_mail_clients_language(
    live: Live, accept: str, lang: str, phrase: str
) -> None:
    token = live.token("lang@example.com", "newsletter")
    r = live.client.get(f"/u/{token}", headers={"Accept-Language": accept})
    assert f'<html lang="{lang}">' in r.text
    assert phrase in r.text


def test_the_all_promotional_choice_suppresses_every_promotional_category(live: Live) -> None:
    token = live.token("page@example.com", "newsletter")
    live.client.get(f"/u/{token}")
    assert not suppressed(live, "page@example.com", "newsletter")
    r = live.client.post(f"/u/{token}/confirm", data={"choice": "all"})
    assert r.status_code == 200
    assert "You are unsubscribed" in r.text
    assert suppressed(live, "page@example.com", "offers")
    assert suppressed(live, "page@example.com", "newsletter")
    assert not suppressed(live, "page@example.com", "account")
    [req] = live.app.service.requests(address="page@example.com")
    assert req.channel.value == "link"


def test_this_category_plus_a_ticked_one(live: Live) -> None:
    token = live.token("pick@example.com", "newsletter")
    r = live.client.post(f"/u/{token}/confirm", data={"choice": "this", "categories": ["offers"]})
    assert r.status_code == 200
    assert suppressed(live, "pick@example.com", "newsletter")
    assert suppressed(live, "pick@example.com", "offers")
    assert live.counts() == (2, 2)


def test_a_tampered_form_naming_a_transactional_category_writes_nothing(live: Live) -> None:
    token = live.token("tamper@example.com", "newsletter")
    r = live.client.post(f"/u/{token}/confirm", data={"choice": "this", "categories": ["account"]})
    assert r.status_code == 400
    assert live.counts() == (0, 0)


def _changed(token: str, i: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    c = token[i]
    return token[:i] + alphabet[(alphabet.index(c) + 1) % 64] + token[i + 1 :]


def test_changing_any_character_of_the_token_is_refused_and_writes_nothing(live: Live) -> None:
    token = live.token("victim@example.com", "newsletter")
    for i in range(len(token)):
        bad = _changed(token, i)
        for method, path in (("POST", f"/u/{bad}"), ("GET", f"/u/{bad}")):
            r = live.client.request(method, path, data=ONE_CLICK if method == "POST" else None)
            assert r.status_code in (400, 404), (i, method, r.status_code)
            assert "victim" not in r.text
    for bad in (token[:-1], token[:10], token + "A", "x", "A" * 5000):
        assert live.client.post(f"/u/{bad}", data=ONE_CLICK).status_code in (400, 404)
        assert live.client.post(f"/u/{bad}/confirm", data={"choice": "all"}).status_code in (
            400,
            404,
        )
    assert live.counts() == (0, 0)


def test_the_address_does_not_appear_in_the_token(live: Live) -> None:
    token = live.token("hidden.person@example.com", "newsletter")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for form in (token.encode(), raw):
        assert b"hidden" not in form.lower()
        assert b"example" not in form.lower()


def test_an_oversized_body_gets_413_and_writes_nothing(live: Live) -> None:
    token = live.token("big@example.com", "newsletter")
    body = b"List-Unsubscribe=One-Click&pad=" + b"x" * (2 * 1024 * 1024)
    r = live.client.post(
        f"/u/{token}",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    assert live.counts() == (0, 0)
