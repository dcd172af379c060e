"""No message makes a bounce of a person who never bounced.

A hard bounce suppresses its failed recipients for every category, account mail
included, so taking an address named in an out-of-office, a signature, a newsletter or a
returned copy for a failed recipient cuts an uninvolved person off. Each message here
was read that way once.
"""

from __future__ import annotations

from worker.core.classify import MessageClass, classify


def mail(head: str, body: str) -> bytes:
    return (head.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


def assert_nobody_suppressed(raw: bytes) -> None:
    result = classify(raw)
    assert result.message_class is not MessageClass.BOUNCE, result.evidence
    assert not result.suppresses


def test_an_auto_reply_echoing_a_subject_with_failed_is_no_bounce() -> None:
    raw = mail(
        """
From: Rachel Green <rachel.green@bigcorp.example>
To: unsubscribe@news.example.com
Subject: Automatic reply: Why your last product launch failed
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8
""",
        "Thank you for your email. I am out of the office until Monday 10 June.\n"
        "For urgent matters please contact Jane Doe (jane.doe@bigcorp.example) or call "
        "+1 415 555 0100.\n",
    )
    assert_nobody_suppressed(raw)
    assert classify(raw).message_class is MessageClass.AUTO_REPLY


def test_a_reply_whose_subject_says_error_is_no_bounce() -> None:
    raw = mail(
        """
From: Peter Novak <peter.novak@lawfirm.example>
To: unsubscribe@news.example.com
Subject: Re: Error in your June newsletter
Content-Type: text/plain; charset=utf-8
""",
        "Hi, the meetup date in your newsletter says 31 June, which does not exist.\n"
        "For event listings please write to my assistant, maria.lopez@lawfirm.example, "
        "she handles our calendar.\n",
    )
    assert_nobody_suppressed(raw)


def test_a_forwarded_payment_failed_mail_is_no_bounce() -> None:
    raw = mail(
        """
From: Sam Carter <sam.carter@mail.example>
To: unsubscribe@news.example.com
Subject: FW: Your payment failed
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"
""",
        "--b1\nContent-Type: text/plain; charset=utf-8\n\n"
        "The attached email says my payment failed but my bank says it went through.\n"
        "The account may be under my wife's address, anna.carter@mail.example.\n"
        "Call me on 415 555 0199 after 5.\n"
        "--b1\nContent-Type: message/rfc822\n\n"
        "From: Billing <billing@news.example.com>\nTo: Sam Carter <sam.carter@mail.example>\n"
        "Subject: Your payment failed\nContent-Type: text/plain\n\n"
        "We could not charge your card for invoice #88231.\n--b1--\n",
    )
    assert_nobody_suppressed(raw)


def test_a_newsletter_headed_errors_is_no_bounce_of_its_editor() -> None:
    raw = mail(
        """
From: Marketing Weekly <newsletter@weekly.example>
To: unsubscribe@news.example.com
Subject: 5 common errors in email marketing
Precedence: bulk
List-Id: <weekly.example>
Content-Type: text/plain; charset=utf-8
""",
        "This week: five mistakes that kill your open rates.\n"
        "Not a member yet? Join 20,000 marketers.\n"
        "Editor: Sarah Lane, sarah.lane@weekly.example\n",
    )
    assert_nobody_suppressed(raw)


def test_a_sending_services_bounce_address_in_sender_is_no_mail_system() -> None:
    raw = mail(
        """
From: Greenleaf Events <hello@greenleaf.example>
Sender: Greenleaf Events <bounce-mc.us21_1234567.890123-abc123@mail150.esp.example>
To: unsubscribe@news.example.com
Subject: Last chance: early bird tickets end Friday
Precedence: bulk
Content-Type: text/plain; charset=utf-8
""",
        "Early bird tickets end Friday.\n"
        "The Leeds workshop has been postponed to July. Questions? Email "
        "tickets@greenleaf.example.\n",
    )
    assert_nobody_suppressed(raw)


def test_a_read_receipt_is_machine_mail_not_a_bounce_of_the_reader() -> None:
    raw = mail(
        """
From: Olga Ivanova <olga@firm.example>
To: unsubscribe@news.example.com
Subject: Read: Weekly digest
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"
""",
        "--mdn\nContent-Type: text/plain; charset=utf-8\n\n"
        "Your message\n\n  To: olga@firm.example\n  Subject: Weekly digest\n\n"
        "was read on Tuesday, June 4, 2024 9:14:55 AM.\n"
        "--mdn\nContent-Type: message/disposition-notification\n\n"
        "Reporting-UA: firm.example; Microsoft Outlook 16.0\n"
        "Final-Recipient: rfc822;olga@firm.example\n"
        "Original-Message-ID: <digest-2024-06-03@news.example.com>\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n--mdn--\n",
    )
    assert_nobody_suppressed(raw)
    result = classify(raw)
    assert result.message_class is MessageClass.AUTO_REPLY
    assert result.machine


def test_a_challenge_response_with_our_headers_attached_is_no_bounce() -> None:
    raw = mail(
        """
From: Kevin Doyle <kevin@doyle.example>
To: unsubscribe@news.example.com
Subject: Re: Weekly digest [Verification needed]
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="sa"
""",
        "--sa\nContent-Type: text/plain; charset=us-ascii\n\n"
        "To control spam, I now allow incoming messages only from senders I have approved.\n"
        "Your message was not delivered. Please click the link below to verify that you\n"
        "are a person: https://verify.example/a2/verify?id=abc123\n"
        "Kevin Doyle, +44 20 7946 0321, assistant: ruth@doyle.example\n"
        "--sa\nContent-Type: text/rfc822-headers\n\n"
        "From: News <news@news.example.com>\nTo: kevin@doyle.example\n"
        "Subject: Weekly digest\n--sa--\n",
    )
    assert_nobody_suppressed(raw)


def test_a_text_bounce_names_only_the_failed_address_not_those_in_its_copy() -> None:
    raw = mail(
        """
Return-Path: <>
From: MAILER-DAEMON@mx.isp-example.net
To: unsubscribe@acme-news.example
Subject: Returned mail: see transcript for details
Date: Tue, 04 Jun 2024 09:15:22 +0100
Message-ID: <b1@mx.isp-example.net>
Content-Type: text/plain; charset=us-ascii
""",
        "   ----- The following addresses had permanent fatal errors -----\n"
        "<wendy@isp-example.net>\n    (reason: 550 5.1.1 User unknown)\n\n"
        "   ----- Original message follows -----\n"
        "From: Acme News <news@acme-news.example>\nSubject: Acme weekly digest\n\n"
        "Tickets: call 415 555 0132 or email tickets@greenleaf-events.example.\n"
        "Acme News Ltd, Bristol | Tel 0117 496 0450 | press@acme-news.example\n",
    )
    result = classify(raw)
    assert result.message_class is MessageClass.BOUNCE
    assert result.addresses == ("wendy@isp-example.net",)
    assert result.bounce_kind == "hard"


def test_a_ci_servers_build_failed_mail_is_no_bounce_of_the_committers() -> None:
    """A generic cue word ("failed") makes a bounce subject only beside a word of mail
    delivery; a build number read as an SMTP code ("#482 ") did the rest."""
    raw = mail(
        """
From: Jenkins <jenkins@ci.news.example.com>
To: unsubscribe@news.example.com
Subject: Build failed: newsletter-renderer #482
Auto-Submitted: auto-generated
Content-Type: text/plain; charset=utf-8
""",
        "Build #482 of newsletter-renderer failed.\n\nChanges:\n"
        "  - Fix footer link (committed by dan.white@news.example.com)\n"
        "  - Update templates (committed by kim.lee@news.example.com)\n\n"
        "Error: 500 Internal Server Error while fetching template\n",
    )
    assert_nobody_suppressed(raw)


def test_a_person_pasting_a_delivery_report_is_no_bounce_of_its_recipient() -> None:
    # a person's own mail (no machine marker, no report part, a person's From, a subject
    # of their own) with a DSN's fields pasted in: it was read as a hard bounce of Bob,
    # who never bounced here
    head = """
From: Ana Reader <ana@example.org>
To: support@shop.example.com
Subject: Why did this happen?
Message-ID: <paste-1@example.org>
Content-Type: text/plain; charset=utf-8
"""
    body = """Hi, I tried to forward your offer to my friend and got this back:

Reporting-MTA: dns; mx.example.org
Final-Recipient: rfc822; bob@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

Can you check whether his address is right in your system?
Ana
"""
    assert_nobody_suppressed(mail(head, body))
