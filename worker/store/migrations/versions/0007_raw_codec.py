"""Stored messages compressed by optout (LZ4 frames), with ``inbound_items.raw_codec``.

See worker/store/rawcodec.py. Rows stored before keep their bytes as received
(``raw_codec`` NULL). On PostgreSQL the server no longer tries to compress the column
(``STORAGE EXTERNAL``): what it receives is compressed already, and a second pass
would only cost the server's time. A downgrade writes every compressed message back
as received before it drops the column, so nothing stored becomes unreadable.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 18:40:00
"""

from __future__ import annotations

import lz4.frame
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: rows decompressed per round trip by the downgrade
_CHUNK = 500


def upgrade() -> None:
    with op.batch_alter_table("inbound_items") as batch:
        batch.add_column(sa.Column("raw_codec", sa.String(length=16), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "inbound_items" ALTER COLUMN "raw" SET STORAGE EXTERNAL')


def downgrade() -> None:
    bind = op.get_bind()
    items = sa.table(
        "inbound_items",
        sa.column("id", sa.BigInteger),
        sa.column("raw", sa.LargeBinary),
        sa.column("raw_codec", sa.String),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(items.c.id, items.c.raw)
            .where(items.c.raw_codec == "lz4", items.c.id > last)
            .order_by(items.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            break
        for item_id, stored in rows:
            bind.execute(
                items.update()
                .where(items.c.id == item_id)
                .values(raw=lz4.frame.decompress(stored), raw_codec=None)
            )
        last = rows[-1][0]
    if bind.dialect.name == "postgresql":
        op.execute('ALTER TABLE "inbound_items" ALTER COLUMN "raw" SET STORAGE EXTENDED')
    with op.batch_alter_table("inbound_items") as batch:
        batch.drop_column("raw_codec")
