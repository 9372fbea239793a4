"""Field agents, visits, appointments, credentials, verifications and visit records.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(40)
TS = sa.DateTime(timezone=True)
VISIT_ID = sa.String(96)
_OPEN = "status IN ('proposed', 'approved', 'slots_offered', 'booked', 'in_progress')"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    """Add the tables of this revision."""
    op.create_table(
        "field_agents",
        sa.Column("badge", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("cities", sa.Text(), nullable=False),
        sa.Column("home_lat_e6", sa.Integer(), nullable=False),
        sa.Column("home_lon_e6", sa.Integer(), nullable=False),
        sa.Column("works_from", sa.String(5), nullable=False),
        sa.Column("works_to", sa.String(5), nullable=False),
        sa.Column("visits_per_day", sa.Integer(), nullable=False),
        sa.Column("photo_path", sa.String(512), nullable=True),
        sa.Column("photo_sha256", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("badge", name="pk_field_agents"),
    )
    op.create_index("ix_field_agents_team", "field_agents", ["team"])

    op.create_table(
        "visits",
        sa.Column("visit_id", VISIT_ID, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", ID, nullable=False),
        sa.Column("contact_id", sa.String(96), nullable=True),
        sa.Column("grounds", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("collectors", sa.String(255), nullable=True),
        sa.Column("slot_start", TS, nullable=True),
        sa.Column("slot_end", TS, nullable=True),
        sa.Column("booked_via", sa.String(16), nullable=True),
        sa.Column("place", sa.LargeBinary(), nullable=True),
        sa.Column("cancelled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("visit_id", name="pk_visits"),
        sa.UniqueConstraint("contact_id", name="uq_visits_contact_id"),
        _fk("visits", "case_id", "cases.case_id"),
        _fk("visits", "borrower_id", "borrowers.borrower_id"),
    )
    op.create_index("ix_visits_case_id", "visits", ["case_id"])
    op.create_index("ix_visits_borrower_id", "visits", ["borrower_id"])
    op.create_index("uq_visits_open_case", "visits", ["case_id"], unique=True,
                    sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN))
    op.create_index("ix_visits_status_slot_start", "visits", ["status", "slot_start"])

    op.create_table(
        "visit_slots",
        sa.Column("visit_id", VISIT_ID, nullable=False),
        sa.Column("slot_no", sa.Integer(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("offered_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("visit_id", "slot_no", name="pk_visit_slots"),
        _fk("visit_slots", "visit_id", "visits.visit_id"),
    )

    op.create_table(
        "visit_credentials",
        sa.Column("credential_id", sa.String(64), nullable=False),
        sa.Column("visit_id", VISIT_ID, nullable=False),
        sa.Column("badge", sa.String(32), nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_to", TS, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("credential_id", name="pk_visit_credentials"),
        _fk("visit_credentials", "visit_id", "visits.visit_id"),
        _fk("visit_credentials", "badge", "field_agents.badge"),
    )
    op.create_index("ix_visit_credentials_visit_id", "visit_credentials", ["visit_id"])
    op.create_index("ix_visit_credentials_code_digest", "visit_credentials", ["code_digest"])

    op.create_table(
        "verification_attempts",
        sa.Column("attempt_no", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False, autoincrement=True),
        sa.Column("badge", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("credential_id", sa.String(64), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("attempt_no", name="pk_verification_attempts"),
    )
    op.create_index("ix_verification_attempts_badge_at", "verification_attempts", ["badge", "at"])

    op.create_table(
        "verification_alerts",
        sa.Column("alert_id", sa.String(96), nullable=False),
        sa.Column("badge", sa.String(64), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_from", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name="pk_verification_alerts"),
    )
    op.create_index("ix_verification_alerts_badge", "verification_alerts", ["badge"])

    op.create_table(
        "visit_records",
        sa.Column("visit_id", VISIT_ID, nullable=False),
        sa.Column("checked_in_at", TS, nullable=False),
        sa.Column("checked_in_by", sa.String(64), nullable=False),
        sa.Column("check_in_distance_m", sa.Integer(), nullable=True),
        sa.Column("check_in_flagged", sa.Boolean(), nullable=False),
        sa.Column("checked_out_at", TS, nullable=True),
        sa.Column("positions", sa.LargeBinary(), nullable=False),
        sa.Column("collectors", sa.String(255), nullable=False),
        sa.Column("reaction", sa.String(24), nullable=True),
        sa.Column("arrears_reason", sa.Text(), nullable=True),
        sa.Column("solution", sa.String(16), nullable=True),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("follow_up_plan", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("submitted_at", TS, nullable=True),
        sa.Column("submitted_by", sa.String(64), nullable=True),
        sa.Column("record_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("visit_id", name="pk_visit_records"),
        _fk("visit_records", "visit_id", "visits.visit_id"),
    )

    op.create_table(
        "visit_record_amendments",
        sa.Column("visit_id", VISIT_ID, nullable=False),
        sa.Column("amendment_no", sa.Integer(), nullable=False),
        sa.Column("amended_at", TS, nullable=False),
        sa.Column("amended_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("visit_id", "amendment_no", name="pk_visit_record_amendments"),
        _fk("visit_record_amendments", "visit_id", "visits.visit_id"),
    )

    op.create_table(
        "visit_evidence",
        sa.Column("visit_id", VISIT_ID, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("visit_id", "sha256", name="pk_visit_evidence"),
        _fk("visit_evidence", "visit_id", "visits.visit_id"),
    )


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_table("visit_evidence")
    op.drop_table("visit_record_amendments")
    op.drop_table("visit_records")
    op.drop_index("ix_verification_alerts_badge", table_name="verification_alerts")
    op.drop_table("verification_alerts")
    op.drop_index("ix_verification_attempts_badge_at", table_name="verification_attempts")
    op.drop_table("verification_attempts")
    op.drop_index("ix_visit_credentials_code_digest", table_name="visit_credentials")
    op.drop_index("ix_visit_credentials_visit_id", table_name="visit_credentials")
    op.drop_table("visit_credentials")
    op.drop_table("visit_slots")
    op.drop_index("ix_visits_status_slot_start", table_name="visits")
    op.drop_index("uq_visits_open_case", table_name="visits")
    op.drop_index("ix_visits_borrower_id", table_name="visits")
    op.drop_index("ix_visits_case_id", table_name="visits")
    op.drop_table("visits")
    op.drop_index("ix_field_agents_team", table_name="field_agents")
    op.drop_table("field_agents")
