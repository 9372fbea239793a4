"""The relational schema, as SQLAlchemy Core tables.

Portable between SQLite (the embedded default) and PostgreSQL (production): money is a
BIGINT count of minor units, rates are exact decimal strings, times are UTC, and there
are no PostgreSQL-only types. Alembic migrations in `migrations/` create exactly this.
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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

ID = String(40)

borrowers = Table(
    "borrowers",
    metadata,
    Column("borrower_id", ID, primary_key=True),
    # Names, id number, phones, emails, addresses, coordinates and push token, as one
    # AES-GCM sealed JSON document: nothing personal is readable from the file alone.
    Column("pii", LargeBinary, nullable=False),
    # Keyed hash of the primary phone number, so a borrower can be found by phone
    # (sign-in, inbound calls) without storing the number in clear.
    Column("phone_index", String(64), nullable=True, index=True),
    Column("city", String(64), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("has_email", Boolean, nullable=False),
    Column("has_app", Boolean, nullable=False),
    # Spreads borrowers over the daily run's partitions; ranges of it are partitions.
    Column("shard", Integer, nullable=False),
    Column("row_hash", String(64), nullable=False),
)
# The daily run reads a partition's borrowers (a shard range) and joins their open cases
# and facts to them: a range of this index, covering, instead of a pass over every open case
# (migration 0010).
Index("ix_borrowers_shard_borrower_id", borrowers.c.shard, borrowers.c.borrower_id)

# Kept apart from everything a rule reads: only fairness monitoring may join this table.
fairness_attributes = Table(
    "fairness_attributes",
    metadata,
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), primary_key=True),
    Column("gender", String(16)),
    Column("birth_date", Date),
    Column("occupation", String(64)),
    Column("ethnicity", String(32)),
)

loans = Table(
    "loans",
    metadata,
    Column("loan_id", ID, primary_key=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False, index=True),
    Column("shard", Integer, nullable=False),
    Column("product", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("annual_rate", String(24), nullable=False),
    Column("disbursed_on", Date, nullable=False),
    Column("penalty_daily_rate", String(24), nullable=False),
    Column("allocation_order", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
    # The ledger's running state, derived from installments and payments.
    Column("next_unpaid_due_on", Date, nullable=True),
    Column("accrued_through", Date, nullable=True),
    Column("credit_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("dpd", Integer, nullable=False, server_default=text("0")),
    Column("bucket", String(16), nullable=False, server_default=text("'M0'")),
    Column("amount_due_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("outstanding_minor", BigInteger, nullable=False, server_default=text("0")),
)
# The daily run reads only loans with something past due: a range scan on this index.
Index("ix_loans_due_shard", loans.c.next_unpaid_due_on, loans.c.shard)

installments = Table(
    "installments",
    metadata,
    Column("loan_id", ID, ForeignKey("loans.loan_id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("due_on", Date, nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("interest_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("penalty_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("principal_paid_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("interest_paid_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("fee_paid_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("penalty_paid_minor", BigInteger, nullable=False, server_default=text("0")),
    # SQLite: the table is its key's b-tree (migration 0012), one search per installment.
    sqlite_with_rowid=False,
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", ID, primary_key=True),
    Column("loan_id", ID, ForeignKey("loans.loan_id"), nullable=False, index=True),
    Column("paid_at", DateTime(timezone=True), nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("row_hash", String(64), nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date, nullable=True),
    Column("dpd", Integer, nullable=False),
    Column("bucket", String(16), nullable=False),
    Column("amount_due_minor", BigInteger, nullable=False),
    Column("overdue_loans", Integer, nullable=False),
)
# At most one open case per borrower, enforced by the database as well as the domain.
Index(
    "uq_cases_open_borrower",
    cases.c.borrower_id,
    unique=True,
    sqlite_where=cases.c.status == "open",
    postgresql_where=cases.c.status == "open",
)
Index("ix_cases_status_bucket", cases.c.status, cases.c.bucket)

loan_bucket_history = Table(
    "loan_bucket_history",
    metadata,
    Column("move_id", Integer, primary_key=True, autoincrement=True),
    Column("loan_id", ID, ForeignKey("loans.loan_id"), nullable=False, index=True),
    Column("moved_on", Date, nullable=False),
    Column("from_bucket", String(16), nullable=False),
    Column("to_bucket", String(16), nullable=False),
    Column("dpd", Integer, nullable=False),
)
Index("ix_loan_bucket_history_moved_on", loan_bucket_history.c.moved_on)

domain_events = Table(
    "domain_events",
    metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("subject", String(64), nullable=False, index=True),
    Column("occurred_on", Date, nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),
)

daily_runs = Table(
    "daily_runs",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("partitions", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

daily_run_partitions = Table(
    "daily_run_partitions",
    metadata,
    Column("business_date", Date, ForeignKey("daily_runs.business_date"), primary_key=True),
    Column("partition_no", Integer, primary_key=True),
    Column("shard_from", Integer, nullable=False),
    Column("shard_to", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("loans_touched", Integer, nullable=False, server_default=text("0")),
    Column("cases_opened", Integer, nullable=False, server_default=text("0")),
    Column("cases_cured", Integer, nullable=False, server_default=text("0")),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # Which worker process holds the partition and since when: a claim older than the
    # lease belongs to a crashed worker and may be taken over.
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    # Run with helper processes, a partition commits its aging before its decisions: when.
    Column("aged_at", DateTime(timezone=True), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    # Not unique by constraint: each hash covers its own seq, so no two can be equal, and a
    # unique index on a random key cost a page write per entry (migration 0013).
    Column("hash", String(64), nullable=False),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("batch_id", Integer, primary_key=True, autoincrement=True),
    Column("file_name", String(255), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("rows_read", Integer, nullable=False, server_default=text("0")),
    Column("rows_added", Integer, nullable=False, server_default=text("0")),
    Column("rows_unchanged", Integer, nullable=False, server_default=text("0")),
    Column("rows_rejected", Integer, nullable=False, server_default=text("0")),
)

# --- the contact strategy: policies, decisions, the outbox and what contacts achieved ---

policies = Table(
    "policies",
    metadata,
    # sha256 of the policy file's text: a decision names the exact policy that made it.
    Column("version", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("profile", String(32), nullable=False),
    Column("source", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("first_used_at", DateTime(timezone=True), nullable=False),
)

experiment_assignments = Table(
    "experiment_assignments",
    metadata,
    Column("case_id", String(64), ForeignKey("cases.case_id"), primary_key=True),
    Column("experiment", String(64), primary_key=True),
    Column("variant", String(64), nullable=False),
    Column("policy_version", String(64), ForeignKey("policies.version"), nullable=False),
    Column("assigned_on", Date, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(80), primary_key=True),
    Column("case_id", String(64), ForeignKey("cases.case_id"), nullable=False),
    Column("borrower_id", ID, nullable=False, index=True),
    Column("business_date", Date, nullable=False),
    Column("policy_version", String(64), ForeignKey("policies.version"), nullable=False),
    Column("variant", String(64), nullable=True),
    Column("step", String(64), nullable=True),
    Column("facts", Text, nullable=False),
    Column("actions", Text, nullable=False),
    Column("rules_checked", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    # decision_id is "<case_id>@<YYYYMMDD>": the key itself says one decision per case a day.
)
Index("ix_decisions_business_date", decisions.c.business_date)

contacts = Table(
    "contacts",
    metadata,
    # The outbox and the call queue in one: every planned contact, sent or blocked.
    Column("contact_id", String(96), primary_key=True),
    Column("case_id", String(64), ForeignKey("cases.case_id"), nullable=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False, index=True),
    Column("decision_id", String(80), ForeignKey("decisions.decision_id"), nullable=True),
    Column("channel", String(24), nullable=False),
    Column("template", String(64), nullable=True),
    Column("language", String(8), nullable=False),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("scheduled_at", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False),
    Column("blocked_by", String(255), nullable=True),
    Column("blocked_reason", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("idempotency_key", String(64), nullable=False),
    # Dispatch: who holds the message and since when, when to try again, what the
    # provider called it (for receipts) and the last thing that went wrong.
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("provider_id", String(128), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # idempotency_key is sha256(contact_id): unique because the key is, with no index to
    # keep up (a random-order index costs every insert of a big daily run).
)
Index("ix_contacts_provider_id", contacts.c.provider_id)
Index("ix_contacts_status_scheduled_at", contacts.c.status, contacts.c.scheduled_at)

contact_attempts = Table(
    "contact_attempts",
    metadata,
    # What happened when someone (a dispatcher, a dialer, an agent) tried to reach a person.
    Column("attempt_id", String(96), primary_key=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("case_id", String(64), nullable=True),
    Column("contact_id", String(96), nullable=True),
    Column("channel", String(24), nullable=False),
    Column("party", String(16), nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("disposition", String(24), nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("note", Text, nullable=True),
    # Rule ids the guard found broken by an attempt made outside fairdue; null when lawful.
    Column("violated", String(255), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
Index("ix_contact_attempts_borrower_id_at", contact_attempts.c.borrower_id, contact_attempts.c.at)

channel_states = Table(
    "channel_states",
    metadata,
    # A running summary per borrower and channel, kept current with each attempt, so the
    # daily run reads one row per channel instead of a borrower's whole contact history.
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), primary_key=True),
    Column("channel", String(24), primary_key=True),
    Column("last_planned_on", Date, nullable=True),
    Column("last_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_success_at", DateTime(timezone=True), nullable=True),
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0")),
)

borrower_contact_facts = Table(
    "borrower_contact_facts",
    metadata,
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), primary_key=True),
    Column("last_rpc_at", DateTime(timezone=True), nullable=True),
    Column("failed_in_a_row", Integer, nullable=False, server_default=text("0")),
    Column("unreachable_since", DateTime(timezone=True), nullable=True),
    Column("refusals", Integer, nullable=False, server_default=text("0")),
    Column("promises_kept", Integer, nullable=False, server_default=text("0")),
    Column("promises_broken", Integer, nullable=False, server_default=text("0")),
)

contact_restrictions = Table(
    "contact_restrictions",
    metadata,
    # Cease, dispute, complaint, opt-out, do-not-contact, hardship, grace: each in force
    # from `started_at` until lifted; kept after lifting as the record of what was honoured.
    Column("restriction_id", String(96), primary_key=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("channel", String(24), nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("until_on", Date, nullable=True),
    Column("lifted_at", DateTime(timezone=True), nullable=True),
    Column("note", Text, nullable=True),
    Column("recorded_by", String(64), nullable=False),
)

contact_preferences = Table(
    "contact_preferences",
    metadata,
    # The borrower's own choices: channels they prefer (empty: no preference) and a time
    # they agreed to be called at, which `cn` lets fall inside the quiet window.
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), primary_key=True),
    Column("preferred_channels", String(64), nullable=False, server_default=text("''")),
    Column("agreed_from", String(5), nullable=True),
    Column("agreed_to", String(5), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

contact_points = Table(
    "contact_points",
    metadata,
    # Contactability of each of a borrower's contact points (their phone for SMS and calls,
    # email address, app push token): what the providers' answers and receipts showed.
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), primary_key=True),
    Column("channel", String(24), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("detail", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

promises = Table(
    "promises",
    metadata,
    # Promises to pay (domain/promises.py): pending until the payments that follow make them
    # kept, or the window passes and they are broken; `paid_minor` is what counted.
    Column("promise_id", String(64), primary_key=True),
    Column("case_id", String(64), ForeignKey("cases.case_id"), nullable=False),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("made_by", String(64), nullable=False),
    Column("attempt_id", String(96), nullable=True),
    Column("status", String(16), nullable=False),
    Column("settled_on", Date, nullable=True),
    Column("paid_minor", BigInteger, nullable=False, server_default=text("0")),
)
# The daily run settles the pending promises whose window has passed: a range scan on this.
Index("ix_promises_status_due_on", promises.c.status, promises.c.due_on)

# The tables of later areas live in their own modules on this same metadata; importing them
# here makes `metadata` whole for whoever imports this module (the migrations' comparison).
from fairdue.adapters.db import tables_plans, tables_visits, tables_web  # noqa: E402, F401
