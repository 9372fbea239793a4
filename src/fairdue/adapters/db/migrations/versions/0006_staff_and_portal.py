"""Staff users, sessions, API tokens, borrower one-time codes and complaints.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(40)
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    """Add the tables of this revision."""
    op.create_table(
        "staff_users",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_staff_users"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("principal_kind", sa.String(16), nullable=False),
        sa.Column("principal_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("transport", sa.String(8), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_principal_id", "web_sessions", ["principal_id"])
    op.create_table(
        "borrower_login_codes",
        sa.Column("code_id", sa.String(40), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("borrower_id", ID, nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("locked_at", TS, nullable=True),
        sa.Column("send_status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("code_id", name="pk_borrower_login_codes"),
        _fk("borrower_login_codes", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_borrower_login_codes_phone_created", "borrower_login_codes",
                    ["phone_index", "created_at"])
    op.create_table(
        "case_assignments",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_case_assignments"),
        _fk("case_assignments", "case_id", "cases.case_id"),
        _fk("case_assignments", "username", "staff_users.username"),
    )
    op.create_index("ix_case_assignments_username", "case_assignments", ["username"])
    op.create_table(
        "complaints",
        sa.Column("complaint_id", sa.String(40), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("restriction_id", sa.String(96), nullable=False),
        sa.Column("filed_at", TS, nullable=False),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("complaint_id", name="pk_complaints"),
        _fk("complaints", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_complaints_borrower_id", "complaints", ["borrower_id"])
    op.create_index("ix_complaints_status_filed_at", "complaints", ["status", "filed_at"])


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_index("ix_complaints_status_filed_at", table_name="complaints")
    op.drop_index("ix_complaints_borrower_id", table_name="complaints")
    op.drop_table("complaints")
    op.drop_index("ix_case_assignments_username", table_name="case_assignments")
    op.drop_table("case_assignments")
    op.drop_index("ix_borrower_login_codes_phone_created", table_name="borrower_login_codes")
    op.drop_table("borrower_login_codes")
    op.drop_index("ix_web_sessions_principal_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("staff_users")
