"""PostgreSQL: the stored messages (inbound raw, outbox payload) compressed with lz4.

A message is a few kilobytes, over PostgreSQL's 2 kB TOAST threshold, so every stored
message is compressed by the server as it is inserted; with the default method (pglz)
that was the largest part of the server's work in committing an intake batch: 59 µs
of the server's time a message against 38-40 µs with lz4, and a 10,000-message commit
2.6 s against 2.3 s (three runs each). lz4 exists from PostgreSQL 14 on, where the
server was built with it; elsewhere, and on SQLite, nothing changes. Rows stored before
keep their compression until they are rewritten.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: (table, column): the columns that hold whole messages
COLUMNS = (("inbound_items", "raw"), ("outbox", "payload"))


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    row = bind.execute(
        sa.text(
            "SELECT current_setting('server_version_num')::int >= 140000"
            " AND EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression'"
            " AND 'lz4' = ANY(enumvals))"
        )
    ).scalar()
    return bool(row)


def _set(method: str) -> None:
    for table, column in COLUMNS:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION {method}')


def upgrade() -> None:
    if _lz4_available():
        _set("lz4")


def downgrade() -> None:
    if _lz4_available():
        _set("default")
