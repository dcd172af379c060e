"""Migrations: applying them to an empty database gives exactly what the models describe."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from worker.errors import SchemaOutOfDate
from worker.store.db import (
    SCHEMA_HEAD,
    alembic_config,
    create_db_engine,
    current_revision,
    ensure_schema,
    head_revision,
    migrate,
)
from worker.store.models import Base


def test_schema_head_is_the_newest_migration() -> None:
    # the start-up check compares with SCHEMA_HEAD so that it needs no Alembic import;
    # a new migration must move it on, or every database would be "out of date"
    assert head_revision() == SCHEMA_HEAD


@pytest.mark.parametrize("empty_db_url", ["sqlite", "postgresql"], indirect=True)
def test_migrations_produce_the_model_schema(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert current_revision(engine) == head_revision()
        migrate(engine)  # a second run is a no-op
    finally:
        engine.dispose()


@pytest.mark.parametrize("empty_db_url", ["sqlite", "postgresql"], indirect=True)
def test_shared_database_is_not_migrated_behind_the_operators_back(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    try:
        with pytest.raises(SchemaOutOfDate, match="optout migrate"):
            ensure_schema(engine, auto_migrate=False)
        ensure_schema(engine, auto_migrate=True)
        ensure_schema(engine, auto_migrate=False)
    finally:
        engine.dispose()


def _compression(engine: Engine, table: str, column: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT attcompression FROM pg_attribute"
                    " WHERE attrelid = CAST(:t AS regclass) AND attname = :c"
                ),
                {"t": table, "c": column},
            ).scalar()
        )


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_stored_messages_are_compressed_with_lz4_on_postgresql(empty_db_url: str) -> None:
    # the server compresses every stored message (over the 2 kB TOAST threshold); pglz
    # was the largest part of its work in an intake commit (migration 0005)
    engine = create_db_engine(empty_db_url)
    try:
        migrate(engine)
        for table, column in (("inbound_items", "raw"), ("outbox", "payload")):
            assert _compression(engine, table, column) == "l"  # lz4
        command.downgrade(alembic_config(engine), "0004")  # the server's default again
        assert _compression(engine, "inbound_items", "raw") == ""
        migrate(engine)
        assert _compression(engine, "inbound_items", "raw") == "l"
    finally:
        engine.dispose()


@pytest.mark.parametrize("empty_db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_active_suppression_index_is_partial_on_both_backends(empty_db_url: str) -> None:
    # the model names only SQLite's WHERE (see models.Suppression); the migration makes
    # it partial everywhere, so a lifted suppression does not block a new one
    engine = create_db_engine(empty_db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                sql = "SELECT sql FROM sqlite_master WHERE name = 'uq_suppressions_active'"
            else:
                sql = "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_suppressions_active'"
            definition = str(conn.execute(text(sql)).scalar())
        assert "UNIQUE" in definition.upper()
        assert "WHERE" in definition.upper()
        assert "lifted_at IS NULL" in definition
    finally:
        engine.dispose()
