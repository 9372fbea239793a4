"""Repayment plans, grace periods, waivers and affordability.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(40)
ZERO = sa.text("0")
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    """Add the plans, plan installments, grace periods, penalty freezes, waivers and waiver
    credits tables."""
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("installment_count", sa.Integer(), nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("penalty_continues", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("proposed_at", TS, nullable=False),
        sa.Column("income_minor", sa.BigInteger(), nullable=True),
        sa.Column("expenses_minor", sa.BigInteger(), nullable=True),
        sa.Column("max_installment_minor", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_role", sa.String(16), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("activated_at", TS, nullable=True),
        sa.Column("activated_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.PrimaryKeyConstraint("plan_id", name="pk_plans"),
        _fk("plans", "case_id", "cases.case_id"),
        _fk("plans", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_plans_borrower_id", "plans", ["borrower_id"])
    op.create_index("ix_plans_status", "plans", ["status"])
    op.create_table(
        "plan_installments",
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "seq", name="pk_plan_installments"),
        _fk("plan_installments", "plan_id", "plans.plan_id"),
    )
    op.create_index("ix_plan_installments_status_due_on", "plan_installments", ["status", "due_on"])
    op.create_table(
        "grace_periods",
        sa.Column("grace_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("freeze_penalty", sa.Boolean(), nullable=False),
        sa.Column("restriction_id", sa.String(96), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("grace_id", name="pk_grace_periods"),
        _fk("grace_periods", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_grace_periods_borrower_id", "grace_periods", ["borrower_id"])
    op.create_table(
        "penalty_freezes",
        sa.Column("freeze_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("freeze_id", name="pk_penalty_freezes"),
        _fk("penalty_freezes", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_penalty_freezes_borrower_id", "penalty_freezes", ["borrower_id"])
    op.create_table(
        "waivers",
        sa.Column("waiver_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("component", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_role", sa.String(16), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("waiver_id", name="pk_waivers"),
        _fk("waivers", "case_id", "cases.case_id"),
        _fk("waivers", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_waivers_borrower_id", "waivers", ["borrower_id"])
    op.create_table(
        "waiver_credits",
        sa.Column("waiver_id", sa.String(64), nullable=False),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("waiver_id", "loan_id", "seq", name="pk_waiver_credits"),
        _fk("waiver_credits", "waiver_id", "waivers.waiver_id"),
        _fk("waiver_credits", "loan_id", "loans.loan_id"),
    )
    op.create_index("ix_waiver_credits_loan_id", "waiver_credits", ["loan_id"])


def downgrade() -> None:
    """Drop the tables of this revision, dependants first."""
    op.drop_index("ix_waiver_credits_loan_id", table_name="waiver_credits")
    op.drop_table("waiver_credits")
    op.drop_index("ix_waivers_borrower_id", table_name="waivers")
    op.drop_table("waivers")
    op.drop_index("ix_penalty_freezes_borrower_id", table_name="penalty_freezes")
    op.drop_table("penalty_freezes")
    op.drop_index("ix_grace_periods_borrower_id", table_name="grace_periods")
    op.drop_table("grace_periods")
    op.drop_index("ix_plan_installments_status_due_on", table_name="plan_installments")
    op.drop_table("plan_installments")
    op.drop_index("ix_plans_status", table_name="plans")
    op.drop_index("ix_plans_borrower_id", table_name="plans")
    op.drop_table("plans")
