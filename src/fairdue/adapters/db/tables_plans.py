"""Repayment plans, grace periods, waivers and affordability.

The tables; migration 0004 creates them (grace requests: 0009). Money is a BIGINT of minor units as elsewhere.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from fairdue.adapters.db.tables import ID, metadata

TS = DateTime(timezone=True)
ZERO = text("0")

plans = Table(
    "plans",
    metadata,
    # Repayment plans (domain/plans.py); the status moves only by the domain's transitions.
    Column("plan_id", String(64), primary_key=True),
    Column("case_id", String(64), ForeignKey("cases.case_id"), nullable=False),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("installment_count", Integer, nullable=False),
    Column("cadence", String(16), nullable=False),
    Column("penalty_continues", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_at", TS, nullable=False),
    # What the borrower stated, and the largest installment they can carry from it.
    Column("income_minor", BigInteger, nullable=True),
    Column("expenses_minor", BigInteger, nullable=True),
    Column("max_installment_minor", BigInteger, nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("decided_role", String(16), nullable=True),
    Column("decided_at", TS, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("activated_at", TS, nullable=True),
    Column("activated_on", Date, nullable=True),
    Column("ended_on", Date, nullable=True),
    Column("paid_minor", BigInteger, nullable=False, server_default=ZERO),
)
Index("ix_plans_borrower_id", plans.c.borrower_id)
Index("ix_plans_status", plans.c.status)

plan_installments = Table(
    "plan_installments",
    metadata,
    Column("plan_id", String(64), ForeignKey("plans.plan_id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("due_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("paid_minor", BigInteger, nullable=False, server_default=ZERO),
    Column("status", String(16), nullable=False),
)
# The daily run marks the installments whose date has passed: a range scan on this.
Index("ix_plan_installments_status_due_on", plan_installments.c.status, plan_installments.c.due_on)

grace_periods = Table(
    "grace_periods",
    metadata,
    # A pause of collection contact (the `grace` contact restriction it put in force) and,
    # when granted so, of penalty accrual (a penalty freeze over the same days).
    Column("grace_id", String(64), primary_key=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("case_id", String(64), nullable=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("freeze_penalty", Boolean, nullable=False),
    Column("restriction_id", String(96), nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted_by", String(64), nullable=False),
    Column("granted_at", TS, nullable=False),
)
Index("ix_grace_periods_borrower_id", grace_periods.c.borrower_id)

grace_requests = Table(
    "grace_requests",
    metadata,
    # A borrower asks for a grace period (on the portal, or staff on their behalf); a
    # supervisor approves it, which grants `grace_id` in the same transaction, or rejects
    # it with a reason (migration 0009).
    Column("request_id", String(64), primary_key=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("case_id", String(64), nullable=True),
    Column("days", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", TS, nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", TS, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("grace_id", String(64), ForeignKey("grace_periods.grace_id"), nullable=True),
)
Index("ix_grace_requests_borrower_id", grace_requests.c.borrower_id)
Index("ix_grace_requests_status_requested_at", grace_requests.c.status,
      grace_requests.c.requested_at)

penalty_freezes = Table(
    "penalty_freezes",
    metadata,
    # Business days on which no penalty accrues for the borrower's loans (domain/relief.py),
    # from a grace period or a plan agreed with penalty stopped; `ends_on` null: still open.
    Column("freeze_id", String(64), primary_key=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=True),
)
Index("ix_penalty_freezes_borrower_id", penalty_freezes.c.borrower_id)

waivers = Table(
    "waivers",
    metadata,
    Column("waiver_id", String(64), primary_key=True),
    Column("case_id", String(64), ForeignKey("cases.case_id"), nullable=False),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("component", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", TS, nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_role", String(16), nullable=True),
    Column("decided_at", TS, nullable=True),
    Column("decision_reason", Text, nullable=True),
)
Index("ix_waivers_borrower_id", waivers.c.borrower_id)

waiver_credits = Table(
    "waiver_credits",
    metadata,
    # An approved waiver's parts, one per installment it settled; every ledger replay of the
    # loan applies them again on `applied_on` (domain/relief.py).
    Column("waiver_id", String(64), ForeignKey("waivers.waiver_id"), primary_key=True),
    Column("loan_id", ID, ForeignKey("loans.loan_id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("component", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("applied_on", Date, nullable=False),
)
Index("ix_waiver_credits_loan_id", waiver_credits.c.loan_id)

__all__ = ["grace_periods", "grace_requests", "metadata", "penalty_freezes", "plan_installments", "plans",
           "waiver_credits", "waivers"]
