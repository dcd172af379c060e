"""Who is opting out: a request is applied only when its sender and subject are clear.

A forged or forwarded request, applied as it stands, unsubscribes someone who never
asked (or misses the one who did); each of these goes to review instead (the inbox
issue: a token naming another address than the From, a request about a different
address, a From failing the receiving server's Authentication-Results).
"""

from __future__ import annotations

from worker.core.classify import MessageClass, classify
from worker.core.plan import Disposition, plan


def mail(head: str, body: str) -> bytes:
    return (head.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


def held(raw: bytes) -> bool:
    decided = plan(classify(raw))
    return decided.disposition is Disposition.REVIEW and all(a.review for a in decided.actions)


def test_a_from_with_an_address_as_its_display_name_is_held() -> None:
    """The header parser keeps the display name's address and drops the real one."""
    raw = mail(
        """
Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=evil.example;
 dkim=pass header.d=evil.example; dmarc=pass header.from=evil.example
Return-Path: <attacker@evil.example>
From: jane.doe@gmail.com <attacker@evil.example>
To: unsubscribe@example.com
Subject: unsubscribe
""",
        "unsubscribe\n",
    )
    assert held(raw)
    assert any("holds 2 addresses" in e for e in classify(raw).evidence)


def test_a_result_inside_an_address_is_no_authentication_result() -> None:
    raw = mail(
        """
Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=dmarc=pass@evil.example;
 dmarc=fail (p=reject) header.from=gmail.com
From: Jane Doe <jane.doe@gmail.com>
To: unsubscribe@example.com
Subject: unsubscribe
""",
        "Please unsubscribe me.\n",
    )
    result = classify(raw)
    assert result.authentication_failed
    assert held(raw)


def test_a_complaint_that_fails_its_own_domains_checks_is_held() -> None:
    raw = mail(
        """
Authentication-Results: mx.example.com; spf=fail smtp.mailfrom=arf.mail.yahoo.com;
 dkim=none; dmarc=fail (p=reject) header.from=arf.mail.yahoo.com
From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>
To: unsubscribe@example.com
Subject: FW: Weekly news
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"
""",
        "--arf\nContent-Type: text/plain\n\nThis is an email abuse report.\n"
        "--arf\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
        "User-Agent: Yahoo!-Mail-Feedback/2.0\nVersion: 1\n"
        "Original-Rcpt-To: ceo@bigcustomer.example\n"
        "--arf\nContent-Type: text/rfc822-headers\n\n"
        "From: News <news@example.com>\nTo: ceo@bigcustomer.example\n"
        "Subject: Weekly news\n--arf--\n",
    )
    result = classify(raw)
    assert result.message_class is MessageClass.COMPLAINT
    assert result.addresses == ("ceo@bigcustomer.example",)
    assert held(raw)


def test_forwarding_someone_elses_newsletter_is_held() -> None:
    raw = mail(
        """
From: Bob Smith <bob.smith@outlook.example>
To: unsubscribe@example.com
Subject: Fwd: Weekly news
""",
        "Please unsubscribe my wife, she keeps getting these.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Example News <news@example.com>\n"
        "Date: Mon, 3 Jun 2024 at 08:00\n"
        "Subject: Weekly news\n"
        "To: <jane.doe@gmail.example>\n\n"
        "This week at Example...\n",
    )
    assert held(raw)
    assert "jane.doe@gmail.example" in classify(raw).other_addresses_in_body


def test_forwarding_someone_elses_request_as_an_attachment_is_held() -> None:
    raw = mail(
        """
From: Bob Smith <bob.smith@outlook.example>
To: unsubscribe@example.com
Subject: FW: unsubscribe
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fw"
""",
        "--fw\nContent-Type: text/plain\n\nStill getting these!! Unsubscribe.\n"
        "--fw\nContent-Type: message/rfc822\n\n"
        "From: Jane Doe <jane.doe@gmail.example>\nTo: unsubscribe@example.com\n"
        "Subject: unsubscribe\n\nunsubscribe\n--fw--\n",
    )
    assert held(raw)


def test_forwarding_ones_own_newsletter_is_applied() -> None:
    """The newsletter went to the sender and came from our own domain: nobody else."""
    raw = mail(
        """
From: Bob Smith <bob.smith@outlook.example>
To: unsubscribe@example.com
Subject: Fwd: Weekly news
""",
        "Please unsubscribe me.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Example News <news@example.com>\n"
        "Subject: Weekly news\n"
        "To: <bob.smith@outlook.example>\n\n"
        "This week at Example...\n",
    )
    result = classify(raw)
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert plan(result).disposition is Disposition.PROCESSED
