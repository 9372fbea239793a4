"""A borrower's own requests from the portal: a grace period to ask for, and the sign-in code
waiting in the outbox.

`grace_requests`: the portal (and staff on the borrower's behalf) ask for a grace period; a
supervisor approves it, which grants the grace in the same transaction, or rejects it with a
reason. The borrower sees the answer on the portal.

`borrower_login_codes.code_sealed`: a sign-in code now leaves through the contacts outbox
like every other message, so the dispatcher must be able to write it into the SMS. Only the
keyed hash is used to check a code; the sealed copy (AES-GCM, the PII key, bound to the code
id) is there for the message alone and is erased once the code is used or locked.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    """Add grace_requests and borrower_login_codes.code_sealed."""
    op.create_table(
        "grace_requests",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("grace_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_grace_requests"),
        _fk("grace_requests", "borrower_id", "borrowers.borrower_id"),
        _fk("grace_requests", "grace_id", "grace_periods.grace_id"),
    )
    op.create_index("ix_grace_requests_borrower_id", "grace_requests", ["borrower_id"])
    op.create_index("ix_grace_requests_status_requested_at", "grace_requests",
                    ["status", "requested_at"])
    with op.batch_alter_table("borrower_login_codes") as batch:
        batch.add_column(sa.Column("code_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Drop borrower_login_codes.code_sealed and grace_requests."""
    with op.batch_alter_table("borrower_login_codes") as batch:
        batch.drop_column("code_sealed")
    op.drop_index("ix_grace_requests_status_requested_at", table_name="grace_requests")
    op.drop_index("ix_grace_requests_borrower_id", table_name="grace_requests")
    op.drop_table("grace_requests")
