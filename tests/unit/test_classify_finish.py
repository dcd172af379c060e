"""_finish spells out every Classification field; a field added later must not be lost."""

from __future__ import annotations

import dataclasses

from worker.core.classify import Classification, MessageClass, _Context, _finish
from worker.core.message import parse_bytes


def test_finish_keeps_every_field_it_does_not_set() -> None:
    result = Classification(
        MessageClass.BOUNCE,
        0.42,
        ("rule evidence",),
        sender="ignored@example.org",
        addresses=("a@example.org",),
        bounce_kind="hard",
        feedback_type="abuse",
        suppresses=True,
        privacy_kinds=("erasure",),
        privacy_optout=True,
        tokens=("tok-rule",),
        authentication_failed=False,
        message_id="<ignored@example.org>",
        other_addresses_in_body=("b@example.org",),
        machine=True,
        on_behalf="my wife",
        bounce_cause="no_such_user",
    )
    msg = parse_bytes(b"Subject: x\r\n\r\nbody\r\n")
    ctx = _Context(
        msg,
        b"",
        lambda: None,
        "sender@example.org",
        "x",
        ("Authentication-Results: dmarc=fail",),
        ("tok-ctx", "tok-rule"),
        True,
        "<id@example.org>",
    )
    finished = _finish(ctx, result)
    expected = dataclasses.replace(
        result,
        evidence=("rule evidence", "Authentication-Results: dmarc=fail"),
        sender="sender@example.org",
        tokens=("tok-rule", "tok-ctx"),
        authentication_failed=True,
        message_id="<id@example.org>",
    )
    assert finished == expected
    for field in dataclasses.fields(Classification):  # every field was given a non-default
        assert getattr(finished, field.name) != field.default, field.name
