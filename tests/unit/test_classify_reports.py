"""Machine reports: bounces (RFC 3464 and free text), complaints (RFC 5965), DMARC."""

from __future__ import annotations

import pytest

from worker.core.classify import MessageClass, classify


def dsn(action: str, status: str, recipient: str = "gone.user@example.net") -> bytes:
    return f"""Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.shop.example.com>
To: news@shop.example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.shop.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BB"

--BB
Content-Type: text/plain

This is the mail system. Your message could not be delivered.

--BB
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.shop.example.com

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected

--BB
Content-Type: text/rfc822-headers

From: Shop News <news@shop.example.com>
To: {recipient}
Subject: Spring sale
List-Unsubscribe: <mailto:unsubscribe@shop.example.com>

--BB--
""".encode()


def test_dsn_failed_with_5_1_1_is_a_hard_bounce_of_the_failed_recipient() -> None:
    result = classify(dsn("failed", "5.1.1"))
    assert result.message_class is MessageClass.BOUNCE
    assert result.bounce_kind == "hard"
    assert result.addresses == ("gone.user@example.net",)
    assert result.suppresses


def test_dsn_with_4xx_status_is_a_soft_bounce_that_suppresses_nothing() -> None:
    result = classify(dsn("failed", "4.2.2"))
    assert result.message_class is MessageClass.BOUNCE
    assert result.bounce_kind == "soft"
    assert not result.suppresses


def test_delayed_dsn_is_a_soft_bounce() -> None:
    assert classify(dsn("delayed", "4.4.7")).bounce_kind == "soft"


def test_success_dsn_is_not_a_bounce() -> None:
    result = classify(dsn("delivered", "2.0.0"))
    assert result.message_class is not MessageClass.BOUNCE
    assert result.message_class is not MessageClass.UNSUBSCRIBE
    assert result.bounce_kind is None


def test_a_bounce_never_opts_out_its_sender() -> None:
    result = classify(dsn("failed", "5.1.1"))
    assert "mailer-daemon@mx.shop.example.com" not in result.addresses


def test_free_text_qmail_style_bounce_names_the_failed_address() -> None:
    raw = b"""Return-Path: <>
From: MAILER-DAEMON@mail.example.org
To: news@shop.example.com
Subject: failure notice

Hi. This is the qmail-send program at mail.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<nobody.here@example.org>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.
From: news@shop.example.com
To: nobody.here@example.org
Subject: Spring sale
"""
    result = classify(raw)
    assert result.message_class is MessageClass.BOUNCE
    assert result.bounce_kind == "hard"
    assert result.addresses == ("nobody.here@example.org",)


@pytest.mark.parametrize(
    ("sender", "body"),
    [
        ("postmaster@example.net", "Please note our helpdesk, help@example.net, answers it all."),
        ("MAILER-DAEMON@example.net", "Mail for sales, sales@example.net, moves to a new host."),
    ],
)
def test_a_mail_system_notice_naming_an_address_is_not_a_bounce_of_it(
    sender: str, body: str
) -> None:
    """flufl.bounce's LLNL detector takes any "Name, address," body line for a failed
    recipient; a mail system's notice with no bounce subject and no failure in its words
    is not asked, so the address it names is never suppressed."""
    raw = (
        f"From: {sender}\nTo: news@shop.example.com\nSubject: Our new address\n"
        f"Content-Type: text/plain\n\n{body}\n"
    ).encode()
    result = classify(raw)
    assert result.message_class is not MessageClass.BOUNCE
    assert not result.suppresses
    assert result.addresses == ()


def test_an_llnl_style_notice_with_a_failed_mail_subject_is_still_a_bounce() -> None:
    raw = b"""From: postmaster@lab.example.gov (Automated response from postmaster)
To: news@shop.example.com
Subject: FAILED MAIL to "jdoe" regarding "Spring sale"
Content-Type: text/plain

The address to which your message was addressed, jdoe@lab.example.gov, did not
exactly match an email address here.
"""
    result = classify(raw)
    assert result.message_class is MessageClass.BOUNCE
    assert result.addresses == ("jdoe@lab.example.gov",)


def test_x_failed_recipients_header_names_the_failed_address() -> None:
    raw = b"""Return-Path: <>
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: news@shop.example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: lost@example.net
Auto-Submitted: auto-replied

A message that you sent could not be delivered to one or more of its recipients.
"""
    result = classify(raw)
    assert result.message_class is MessageClass.BOUNCE
    assert result.addresses == ("lost@example.net",)


