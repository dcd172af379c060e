"""Intake's two lookups per batch answer the same through the driver (bulk) as through
the ORM: which items are in the ledger, and the first item of each Message-ID."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.service import OptoutService
from worker.store import bulk
from worker.store import inbound as q

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _item(source: str, key: str, message_id: str | None, status: str) -> q.NewItem:
    return q.NewItem(
        source=source,
        item_key=key,
        message_id=message_id,
        received_at=NOW,
        size=1,
        raw=b"x",
        raw_codec=None,
        raw_sha256="0" * 64,
        status=status,
        message_class=None,
        confidence=None,
        sender_hash=None,
        sender_masked=None,
        subject=None,
        detail={},
        error=None,
        created_at=NOW,
    )


def test_driver_lookups_answer_as_the_orm(
    service: OptoutService, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [
        _item("inbox", "1", "<a@x>", "processed"),
        _item("inbox", "2", "<a@x>", "review"),  # a second copy: the first one counts
        _item("inbox", "3", "<b@x>", "failed"),  # failures are nobody's first
        _item("other", "1", "<c@x>", "failed"),
        _item("other", "2", "<b@x>", "processed"),
        _item("other", "ünï", "<ü@x>", "review"),
        _item("other", "4", None, "processed"),
    ]
    with service.store.transaction() as tx:
        q.insert_items(tx, items)
    # pairs whose source and key are each known, but not together, match nothing
    keys = [("inbox", "1"), ("inbox", "2"), ("other", "1"), ("inbox", "4"), ("other", "3")]
    keys += [("other", "ünï"), ("nowhere", "1"), ("other", "2")]
    mids = ["<a@x>", "<b@x>", "<c@x>", "<ü@x>", "<none@x>", "<a@x>"]
    answers = []
    for enabled in (True, False):
        monkeypatch.setattr(bulk, "ENABLED", enabled)
        with service.store.transaction() as tx:
            found = q.find_items(tx, keys)
            firsts = q.first_by_message_ids(tx, mids)
            nothing = (q.find_items(tx, [("nowhere", "0")]), q.first_by_message_ids(tx, ["<z>"]))
        answers.append((found, firsts, nothing))
    assert answers[0] == answers[1]
    found, firsts, nothing = answers[0]
    assert sorted(found) == sorted(
        [("inbox", "1"), ("inbox", "2"), ("other", "1"), ("other", "ünï"), ("other", "2")]
    )
    assert found["other", "1"].status == "failed"
    assert sorted(firsts) == ["<a@x>", "<b@x>", "<ü@x>"]
    assert firsts["<a@x>"] == found["inbox", "1"].id
    assert firsts["<b@x>"] == found["other", "2"].id
    assert nothing == ({}, {})
