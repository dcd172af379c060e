"""Why delivery failed: only a failure of the address itself is a hard bounce.

RFC 3464 calls every 5.x.x "failed", but a full mailbox, a blocklisted sending IP, a DMARC
rejection of our own mail or a message too large say nothing about whether the address
exists. A hard bounce suppresses the address for every category, transactional mail
included, so these are soft bounces with their cause: recorded, suppressing nothing.
The messages here were written for these tests.
"""

from __future__ import annotations

import pytest

from worker.core.bounces import ADDRESS_CAUSES, CAUSE_TEXT, failure_cause
from worker.core.classify import MessageClass, classify
from worker.core.plan import Disposition, plan


def dsn(
    *records: tuple[str, str, str], notice: str = "Your message could not be delivered."
) -> bytes:
    """A Postfix-style report; ``records``: (recipient, status, diagnostic) each."""
    blocks = "\n".join(
        f"Final-Recipient: rfc822; {rcpt}\nAction: failed\nStatus: {status}\n"
        + (f"Diagnostic-Code: smtp; {diag}\n" if diag else "")
        for rcpt, status, diag in records
    )
    return f"""Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.shop.example.com>
To: news@shop.example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <cause-dsn@mx.shop.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BB"

--BB
Content-Type: text/plain

This is the mail system at host mx.shop.example.com.

{notice}

--BB
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.shop.example.com

{blocks}
--BB
Content-Type: text/rfc822-headers

Received: from relay.shop.example.com by mx.shop.example.com
From: Shop News <news@shop.example.com>
Subject: Spring sale

--BB--
""".encode()


def exim(line: str) -> bytes:
    """An Exim text bounce (no DSN part) whose failure line is ``line``."""
    return f"""Return-Path: <>
From: Mail Delivery System <Mailer-Daemon@mx.shop.example.com>
To: news@shop.example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: lena@example.net
Auto-Submitted: auto-replied
Message-ID: <cause-exim@mx.shop.example.com>

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  lena@example.net
    host mx.example.net [192.0.2.7]
    SMTP error from remote mail server after RCPT TO:<lena@example.net>:
    {line}

------ This is a copy of the message, including all the headers. ------

Return-path: <news@shop.example.com>
Received: from relay.shop.example.com by mx.shop.example.com
From: Shop News <news@shop.example.com>
To: lena@example.net
Subject: Spring sale
""".encode()


@pytest.mark.parametrize(
    ("status", "diagnostic", "cause"),
    [
        ("5.2.2", "552 5.2.2 <tom@example.net>: Mailbox full", "mailbox_full"),
        ("5.2.2", "", "mailbox_full"),
        (
            "5.7.1",
            "554 5.7.1 Service unavailable; Client host [198.51.100.4] blocked using "
            "zen.spamhaus.org",
            "blocked",
        ),
        (
            "5.7.26",
            "550 5.7.26 Unauthenticated email is not accepted due to the sending "
            "domain's DMARC policy",
            "blocked",
        ),
        ("5.3.4", "552 5.3.4 Message size exceeds fixed limit", "message"),
        ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled", "disabled"),
        ("5.4.7", "", "expired"),
        # the words win over the status field: MTAs send 5.1.1 with a policy text
        ("5.1.1", "550 5.7.1 IP address blacklisted by recipient", "blocked"),
        # our own sender address, not the recipient's
        (
            "5.1.8",
            "553 5.1.8 <news@shop.example.com>... Domain of sender address "
            "shop.example.com does not exist",
            "blocked",
        ),
        # RFC 5321's stock "mailbox unavailable" gives way to what follows it
        ("5.2.1", "550 5.2.1 Mailbox unavailable: account is locked", "disabled"),
        ("5.0.0", "550 Message was not accepted -- invalid mailbox.  Local mailbox "
                  "tom@example.net is unavailable: account is disabled", "disabled"),
        ("5.0.0", "550 Mail content denied. http://help.example.com/?no=1000726", "blocked"),
        ("5.0.0", "554-mx.example.net ESMTP Service not available 554-Bad DNS PTR resource "
                  "record.", "blocked"),
        ("5.0.0", "permission denied. Command output: Mail quota exceeded.", "mailbox_full"),
    ],
)  # fmt: skip
def test_a_failure_that_is_not_the_address_is_a_soft_bounce(
    status: str, diagnostic: str, cause: str
) -> None:
    result = classify(dsn(("tom@example.net", status, diagnostic)))
    assert result.message_class is MessageClass.BOUNCE
    assert result.bounce_kind == "soft"
    assert result.bounce_cause == cause
    assert result.addresses == ("tom@example.net",)  # recorded, with its cause
    assert not result.suppresses
    assert f"not of the address: {CAUSE_TEXT[cause]}" in " ".join(result.evidence)
    assert plan(result).actions == ()
    assert plan(result).disposition is Disposition.PROCESSED


