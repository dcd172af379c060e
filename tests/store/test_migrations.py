"""Migrations: applying them to an empty database gives exactly what the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from worker.errors import SchemaOutOfDate
from worker.store.db import (
    SCHEMA_HEAD,
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
