"""Alembic environment: the engine is handed over by worker.store.db, never a URL in a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from worker.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only reached by a bare `alembic`
    raise RuntimeError("run migrations through `optout migrate`")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
