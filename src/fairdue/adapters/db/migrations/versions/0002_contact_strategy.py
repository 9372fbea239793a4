"""The contact strategy: policies, decisions, the outbox, attempts, restrictions, contactability.

Also lets several worker processes share a daily run (partition claims), and widens the
event id to 64 bits on PostgreSQL, where a busy portfolio would outgrow 32.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(40)
ZERO = sa.text("0")
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    """Add the strategy tables and the partition claim columns."""
    with op.batch_alter_table("daily_run_partitions") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("claimed_at", TS, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("domain_events", "event_id", type_=sa.BigInteger(),
                        existing_nullable=False)

    op.create_table(
        "policies",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("first_used_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_policies"),
    )
    op.create_table(
        "experiment_assignments",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("experiment", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("assigned_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "experiment", name="pk_experiment_assignments"),
        _fk("experiment_assignments", "case_id", "cases.case_id"),
        _fk("experiment_assignments", "policy_version", "policies.version"),
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(80), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(64), nullable=True),
        sa.Column("step", sa.String(64), nullable=True),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("rules_checked", sa.Text(), nullable=False),
        sa.Column("decided_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decisions"),
        _fk("decisions", "case_id", "cases.case_id"),
        _fk("decisions", "policy_version", "policies.version"),
    )
    op.create_index("ix_decisions_borrower_id", "decisions", ["borrower_id"])
    op.create_index("ix_decisions_business_date", "decisions", ["business_date"])
    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.String(96), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("decision_id", sa.String(80), nullable=True),
        sa.Column("channel", sa.String(24), nullable=False),
        sa.Column("template", sa.String(64), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("scheduled_at", TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("blocked_by", sa.String(255), nullable=True),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("provider_id", sa.String(128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name="pk_contacts"),
        _fk("contacts", "case_id", "cases.case_id"),
        _fk("contacts", "borrower_id", "borrowers.borrower_id"),
        _fk("contacts", "decision_id", "decisions.decision_id"),
    )
    op.create_index("ix_contacts_borrower_id", "contacts", ["borrower_id"])
    op.create_index("ix_contacts_status_scheduled_at", "contacts", ["status", "scheduled_at"])
    op.create_index("ix_contacts_provider_id", "contacts", ["provider_id"])
    op.create_table(
        "contact_attempts",
        sa.Column("attempt_id", sa.String(96), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("contact_id", sa.String(96), nullable=True),
        sa.Column("channel", sa.String(24), nullable=False),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("disposition", sa.String(24), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("violated", sa.String(255), nullable=True),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("attempt_id", name="pk_contact_attempts"),
        _fk("contact_attempts", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_contact_attempts_borrower_id_at", "contact_attempts", ["borrower_id", "at"])
    op.create_table(
        "channel_states",
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("channel", sa.String(24), nullable=False),
        sa.Column("last_planned_on", sa.Date(), nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("last_success_at", TS, nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default=ZERO),
        sa.PrimaryKeyConstraint("borrower_id", "channel", name="pk_channel_states"),
        _fk("channel_states", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_table(
        "borrower_contact_facts",
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("last_rpc_at", TS, nullable=True),
        sa.Column("failed_in_a_row", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("unreachable_since", TS, nullable=True),
        sa.Column("refusals", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("promises_kept", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("promises_broken", sa.Integer(), nullable=False, server_default=ZERO),
        sa.PrimaryKeyConstraint("borrower_id", name="pk_borrower_contact_facts"),
        _fk("borrower_contact_facts", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_table(
        "contact_restrictions",
        sa.Column("restriction_id", sa.String(96), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(24), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("until_on", sa.Date(), nullable=True),
        sa.Column("lifted_at", TS, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("restriction_id", name="pk_contact_restrictions"),
        _fk("contact_restrictions", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_contact_restrictions_borrower_id", "contact_restrictions", ["borrower_id"])
    op.create_table(
        "contact_preferences",
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("preferred_channels", sa.String(64), nullable=False, server_default=sa.text("''")),
        sa.Column("agreed_from", sa.String(5), nullable=True),
        sa.Column("agreed_to", sa.String(5), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", name="pk_contact_preferences"),
        _fk("contact_preferences", "borrower_id", "borrowers.borrower_id"),
    )


    op.create_table(
        "contact_points",
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("channel", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", "channel", name="pk_contact_points"),
        _fk("contact_points", "borrower_id", "borrowers.borrower_id"),
    )


def downgrade() -> None:
    """Drop the strategy tables and the claim columns."""
    for table in ("contact_points", "contact_preferences", "contact_restrictions", "borrower_contact_facts",
                  "channel_states", "contact_attempts", "contacts", "decisions",
                  "experiment_assignments", "policies"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("domain_events", "event_id", type_=sa.Integer(), existing_nullable=False)
    with op.batch_alter_table("daily_run_partitions") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