def arf(feedback_type: str, rcpt: str = "", to: str = "reader@example.org") -> bytes:
    rcpt_line = f"Original-Rcpt-To: {rcpt}\n" if rcpt else ""
    return f"""From: <feedback@isp.example>
To: <fbl@shop.example.com>
Subject: FW: Spring sale
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="AA"

--AA
Content-Type: text/plain

This is an email abuse report.

--AA
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: ExampleFBL/1.0
Version: 1
{rcpt_line}
--AA
Content-Type: message/rfc822

From: Shop News <news@shop.example.com>
To: {to}
Subject: Spring sale
List-Unsubscribe: <mailto:unsubscribe+TOKEN123abc@shop.example.com>, <https://shop.example.com/u/TOKEN123abc>

Buy now!
--AA--
""".encode()


def test_arf_abuse_complaint_suppresses_the_original_recipient() -> None:
    result = classify(arf("abuse", rcpt="reader@example.org"))
    assert result.message_class is MessageClass.COMPLAINT
    assert result.feedback_type == "abuse"
    assert result.addresses == ("reader@example.org",)
    assert result.suppresses


def test_arf_with_an_8bit_byte_in_a_report_field_still_suppresses() -> None:
    # one raw 8-bit byte in "Arrival-Date" makes that value an email.header.Header; the
    # compiled classifier took it for the str the stubs promise, dropped every field of
    # the report, and filed an abuse complaint as Feedback-Type "other" (suppressing
    # nobody), where the source read it right
    raw = arf("abuse", rcpt="reader@example.org").replace(
        b"User-Agent: ExampleFBL/1.0\n",
        b"User-Agent: ExampleFBL/1.0\nArrival-Date: Thu, 29 Apr 2015 23:3\xdb:45 +0000\n",
    )
    result = classify(raw)
    assert result.message_class is MessageClass.COMPLAINT
    assert result.feedback_type == "abuse"
    assert result.addresses == ("reader@example.org",)
    assert result.suppresses


def test_arf_with_redacted_recipient_falls_back_to_our_token() -> None:
    result = classify(arf("abuse", rcpt="xxxxxxxx@example.org", to="redacted@example.org"))
    assert result.message_class is MessageClass.COMPLAINT
    assert result.addresses == ()
    assert "TOKEN123abc" in result.tokens
    assert any("List-Unsubscribe" in e for e in result.evidence)


def test_arf_with_redacted_rcpt_to_uses_the_attached_original_to() -> None:
    result = classify(arf("abuse", rcpt="xxxxxxxx@example.org"))
    assert result.addresses == ("reader@example.org",)


def test_arf_complaint_never_names_the_report_sender() -> None:
    result = classify(arf("abuse", rcpt="reader@example.org"))
    assert "feedback@isp.example" not in result.addresses


def test_not_spam_feedback_is_a_complaint_that_suppresses_nothing() -> None:
    result = classify(arf("not-spam", rcpt="reader@example.org"))
    assert result.message_class is MessageClass.COMPLAINT
    assert not result.suppresses


def test_auth_failure_report_is_machine_mail_classified_other() -> None:
    result = classify(arf("auth-failure", rcpt="reader@example.org"))
    assert result.message_class is MessageClass.OTHER
    assert result.machine
    assert not result.suppresses


def test_dmarc_aggregate_report_is_other_machine_mail() -> None:
    raw = b"""Return-Path: <>
From: noreply-dmarc-support@example.com
To: dmarc@shop.example.com
Subject: Report domain: shop.example.com Submitter: example.com Report-ID: 123
Auto-Submitted: auto-generated
Content-Type: application/gzip

H4sIAAAAAAAAAw==
"""
    result = classify(raw)
    assert result.message_class is MessageClass.OTHER
    assert result.machine


def _arf_with_original(original: str, *, encode: bool = False) -> bytes:
    """An abuse report without Original-Rcpt-To, its original attached as given."""
    import base64

    body = original.replace("\n", "\r\n").encode()
    cte = ""
    if encode:  # RFC 2046 forbids it for message/rfc822; some feedback loops do it
        body = base64.encodebytes(body)
        cte = "Content-Transfer-Encoding: base64\r\n"
    head = (
        "From: <staff@hotmail.example>\r\nTo: <fbl@shop.example.com>\r\n"
        "Subject: complaint about message from 192.0.2.7\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="BB"\r\n\r\n'
        "--BB\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n"
        "--BB\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nUser-Agent: Hotmail FBL\r\nVersion: 1\r\n\r\n"
        f"--BB\r\nContent-Type: message/rfc822\r\n{cte}\r\n"
    )
    return head.encode() + body + b"\r\n--BB--\r\n"


