"""The team queue's index on open cases: (dpd DESC, amount_due_minor DESC, case_id) WHERE
status = 'open'.

The queue lists open cases longest overdue first, then largest amount, then case id (after
the cases with a queued call, which `services.workbench.queue` reads on their own). Without
this index every request for a page of the supervisors' team queue sorted all open cases:
200-300 ms in PostgreSQL with 100,000 open cases, and 1.3-2.3 s p99 under 50 users
(docs/benchmarks.md, the web load test). With it the page is the first rows of an index
scan. Partial, so closed cases (most rows, in time) neither cost space nor slow the scan.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ix_cases_open_queue (partial: open cases only)."""
    op.create_index("ix_cases_open_queue", "cases",
                    [sa.text("dpd DESC"), sa.text("amount_due_minor DESC"), "case_id"],
                    postgresql_where=sa.text("status = 'open'"),
                    sqlite_where=sa.text("status = 'open'"))


def downgrade() -> None:
    """Drop ix_cases_open_queue."""
    op.drop_index("ix_cases_open_queue", table_name="cases")
