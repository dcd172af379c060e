"""Holiday calendars stored by year (``holiday_years``), so a process need not build one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holiday_years",
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("subdivision", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("library_version", sa.String(length=32), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("country", "subdivision", "year", name=op.f("pk_holiday_years")),
    )


def downgrade() -> None:
    op.drop_table("holiday_years")
