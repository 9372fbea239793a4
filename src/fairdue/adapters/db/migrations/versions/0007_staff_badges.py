"""A field agent's staff account linked to their badge; the case page's timeline indexed.

A user with the role field_agent signs in to see their own crew's route and to record the
visits they make; the pages find "their" visits through this badge (the collectors booked
for a visit hold its letters of authorisation). One account per badge.

The case page reads a case's decisions and contacts by case id; without an index each read
scanned the whole table (about 50 ms each with 100,000 open cases on PostgreSQL:
docs/benchmarks.md, the web load test).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add staff_users.badge (nullable, unique, referring to field_agents)."""
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("badge", sa.String(32), nullable=True))
        batch.create_foreign_key("fk_staff_users_badge_field_agents", "field_agents",
                                 ["badge"], ["badge"])
    op.create_index("ix_staff_users_badge", "staff_users", ["badge"], unique=True)
    op.create_index("ix_decisions_case_id", "decisions", ["case_id"])
    op.create_index("ix_contacts_case_id", "contacts", ["case_id"])


def downgrade() -> None:
    """Drop staff_users.badge and the timeline's indexes."""
    op.drop_index("ix_contacts_case_id", table_name="contacts")
    op.drop_index("ix_decisions_case_id", table_name="decisions")
    op.drop_index("ix_staff_users_badge", table_name="staff_users")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_constraint("fk_staff_users_badge_field_agents", type_="foreignkey")
        batch.drop_column("badge")
