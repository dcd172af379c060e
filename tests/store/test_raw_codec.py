"""Stored messages: LZ4 frames in ``inbound_items.raw``, read back as received, on both
backends; rows stored before (``raw_codec`` NULL) read as they are; a damaged row is a
clear error that changes nothing; the downgrade writes every message back as received."""

from __future__ import annotations

from datetime import timedelta

import lz4.frame
import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text, update

from tests.intake import messages as m
from worker.core.clock import FixedClock
from worker.intake import IntakePolicy, IntakeService
from worker.retention import Retention
from worker.service import OptoutService
from worker.store import rawcodec
from worker.store.db import alembic_config, create_db_engine, migrate
from worker.store.models import InboundItem

#: a reply that quotes a newsletter, as most of an unsubscribe mailbox's mail does
QUOTING = m.QUESTION_WITH_FOOTER + b"\r\n".join(
    b"> This week: new arrivals, 20% off outerwear and our holiday opening hours."
    for _ in range(40)
)


def _row(service: OptoutService, item_id: int) -> tuple[bytes | None, str | None, int]:
    t = InboundItem
    with service.store.transaction() as tx:
        row = tx.session.execute(select(t.raw, t.raw_codec, t.size).where(t.id == item_id)).one()
    return row.raw, row.raw_codec, row.size


def _intake(service: OptoutService) -> IntakeService:
    return IntakeService(service, None, IntakePolicy())


def test_a_message_is_stored_as_an_lz4_frame_and_read_back_as_received(
    service: OptoutService,
) -> None:
    intake = _intake(service)
    result = intake.process("inbox", "1", QUOTING, service.clock.now())
    stored, codec, size = _row(service, result.item_id)
    assert codec == "lz4"
    assert stored is not None
    assert size == len(QUOTING)
    assert len(stored) < len(QUOTING) // 3  # the quoted lines repeat
    assert stored[:4] == b"\x04\x22\x4d\x18"  # the LZ4 frame magic: `lz4 -d` reads it
    assert lz4.frame.decompress(stored) == QUOTING
    view, raw = intake.item(result.item_id)
    assert raw == QUOTING
    assert view.has_raw


def test_a_message_lz4_would_not_shrink_is_stored_as_received(service: OptoutService) -> None:
    tiny = b"From: a@example.org\r\n\r\nstop"
    intake = _intake(service)
    result = intake.process("inbox", "1", tiny, service.clock.now())
    assert _row(service, result.item_id)[:2] == (tiny, None)
    assert intake.item(result.item_id)[1] == tiny


def test_a_row_stored_before_the_codec_reads_as_it_is(service: OptoutService) -> None:
    intake = _intake(service)
    result = intake.process("inbox", "1", QUOTING, service.clock.now())
    with service.store.transaction() as tx:  # as migration 0007 found it
        tx.session.execute(
            update(InboundItem)
            .where(InboundItem.id == result.item_id)
            .values(raw=QUOTING, raw_codec=None)
        )
    assert intake.item(result.item_id)[1] == QUOTING


@pytest.mark.parametrize(
    ("raw", "codec", "error"),
    [
        (b"\x04\x22\x4d\x18garbage", "lz4", "damaged LZ4 frame"),
        (lz4.frame.compress(b"another message"), "lz4", "do not match the stored SHA-256"),
        (b"whatever", "zstd", "unknown raw_codec 'zstd'"),
    ],
)
def test_a_damaged_row_is_a_clear_error_and_changes_nothing(
    service: OptoutService, raw: bytes, codec: str, error: str
) -> None:
    intake = _intake(service)
    result = intake.process("inbox", "1", QUOTING, service.clock.now())
    with service.store.transaction() as tx:
        tx.session.execute(
            update(InboundItem)
            .where(InboundItem.id == result.item_id)
            .values(raw=raw, raw_codec=codec)
        )
    with pytest.raises(rawcodec.StoredMessageUnreadable, match=error) as caught:
        intake.item(result.item_id)
    assert f"inbound item {result.item_id}" in caught.value.message
    assert _row(service, result.item_id)[:2] == (raw, codec)


def test_retention_drops_the_stored_form_with_the_message(service: OptoutService) -> None:
    clock = service.clock
    assert isinstance(clock, FixedClock)
    intake = _intake(service)
    result = intake.process("inbox", "1", m.UNSUBSCRIBE + QUOTING, clock.now() - timedelta(days=40))
    assert _row(service, result.item_id)[1] == "lz4"
    assert Retention(service, 30).purge_raw() == 1
    assert _row(service, result.item_id)[:2] == (None, None)
    assert intake.item(result.item_id)[1] is None


@pytest.mark.parametrize("empty_db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_downgrade_writes_every_message_back_as_received(
    empty_db_url: str, settings: object, clock: FixedClock
) -> None:
    from worker.bootstrap import policy_from
    from worker.store.repo import Store

    engine = create_db_engine(empty_db_url)
    try:
        migrate(engine)
        store = Store(engine)
        service = OptoutService(store, policy_from(settings), clock)  # type: ignore[arg-type]
        intake = _intake(service)
        bodies = [QUOTING + str(i).encode() for i in range(3)] + [b"From: a@b.example\r\n\r\nx"]
        for i, body in enumerate(bodies):
            intake.process("inbox", str(i), body, clock.now())
        with engine.connect() as conn:
            sql = "SELECT raw_codec FROM inbound_items ORDER BY id"
            codecs = [r[0] for r in conn.execute(text(sql))]
        assert codecs == ["lz4", "lz4", "lz4", None]
        command.downgrade(alembic_config(engine), "0006")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT item_key, raw FROM inbound_items")).all()
            columns = _columns(conn, engine.dialect.name)
        assert "raw_codec" not in columns
        assert {int(k): bytes(r) for k, r in rows} == dict(enumerate(bodies))
        migrate(engine)  # and up again: the rows stay as received, readable
        assert [intake.item(i + 1)[1] for i in range(4)] == bodies
    finally:
        engine.dispose()


def _columns(conn: object, dialect: str) -> list[str]:
    if dialect == "sqlite":
        sql = "SELECT name FROM pragma_table_info('inbound_items')"
    else:
        sql = (
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'inbound_items'"
        )
    return [r[0] for r in conn.execute(text(sql))]  # type: ignore[attr-defined]


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_postgresql_no_longer_compresses_what_is_compressed(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)

    def storage() -> str:
        with engine.connect() as conn:
            sql = (
                "SELECT attstorage FROM pg_attribute"
                " WHERE attrelid = CAST('inbound_items' AS regclass) AND attname = 'raw'"
            )
            return str(conn.execute(text(sql)).scalar())

    try:
        migrate(engine)
        assert storage() == "e"  # EXTERNAL: out of line, as it comes
        command.downgrade(alembic_config(engine), "0006")
        assert storage() == "x"  # EXTENDED, the default for bytea
    finally:
        engine.dispose()


@given(st.binary(max_size=4096) | st.text(max_size=3000).map(str.encode))
def test_pack_then_unpack_gives_the_bytes_back(raw: bytes) -> None:
    import hashlib

    stored, codec = rawcodec.pack(raw)
    assert codec in (None, "lz4")
    assert len(stored) <= len(raw)
    assert rawcodec.unpack(stored, codec, hashlib.sha256(raw).hexdigest()) == raw
