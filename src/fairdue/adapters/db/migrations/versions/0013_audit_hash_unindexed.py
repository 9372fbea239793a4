"""The audit log without its unique index on `hash`.

Each entry's hash covers its own `seq` (the primary key), so no two entries can share one:
the index could never refuse anything. It only cost: a hash is a random key, so every
entry went to a random leaf of the index, and a daily run's commit rewrote one index page
for nearly every entry it audited (6,199 of the 87,614 pages a run with 100,586 open cases
changed, docs/benchmarks.md). Nothing looks an entry up by its hash; `audit verify` walks
the chain by `seq`.

On SQLite a constraint goes only with a rebuild of the table, and the append-only triggers
go with the old table: they are made again on the new one, before anything else can write.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONSTRAINT = "uq_audit_log_hash"
# As migration 0001 made them: an entry may be read, never changed or removed.
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)


def upgrade() -> None:
    """Drop the unique constraint on audit_log.hash."""
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(_CONSTRAINT, "audit_log", type_="unique")
        return
    with op.batch_alter_table("audit_log", recreate="always") as batch:
        batch.drop_constraint(_CONSTRAINT, type_="unique")
    _sqlite_triggers()


def downgrade() -> None:
    """Put the unique constraint back."""
    if op.get_bind().dialect.name != "sqlite":
        op.create_unique_constraint(_CONSTRAINT, "audit_log", ["hash"])
        return
    with op.batch_alter_table("audit_log", recreate="always") as batch:
        batch.create_unique_constraint(_CONSTRAINT, ["hash"])
    _sqlite_triggers()


def _sqlite_triggers() -> None:
    # The rebuilt table has none: the old table's went with it.
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)
