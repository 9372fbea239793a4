"""Indexes the daily run needs: a partition's borrowers by shard.

Each partition of the daily run reads the open cases of a range of borrower shards. Without
an index on the shard, that read went through every open case of the book and kept a
partition's share (eight passes over 100,000 open cases a run); with (shard, borrower_id)
it is a range scan of the partition's borrowers, joined to their open case by the partial
unique index on open cases.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ix_borrowers_shard_borrower_id."""
    op.create_index("ix_borrowers_shard_borrower_id", "borrowers", ["shard", "borrower_id"])


def downgrade() -> None:
    """Drop ix_borrowers_shard_borrower_id."""
    op.drop_index("ix_borrowers_shard_borrower_id", table_name="borrowers")
