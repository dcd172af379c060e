"""Inbound items (the intake ledger), item→request links and privacy requests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:26:31.594309
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "inbound_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("item_key", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_class", sa.String(length=32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("sender_hash", sa.String(length=64), nullable=True),
        sa.Column("sender_masked", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_items")),
        sa.UniqueConstraint("source", "item_key", name="uq_inbound_items_source_key"),
    )
    with op.batch_alter_table("inbound_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_items_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index("ix_inbound_items_status", ["status"], unique=False)

    op.create_table(
        "item_requests",
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["inbound_items.id"],
            name=op.f("fk_item_requests_item_id_inbound_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_item_requests_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "request_id", name=op.f("pk_item_requests")),
    )
    op.create_table(
        "privacy_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("kinds", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["inbound_items.id"],
            name=op.f("fk_privacy_requests_item_id_inbound_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
        sa.UniqueConstraint("item_id", name="uq_privacy_requests_item_id"),
    )
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_requests_address_hash"), ["address_hash"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_requests_address_hash"))

    op.drop_table("privacy_requests")
    op.drop_table("item_requests")
    with op.batch_alter_table("inbound_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_items_status")
        batch_op.drop_index(batch_op.f("ix_inbound_items_message_id"))

    op.drop_table("inbound_items")
