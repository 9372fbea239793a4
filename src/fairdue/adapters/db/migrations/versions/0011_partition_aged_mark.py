"""A partition's aging can commit before its decisions: the mark that it did.

With helper processes on SQLite (`fairdue run-day --workers N`), a partition runs in two
transactions: the aging of loans and cases, then the day's decisions, which the helpers can
only work out from committed books. `aged_at` says the first is done, so a run resumed after
a crash between them decides without aging twice; the partition's figures are written with
it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add daily_run_partitions.aged_at."""
    with op.batch_alter_table("daily_run_partitions") as batch:
        batch.add_column(sa.Column("aged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop daily_run_partitions.aged_at."""
    with op.batch_alter_table("daily_run_partitions") as batch:
        batch.drop_column("aged_at")
