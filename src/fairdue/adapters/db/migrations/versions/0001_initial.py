"""Initial schema: borrowers, loans, ledger, cases, daily runs, events, audit log, imports.

Written out in full rather than built from `tables.metadata`: a migration is a record of
what the schema was at this revision, and must not change when tables.py changes later.
Constraint and index names are spelled as the metadata's naming convention produces them,
so that autogenerate comparisons and later ALTERs find them on both databases.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(40)
ZERO = sa.text("0")

# The audit log is evidence: once written, an entry may be read but never changed or
# removed, whoever connects. The hash chain detects tampering; these triggers prevent
# the ordinary kind of it (and an accidental UPDATE or DELETE from a maintenance script).
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
_POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION USING ERRCODE = 'restrict_violation', "
    "MESSAGE = 'audit_log is append-only (' || TG_OP || ' refused)'; END $$",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    # TRUNCATE skips row triggers, so it gets its own statement-level one.
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def upgrade() -> None:
    """Create every table, index, constraint and the audit log's triggers."""
    op.create_table(
        "borrowers",
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("pii", sa.LargeBinary(), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=True),
        sa.Column("city", sa.String(64), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("has_email", sa.Boolean(), nullable=False),
        sa.Column("has_app", sa.Boolean(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", name="pk_borrowers"),
    )
    op.create_index("ix_borrowers_phone_index", "borrowers", ["phone_index"])

    op.create_table(
        "fairness_attributes",
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("gender", sa.String(16), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("occupation", sa.String(64), nullable=True),
        sa.Column("ethnicity", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("borrower_id", name="pk_fairness_attributes"),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.borrower_id"],
            name="fk_fairness_attributes_borrower_id_borrowers",
        ),
    )

    op.create_table(
        "loans",
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate", sa.String(24), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("penalty_daily_rate", sa.String(24), nullable=False),
        sa.Column("allocation_order", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.Column("next_unpaid_due_on", sa.Date(), nullable=True),
        sa.Column("accrued_through", sa.Date(), nullable=True),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("dpd", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("bucket", sa.String(16), nullable=False, server_default=sa.text("'M0'")),
        sa.Column("amount_due_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("outstanding_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.PrimaryKeyConstraint("loan_id", name="pk_loans"),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.borrower_id"], name="fk_loans_borrower_id_borrowers"
        ),
    )
    op.create_index("ix_loans_borrower_id", "loans", ["borrower_id"])
    op.create_index("ix_loans_due_shard", "loans", ["next_unpaid_due_on", "shard"])

    op.create_table(
        "installments",
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("penalty_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("principal_paid_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("interest_paid_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("fee_paid_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("penalty_paid_minor", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.PrimaryKeyConstraint("loan_id", "seq", name="pk_installments"),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name="fk_installments_loan_id_loans"
        ),
    )

    op.create_table(
        "payments",
        sa.Column("payment_id", ID, nullable=False),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name="pk_payments"),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.loan_id"], name="fk_payments_loan_id_loans"),
    )
    op.create_index("ix_payments_loan_id", "payments", ["loan_id"])

    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(16), nullable=False),
        sa.Column("amount_due_minor", sa.BigInteger(), nullable=False),
        sa.Column("overdue_loans", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_cases"),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.borrower_id"], name="fk_cases_borrower_id_borrowers"
        ),
    )
    op.create_index("ix_cases_borrower_id", "cases", ["borrower_id"])
    # At most one open case per borrower: a partial unique index on both databases.
    op.create_index(
        "uq_cases_open_borrower",
        "cases",
        ["borrower_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_cases_status_bucket", "cases", ["status", "bucket"])

    op.create_table(
        "loan_bucket_history",
        sa.Column("move_id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("moved_on", sa.Date(), nullable=False),
        sa.Column("from_bucket", sa.String(16), nullable=False),
        sa.Column("to_bucket", sa.String(16), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("move_id", name="pk_loan_bucket_history"),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.loan_id"], name="fk_loan_bucket_history_loan_id_loans"
        ),
    )
    op.create_index("ix_loan_bucket_history_loan_id", "loan_bucket_history", ["loan_id"])
    op.create_index("ix_loan_bucket_history_moved_on", "loan_bucket_history", ["moved_on"])

    op.create_table(
        "domain_events",
        sa.Column("event_id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_domain_events"),
    )
    op.create_index("ix_domain_events_subject", "domain_events", ["subject"])

    op.create_table(
        "daily_runs",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("partitions", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("business_date", name="pk_daily_runs"),
    )

    op.create_table(
        "daily_run_partitions",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("partition_no", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("shard_from", sa.Integer(), nullable=False),
        sa.Column("shard_to", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("loans_touched", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("cases_opened", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("cases_cured", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("business_date", "partition_no", name="pk_daily_run_partitions"),
        sa.ForeignKeyConstraint(
            ["business_date"],
            ["daily_runs.business_date"],
            name="fk_daily_run_partitions_business_date_daily_runs",
        ),
    )

    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
        sa.UniqueConstraint("hash", name="uq_audit_log_hash"),
    )

    op.create_table(
        "import_batches",
        sa.Column("batch_id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("rows_added", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("rows_unchanged", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("rows_rejected", sa.Integer(), nullable=False, server_default=ZERO),
        sa.PrimaryKeyConstraint("batch_id", name="pk_import_batches"),
    )

    for statement in _triggers():
        op.execute(statement)


def downgrade() -> None:
    """Drop the triggers, then every table in reverse dependency order."""
    if _dialect() == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    op.drop_table("import_batches")
    op.drop_table("audit_log")
    op.drop_table("daily_run_partitions")
    op.drop_table("daily_runs")
    op.drop_index("ix_domain_events_subject", table_name="domain_events")
    op.drop_table("domain_events")
    op.drop_index("ix_loan_bucket_history_moved_on", table_name="loan_bucket_history")
    op.drop_index("ix_loan_bucket_history_loan_id", table_name="loan_bucket_history")
    op.drop_table("loan_bucket_history")
    op.drop_index("ix_cases_status_bucket", table_name="cases")
    op.drop_index("uq_cases_open_borrower", table_name="cases")
    op.drop_index("ix_cases_borrower_id", table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_payments_loan_id", table_name="payments")
    op.drop_table("payments")
    op.drop_table("installments")
    op.drop_index("ix_loans_due_shard", table_name="loans")
    op.drop_index("ix_loans_borrower_id", table_name="loans")
    op.drop_table("loans")
    op.drop_table("fairness_attributes")
    op.drop_index("ix_borrowers_phone_index", table_name="borrowers")
    op.drop_table("borrowers")


def _dialect() -> str:
    # The migration context's dialect works online and in offline (--sql) mode alike.
    return op.get_context().dialect.name


def _triggers() -> Sequence[str]:
    name = _dialect()
    if name == "sqlite":
        return _SQLITE_TRIGGERS
    if name == "postgresql":
        return _POSTGRESQL_TRIGGERS
    raise RuntimeError(f"fairdue supports SQLite and PostgreSQL, not {name}")
