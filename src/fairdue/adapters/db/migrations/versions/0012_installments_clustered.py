"""Installments clustered on their key on SQLite (`WITHOUT ROWID`).

Every read and write of an installment goes by its key, (loan_id, seq): the daily run's
overdue query joins each loan to its installments, the penalty updates find each by key,
payments replay a loan's schedule. In an ordinary SQLite table each of those is two b-tree
searches, the key's index and then the row by rowid, and every insert writes both trees;
the importer writes about nine installments a loan. Stored `WITHOUT ROWID` the table is the
key's b-tree itself: one search, one tree. PostgreSQL keeps its heap and index as they are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Rebuild installments WITHOUT ROWID on SQLite."""
    _rebuild(clustered=True)


def downgrade() -> None:
    """Rebuild installments as an ordinary (rowid) table on SQLite."""
    _rebuild(clustered=False)


def _rebuild(*, clustered: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    ddl = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'installments'"
    ).scalar_one()
    body = ddl.strip()
    if body.upper().endswith("WITHOUT ROWID"):
        body = body[: -len("WITHOUT ROWID")].rstrip()
    head, sep, rest = body.partition("(")
    if not sep or "installments" not in head:
        raise RuntimeError(f"unexpected definition of installments: {ddl!r}")
    rebuilt = f"CREATE TABLE installments_rebuilt ({rest}" + (" WITHOUT ROWID" if clustered else "")
    # Same columns, same order: the rows copy as they are, in key order.
    op.execute(rebuilt)
    op.execute("INSERT INTO installments_rebuilt SELECT * FROM installments ORDER BY loan_id, seq")
    op.execute("DROP TABLE installments")
    op.execute("ALTER TABLE installments_rebuilt RENAME TO installments")
