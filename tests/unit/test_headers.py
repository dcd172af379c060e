"""List-Unsubscribe headers as RFC 2369 and RFC 8058 write them."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from worker.errors import ConfigError
from worker.mail.headers import (
    MAIL_POLICY,
    MAX_LOCAL_PART_OCTETS,
    is_loopback_host,
    mailto_local_part,
    unsubscribe_headers,
)

URL_TOKEN = "EmsxOXo96wusgiWpK9gLp9_qELzZ0elSyUnQF3-NJ6-ixyCRux0dlHov-QKlW6v8Ed-8I6pJ"
MAILTO_TOKEN = (
    "cjvtcol2hxvqxlecewusxwalu7p6uef43hi6suwjjhibo74ne6x2frzasg5r2hmupix7savflov7yeo7xqr2usi"
)


def test_https_link_first_then_mailto_and_the_one_click_post() -> None:
    headers = unsubscribe_headers(
        public_url="https://mail.example.com",
        mailto_domain="example.com",
        url_token=URL_TOKEN,
        mailto_token=MAILTO_TOKEN,
    )
    assert headers == {
        "List-Unsubscribe": (
            f"<https://mail.example.com/u/{URL_TOKEN}>, "
            f"<mailto:unsubscribe+{MAILTO_TOKEN}@example.com>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_without_a_mailto_domain_only_the_link_is_offered() -> None:
    headers = unsubscribe_headers(
        public_url="https://example.com/optout/",
        mailto_domain=None,
        url_token=URL_TOKEN,
        mailto_token=None,
    )
    assert headers["List-Unsubscribe"] == f"<https://example.com/optout/u/{URL_TOKEN}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_mailbox_local_part_is_configurable() -> None:
    headers = unsubscribe_headers(
        public_url="https://example.com",
        mailto_domain="lists.example.com",
        mailto_local="leave",
        url_token=URL_TOKEN,
        mailto_token=MAILTO_TOKEN,
    )
    assert headers["List-Unsubscribe"].endswith(f"<mailto:leave+{MAILTO_TOKEN}@lists.example.com>")


def test_values_are_single_ascii_lines_that_reach_the_wire_unmangled() -> None:
    headers = unsubscribe_headers(
        public_url="https://mail.example.com",
        mailto_domain="example.com",
        url_token=URL_TOKEN,
        mailto_token=MAILTO_TOKEN,
    )
    message = EmailMessage(policy=MAIL_POLICY)
    for name, value in headers.items():
        assert value.isascii()
        assert "\r" not in value
        assert "\n" not in value
        message[name] = value
    wire = message.as_bytes()
    unfolded = wire.replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    assert f"List-Unsubscribe: {headers['List-Unsubscribe']}".encode() in unfolded
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in wire
    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
    parsed = message_from_bytes(wire, policy=default)
    assert parsed["List-Unsubscribe"] == headers["List-Unsubscribe"]


@pytest.mark.parametrize(
    "public_url", ["http://127.0.0.1:8025", "http://localhost:8025", "http://[::1]:8025/"]
)
def test_plain_http_is_allowed_for_a_loopback_host(public_url: str) -> None:
    headers = unsubscribe_headers(
        public_url=public_url, mailto_domain=None, url_token=URL_TOKEN, mailto_token=None
    )
    assert headers["List-Unsubscribe"] == f"<{public_url.rstrip('/')}/u/{URL_TOKEN}>"


@pytest.mark.parametrize(
    ("public_url", "problem"),
    [
        ("http://mail.example.com", "must use https"),
        ("http://10.0.0.5:8025", "must use https"),
        ("ftp://example.com", "must start with https://"),
        ("example.com", "plain base URL"),
        ("https://example.com/?x=1", "plain base URL"),
        ("https://example.com/#top", "plain base URL"),
        ("https://user:pw@example.com", "plain base URL"),
        ("https://bücher.example", "ASCII"),
        ("https://example.com/a b", "character"),
    ],
)
def test_a_public_url_no_client_would_use_is_refused(public_url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        unsubscribe_headers(
            public_url=public_url, mailto_domain=None, url_token=URL_TOKEN, mailto_token=None
        )


@pytest.mark.parametrize(
    ("domain", "local", "problem"),
    [
        ("bücher.example", "unsubscribe", "punycode"),
        ("exa mple.com", "unsubscribe", "domain"),
        ("example.com", "un+sub", "'\\+' separates"),
        ("example.com", ".unsub", "local part"),
        ("example.com", "un?sub", "local part"),
    ],
)
def test_a_bad_mailto_setting_is_refused(domain: str, local: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        unsubscribe_headers(
            public_url="https://example.com",
            mailto_domain=domain,
            mailto_local=local,
            url_token=URL_TOKEN,
            mailto_token=MAILTO_TOKEN,
        )


@pytest.mark.parametrize(
    ("url_token", "mailto_domain", "mailto_token"),
    [
        ("a/b", None, None),
        ("a b", None, None),
        (URL_TOKEN, "example.com", None),
        (URL_TOKEN, None, MAILTO_TOKEN),
        (URL_TOKEN, "example.com", "not-base32!"),
    ],
)
def test_malformed_tokens_are_a_caller_bug(
    url_token: str, mailto_domain: str | None, mailto_token: str | None
) -> None:
    with pytest.raises(ValueError, match="token"):
        unsubscribe_headers(
            public_url="https://example.com",
            mailto_domain=mailto_domain,
            url_token=url_token,
            mailto_token=mailto_token,
        )


def test_the_loopback_check_knows_the_loopback_names() -> None:
    assert is_loopback_host("127.0.0.2")
    assert is_loopback_host("::1")
    assert is_loopback_host("dev.localhost")
    assert not is_loopback_host("0.0.0.0")
    assert not is_loopback_host("example.com")


def test_a_typical_mailto_local_part_is_over_the_rfc_5321_minimum() -> None:
    # documented limit: the mailto form is a fallback; the HTTPS link must always work
    assert len(mailto_local_part(MAILTO_TOKEN).encode()) > MAX_LOCAL_PART_OCTETS
