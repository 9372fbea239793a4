"""Staff users, sessions, borrower one-time codes, case assignments and complaints.

The tables of the web application (issue 6); migrations 0006, 0007 and 0008 create exactly these. No
secret is stored in a form that signs anyone in: passwords as argon2 hashes, session and
API tokens as SHA-256 of a 256-bit random token, one-time codes as a keyed hash.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)

from fairdue.adapters.db.tables import ID, cases, contacts, decisions, metadata

__all__ = ["borrower_login_codes", "case_assignments", "complaints", "metadata", "staff_users",
           "web_sessions"]

staff_users = Table(
    "staff_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("active", Boolean, nullable=False),
    # Wrong passwords in a row, and until when the account refuses every password after
    # too many (a guessing attack is slowed to a few tries per lock period).
    Column("failed_logins", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # A field agent's badge (migration 0007): their visits are those whose crew holds it.
    Column("badge", String(32), ForeignKey("field_agents.badge"), nullable=True),
)
Index("ix_staff_users_badge", staff_users.c.badge, unique=True)

web_sessions = Table(
    "web_sessions",
    metadata,
    # sha256 of the token the browser (cookie) or the API client (bearer) holds: a copy of
    # this table signs no one in.
    Column("token_hash", String(64), primary_key=True),
    # "staff" (principal_id: a username) or "borrower" (a borrower id).
    Column("principal_kind", String(16), nullable=False),
    Column("principal_id", String(64), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("transport", String(8), nullable=False),   # cookie or bearer
    # The per-session CSRF token every form of this session must echo.
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

borrower_login_codes = Table(
    "borrower_login_codes",
    metadata,
    Column("code_id", String(40), primary_key=True),
    # Blind index of the phone number asked for; rows exist for unknown numbers too, so
    # the rate limit and the answer are the same whether the number is a borrower's or not.
    Column("phone_index", String(64), nullable=False),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=True),
    # Keyed hash of the code (null when no code was sent: unknown number).
    Column("code_hash", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("locked_at", DateTime(timezone=True), nullable=True),
    Column("send_status", String(16), nullable=False),
    # The code sealed (AES-GCM, bound to the code id) for the outbox's SMS alone (migration
    # 0009); erased once the code is used or locked. Checking a code reads only the hash.
    Column("code_sealed", LargeBinary, nullable=True),
)
Index("ix_borrower_login_codes_phone_created", borrower_login_codes.c.phone_index,
      borrower_login_codes.c.created_at)

case_assignments = Table(
    "case_assignments",
    metadata,
    # Which agent works a case: a supervisor assigns; one agent per case.
    Column("case_id", String(64), ForeignKey("cases.case_id"), primary_key=True),
    Column("username", String(64), ForeignKey("staff_users.username"), nullable=False, index=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("assigned_by", String(64), nullable=False),
)

complaints = Table(
    "complaints",
    metadata,
    Column("complaint_id", String(40), primary_key=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False, index=True),
    Column("case_id", String(64), nullable=True),
    Column("kind", String(16), nullable=False),       # complaint or dispute
    Column("status", String(16), nullable=False),     # open, answered
    Column("text", Text, nullable=False),
    # The contact restriction the filing put in force (collection paused).
    Column("restriction_id", String(96), nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Column("answered_by", String(64), nullable=True),
    Column("answer", Text, nullable=True),
)
Index("ix_complaints_status_filed_at", complaints.c.status, complaints.c.filed_at)

# Indexes the pages need on earlier tables (migration 0007): the case page's timeline reads
# a case's decisions and contacts by case id, which scanned both tables without them.
Index("ix_decisions_case_id", decisions.c.case_id)
Index("ix_contacts_case_id", contacts.c.case_id)

# The queue's order over open cases (migration 0008): longest overdue, then largest amount,
# then case id, so a page of the team queue is the first rows of an index scan instead of a
# sort of every open case (200-300 ms with 100,000 open cases). Partial: open cases only.
Index("ix_cases_open_queue", cases.c.dpd.desc(), cases.c.amount_due_minor.desc(), cases.c.case_id,
      sqlite_where=cases.c.status == "open", postgresql_where=cases.c.status == "open")
