"""Test messages written for optout's own tests (not taken from any corpus)."""

from __future__ import annotations


def reply(
    body: str,
    *,
    sender: str = "Jane Reader <jane@example.org>",
    to: str = "news@example.com",
    subject: str = "Re: Our November newsletter",
    message_id: str = "<reply-1@example.org>",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Mon, 23 Nov 2026 09:00:00 -0500\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


UNSUBSCRIBE = reply("Please unsubscribe me from this list.\r\n\r\nThanks, Jane")

QUESTION_WITH_FOOTER = reply(
    "Hi, does the winter sale also apply to gift cards? I could not find it on the site.\r\n"
    "\r\nOn Mon, Nov 23, 2026 at 8:00 AM Example News <news@example.com> wrote:\r\n"
    "> Big winter sale this week!\r\n"
    "> You received this because you subscribed. To unsubscribe, click here.\r\n",
    message_id="<question-1@example.org>",
)

OUT_OF_OFFICE = reply(
    "I am out of the office until December 1 with limited access to email.",
    subject="Automatic reply: Our November newsletter",
    message_id="<ooo-1@example.org>",
    extra="Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
)

ERASURE = reply(
    "Hello,\r\n\r\nUnder Article 17 GDPR I ask you to delete all personal data you hold "
    "about me and to stop sending me marketing email.\r\n\r\nJane Reader",
    subject="Request for erasure of my personal data",
    message_id="<erase-1@example.org>",
)

DSN_HARD = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
    b"To: bounces@example.com\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Message-ID: <dsn-1@mx.example.com>\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\n"
    b"I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
    b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
    b"Final-Recipient: rfc822; gone.user@example.net\r\n"
    b"Action: failed\r\nStatus: 5.1.1\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
    b"--B--\r\n"
)

#: the same report for a full mailbox: RFC 3464's "failed", but not the address's fault
DSN_FULL = DSN_HARD.replace(b"<dsn-1@", b"<dsn-full@").replace(
    b"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown",
    b"Status: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full",
)