_ORIGINAL = """X-HmXmrOriginalRecipient: <reader@outlook.example>
From: Shop News <news@shop.example.com>
To: {to}
Subject: Spring sale
List-Unsubscribe: <mailto:unsubscribe+TOKEN123abc@shop.example.com>

Buy now!
"""


def test_arf_complainant_from_the_microsoft_header_of_the_original() -> None:
    # Microsoft's feedback loop redacts the To but keeps its own recipient header; the
    # report was a review item for want of an address
    result = classify(_arf_with_original(_ORIGINAL.format(to="redacted@example.org")))
    assert result.message_class is MessageClass.COMPLAINT
    assert result.addresses == ("reader@outlook.example",)
    assert any("X-HmXmrOriginalRecipient" in e for e in result.evidence)
    # it names the mailbox that complained, where the To is a list or an alias
    listed = classify(_arf_with_original(_ORIGINAL.format(to="all-staff@shop.example.com")))
    assert listed.addresses == ("reader@outlook.example",)


def test_arf_with_a_base64_encoded_original_is_read() -> None:
    original = _ORIGINAL.replace("X-HmXmrOriginalRecipient: <reader@outlook.example>\n", "")
    result = classify(_arf_with_original(original.format(to="reader@example.org"), encode=True))
    assert result.message_class is MessageClass.COMPLAINT
    assert result.addresses == ("reader@example.org",)
    assert "TOKEN123abc" in result.tokens
    redacted = classify(_arf_with_original(original.format(to="xxxx@example.org"), encode=True))
    assert redacted.addresses == ()
    assert "TOKEN123abc" in redacted.tokens


OUR_SENDER_NDR = b"""Return-Path: <>
From: postmaster@mx.example.net
To: bounces@shop.example.com
Subject: Undeliverable: Spring sale
Auto-Submitted: auto-replied
Message-ID: <ndr-ours@mx.example.net>

Delivery has failed to these recipients or groups:

news@shop.example.com
The e-mail address you entered couldn't be found.
"""


def test_a_report_naming_only_our_own_address_bounces_nobody() -> None:
    # a relay that names our sender where the recipient should be: without our own
    # addresses we would suppress ourselves, and that for every category
    assert classify(OUR_SENDER_NDR).addresses == ("news@shop.example.com",)
    result = classify(OUR_SENDER_NDR, ours=frozenset({"news@shop.example.com"}))
    assert result.message_class is MessageClass.BOUNCE
    assert result.addresses == ()
    assert not result.suppresses


def test_a_dsn_naming_our_own_address_says_so_and_bounces_nobody() -> None:
    result = classify(dsn("failed", "5.1.1", "news@shop.example.com"),
                      ours=frozenset({"news@shop.example.com"}))  # fmt: skip
    assert (result.message_class, result.addresses) == (MessageClass.BOUNCE, ())
    assert not result.suppresses
    assert "our own address named as failed, not bounced: news@shop.example.com" in (
        result.evidence
    )


VERP_BOUNCE = b"""Return-Path: <>
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>
To: bounces+lena=example.net@shop.example.com
Delivered-To: bounces+lena=example.net@shop.example.com
Subject: Delivery Status Notification (Failure)
Auto-Submitted: auto-replied
Message-ID: <verp-1@mx.example.net>

Your message could not be delivered: 550 5.1.1 the mailbox does not exist.
"""


def test_a_verp_return_address_names_the_failed_recipient() -> None:
    result = classify(VERP_BOUNCE)
    assert result.message_class is MessageClass.BOUNCE
    assert result.addresses == ("lena@example.net",)
    assert result.bounce_kind == "hard"
    assert "failed recipient from the VERP return address" in result.evidence


def test_a_verp_address_of_ours_is_not_taken() -> None:
    ours = frozenset({"lena@example.net"})
    assert classify(VERP_BOUNCE, ours=ours).addresses == ()


def test_an_out_of_office_sent_to_a_verp_address_bounces_nobody() -> None:
    # autoresponders answer the return path: a VERP address is no report by itself
    away = (
        b"From: Lena <lena@example.net>\nTo: bounces+lena=example.net@shop.example.com\n"
        b"Subject: Out of office\nAuto-Submitted: auto-replied\nMessage-ID: <ooo-v@x>\n\n"
        b"I am away until Monday and cannot deliver the report you asked for.\n"
    )
    result = classify(away)
    assert result.message_class is not MessageClass.BOUNCE
    assert not result.suppresses