@pytest.mark.parametrize(
    ("status", "diagnostic", "cause"),
    [
        (
            "5.1.1",
            "550 5.1.1 <tom@example.net>: Recipient address rejected: User unknown in "
            "virtual mailbox table",
            "no_such_user",
        ),
        ("5.0.0", "550 No such user here", "no_such_user"),
        ("5.1.2", "", "no_such_domain"),
        ("5.1.10", "556 5.1.10 Recipient address has null MX", "no_such_domain"),
        # Office 365 says an unknown recipient this way
        ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied", "no_such_user"),
        # an address cue wins over others in the same text
        ("5.7.1", "550 5.7.1 User unknown; rejected by policy", "no_such_user"),
        # nothing explains a 5.x.x: hard, as RFC 3464 has it
        ("5.0.0", "", "permanent"),
        # folded over lines, padded with spaces
        ("5.5.0", "550 5.5.0 Requested action not taken: mailbox\n    unavailable. "
                  "[BL02EPF0001A0FB.prod.outlook.com]", "no_such_user"),
        ("5.0.0", "The account or domain may not exist, they may be blacklisted, or "
                  "missing the proper dns entries.", "no_such_user"),
        ("5.4.310", "550 5.4.310 DNS domain example.net does not exist", "no_such_domain"),
    ],
)  # fmt: skip
def test_a_failure_of_the_address_is_a_hard_bounce(
    status: str, diagnostic: str, cause: str
) -> None:
    result = classify(dsn(("tom@example.net", status, diagnostic)))
    assert result.bounce_kind == "hard"
    assert result.bounce_cause == cause
    assert result.suppresses
    (action,) = plan(result).actions
    assert action.address == "tom@example.net"
    assert action.evidence["bounce_cause"] == cause


def test_one_report_suppresses_the_unknown_user_and_not_the_full_mailbox() -> None:
    result = classify(
        dsn(
            ("full@example.net", "5.2.2", "552 5.2.2 Quota exceeded"),
            ("gone@example.net", "5.1.1", "550 5.1.1 User unknown"),
        )
    )
    assert result.bounce_kind == "hard"
    assert result.bounce_cause == "no_such_user"
    assert result.addresses == ("gone@example.net",)
    assert "full@example.net" in " ".join(result.evidence)


def test_a_generic_status_without_a_diagnostic_reads_the_notice() -> None:
    result = classify(
        dsn(("tom@example.net", "5.0.0", ""), notice="The recipient's mailbox is full.")
    )
    assert (result.bounce_kind, result.bounce_cause) == ("soft", "mailbox_full")


def test_the_returned_copy_is_not_read_for_the_cause() -> None:
    # "Received: from relay…" in the returned headers is no relaying refusal
    result = classify(exim("550 5.1.1 <lena@example.net>: Recipient address rejected"))
    assert (result.bounce_kind, result.bounce_cause) == ("hard", "no_such_user")


@pytest.mark.parametrize(
    ("line", "kind", "cause"),
    [
        ("550 5.1.1 <lena@example.net>... User unknown", "hard", "no_such_user"),
        ("550 5.7.1 Email rejected per DMARC policy for shop.example.com", "soft", "blocked"),
        ("552 5.2.2 <lena@example.net>... Mailbox is full", "soft", "mailbox_full"),
        (
            "550-5.7.1 [203.0.113.9] Our system has detected that this message is likely "
            "unsolicited mail (spam)",
            "soft",
            "blocked",
        ),
    ],
)
def test_text_bounces_are_read_for_their_cause(line: str, kind: str, cause: str) -> None:
    result = classify(exim(line))
    assert result.message_class is MessageClass.BOUNCE
    assert (result.bounce_kind, result.bounce_cause) == (kind, cause)
    assert result.addresses == ("lena@example.net",)
    assert result.suppresses is (kind == "hard")


def test_failure_cause_prefers_words_then_the_text_status_then_the_given_one() -> None:
    assert failure_cause("", "5.2.2") == "mailbox_full"
    assert failure_cause("550 5.7.1 denied", "5.1.1") == "blocked"  # the text's own code
    assert failure_cause("over quota", "5.1.1") == "mailbox_full"
    assert failure_cause("", "5.1.4") == "no_such_user"  # any other 5.1.x: the address
    assert failure_cause("", "5.9.9") == "permanent"
    assert failure_cause("", "") == "permanent"
    assert set(ADDRESS_CAUSES) <= set(CAUSE_TEXT)


def notice(sender: str, subject: str, body: str) -> bytes:
    """A bounce notice in words only (no DSN part, no status code), as Yandex, Mail.ru,
    Japanese carriers and Chinese providers send them."""
    return (
        f"Return-Path: <>\nFrom: {sender}\nTo: bounces@shop.example.com\nSubject: {subject}\n"
        "Auto-Submitted: auto-replied\nMessage-ID: <words-only@mx.example.net>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        f"{body}\n\nReceived: from mta1.shop.example.com by mx.example.net\n"
        "From: Shop News <news@shop.example.com>\nSubject: Spring sale\n"
    ).encode()


@pytest.mark.parametrize(
    ("sender", "subject", "body", "kind", "cause", "failed"),
    [
        ("mailer-daemon@yandex.ru", "Недоставленное сообщение",
         "К сожалению, ваше письмо не может быть доставлено одному или нескольким "
         "получателям:\n\nivan.p@yandex.ru\n    Почтовый ящик с таким адресом не существует.",
         "hard", "no_such_user", "ivan.p@yandex.ru"),
        ("MAILER-DAEMON@mx.example.ne.jp", "メール配信エラーのお知らせ",
         "以下の宛先へのメール配信に失敗しました。\n\n宛先：hana.k@docomo.ne.jp\n\n"
         "受信者の受信拒否設定により、メールの受け取りが拒否されました。",
         "soft", "blocked", "hana.k@docomo.ne.jp"),
        ("MAILER-DAEMON@mx.qq.example", "退信",
         "很抱歉，您的邮件无法投递到以下地址：\n\nwang.li@qq.com\n收件人邮箱已满。",
         "soft", "mailbox_full", "wang.li@qq.com"),
    ],
)  # fmt: skip
def test_notices_in_words_only_are_read_in_russian_japanese_and_chinese(
    sender: str, subject: str, body: str, kind: str, cause: str, failed: str
) -> None:
    result = classify(notice(sender, subject, body))
    assert result.message_class is MessageClass.BOUNCE
    assert (result.bounce_kind, result.bounce_cause) == (kind, cause)
    assert result.addresses == (failed,)
