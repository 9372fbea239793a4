"""Field agents, visits, appointments, credentials, verifications and visit records.

The tables; migration 0005 creates them. Coordinates are integer micro-degrees (exact and
portable, no float columns); the visit's place and the positions recorded at check-in and
check-out are sealed like a borrower's personal data (they are the borrower's home).
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
    String,
    Table,
    Text,
)

from fairdue.adapters.db.tables import ID, metadata

__all__ = [
    "field_agents",
    "metadata",
    "verification_alerts",
    "verification_attempts",
    "visit_credentials",
    "visit_evidence",
    "visit_record_amendments",
    "visit_records",
    "visit_slots",
    "visits",
]

TS = DateTime(timezone=True)

#: Visit statuses in which a visit is still open: at most one such visit per case.
OPEN_VISIT_STATUSES = ("proposed", "approved", "slots_offered", "booked", "in_progress")

field_agents = Table(
    "field_agents",
    metadata,
    # The work id (工作证 number) a borrower reads off the badge and types in to verify.
    Column("badge", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("team", String(64), nullable=False, index=True),
    # Cities the agent works in, "|"-separated, as the borrowers' `city` spells them.
    Column("cities", Text, nullable=False),
    Column("home_lat_e6", Integer, nullable=False),
    Column("home_lon_e6", Integer, nullable=False),
    Column("works_from", String(5), nullable=False),
    Column("works_to", String(5), nullable=False),
    Column("visits_per_day", Integer, nullable=False),
    Column("photo_path", String(512), nullable=True),
    Column("photo_sha256", String(64), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("added_at", TS, nullable=False),
    Column("added_by", String(64), nullable=False),
)

visits = Table(
    "visits",
    metadata,
    Column("visit_id", String(96), primary_key=True),
    Column("case_id", String(64), ForeignKey("cases.case_id"), nullable=False, index=True),
    Column("borrower_id", ID, ForeignKey("borrowers.borrower_id"), nullable=False, index=True),
    # The policy's proposal (a `visit` row of the contacts table) this visit came from.
    Column("contact_id", String(96), nullable=True, unique=True),
    Column("grounds", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("proposed_on", Date, nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", TS, nullable=True),
    Column("decision_note", Text, nullable=True),
    Column("team", String(64), nullable=True),
    # Badges of the collectors going, "|"-separated (cn: at least two, CN-06).
    Column("collectors", String(255), nullable=True),
    Column("slot_start", TS, nullable=True),
    Column("slot_end", TS, nullable=True),
    Column("booked_via", String(16), nullable=True),
    # Address and coordinates of the appointment, sealed with the PII key (aad: visit id).
    Column("place", LargeBinary, nullable=True),
    Column("cancelled_reason", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)
# One open visit per case, enforced by the database as well as the service.
Index(
    "uq_visits_open_case",
    visits.c.case_id,
    unique=True,
    sqlite_where=visits.c.status.in_(OPEN_VISIT_STATUSES),
    postgresql_where=visits.c.status.in_(OPEN_VISIT_STATUSES),
)
Index("ix_visits_status_slot_start", visits.c.status, visits.c.slot_start)

visit_slots = Table(
    "visit_slots",
    metadata,
    # Times offered to the borrower (S8); the one chosen is copied onto the visit.
    Column("visit_id", String(96), ForeignKey("visits.visit_id"), primary_key=True),
    Column("slot_no", Integer, primary_key=True),
    Column("starts_at", TS, nullable=False),
    Column("ends_at", TS, nullable=False),
    Column("offered_at", TS, nullable=False),
)

visit_credentials = Table(
    "visit_credentials",
    metadata,
    # A signed letter of authorisation (S9) per collector and visit.
    Column("credential_id", String(64), primary_key=True),
    Column("visit_id", String(96), ForeignKey("visits.visit_id"), nullable=False, index=True),
    Column("badge", String(32), ForeignKey("field_agents.badge"), nullable=False),
    # Keyed hash of badge and verification code: the code itself is not stored.
    Column("code_digest", String(64), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("signature", String(128), nullable=False),
    Column("valid_from", TS, nullable=False),
    Column("valid_to", TS, nullable=False),
    Column("issued_at", TS, nullable=False),
    Column("revoked_at", TS, nullable=True),
    Column("revoked_reason", Text, nullable=True),
)

verification_attempts = Table(
    "verification_attempts",
    metadata,
    # Every check a borrower made of a collector (S12), verified or not; no borrower data.
    Column("attempt_no", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("badge", String(64), nullable=False),
    Column("at", TS, nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("credential_id", String(64), nullable=True),
    Column("source", String(16), nullable=False),
)
Index("ix_verification_attempts_badge_at", verification_attempts.c.badge, verification_attempts.c.at)

verification_alerts = Table(
    "verification_alerts",
    metadata,
    # Repeated failed checks of one badge: possibly someone posing as a collector.
    Column("alert_id", String(96), primary_key=True),
    Column("badge", String(64), nullable=False, index=True),
    Column("raised_at", TS, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("window_from", TS, nullable=False),
    Column("status", String(16), nullable=False),
)

visit_records = Table(
    "visit_records",
    metadata,
    # What happened at the visit (S11): open from check-in until submitted, then frozen.
    Column("visit_id", String(96), ForeignKey("visits.visit_id"), primary_key=True),
    Column("checked_in_at", TS, nullable=False),
    Column("checked_in_by", String(64), nullable=False),
    Column("check_in_distance_m", Integer, nullable=True),
    Column("check_in_flagged", Boolean, nullable=False),
    Column("checked_out_at", TS, nullable=True),
    # Check-in and check-out positions, sealed (aad: visit id): the borrower's whereabouts.
    Column("positions", LargeBinary, nullable=False),
    Column("collectors", String(255), nullable=False),
    Column("reaction", String(24), nullable=True),
    Column("arrears_reason", Text, nullable=True),
    Column("solution", String(16), nullable=True),
    Column("follow_up_on", Date, nullable=True),
    Column("follow_up_plan", Text, nullable=True),
    Column("notes", Text, nullable=True),
    Column("submitted_at", TS, nullable=True),
    Column("submitted_by", String(64), nullable=True),
    Column("record_hash", String(64), nullable=True),
)

visit_record_amendments = Table(
    "visit_record_amendments",
    metadata,
    # A submitted record is never edited; corrections are added here, in order.
    Column("visit_id", String(96), ForeignKey("visits.visit_id"), primary_key=True),
    Column("amendment_no", Integer, primary_key=True),
    Column("amended_at", TS, nullable=False),
    Column("amended_by", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("changes", Text, nullable=False),
)

visit_evidence = Table(
    "visit_evidence",
    metadata,
    # Files kept by content (SHA-256) under the evidence folder; the hash is also audited.
    Column("visit_id", String(96), ForeignKey("visits.visit_id"), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("added_at", TS, nullable=False),
    Column("added_by", String(64), nullable=False),
)
