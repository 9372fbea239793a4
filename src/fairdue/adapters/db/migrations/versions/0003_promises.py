"""Promises to pay: amount, due date, who took it and on which contact, kept or broken.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(40)
ZERO = sa.text("0")
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    """Add the promises table."""
    op.create_table(
        "promises",
        sa.Column("promise_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("made_at", TS, nullable=False),
        sa.Column("made_by", sa.String(64), nullable=False),
        sa.Column("attempt_id", sa.String(96), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.PrimaryKeyConstraint("promise_id", name="pk_promises"),
        _fk("promises", "case_id", "cases.case_id"),
        _fk("promises", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_promises_borrower_id", "promises", ["borrower_id"])
    op.create_index("ix_promises_status_due_on", "promises", ["status", "due_on"])


def downgrade() -> None:
    """Drop the promises table."""
    op.drop_index("ix_promises_status_due_on", table_name="promises")
    op.drop_index("ix_promises_borrower_id", table_name="promises")
    op.drop_table("promises")
