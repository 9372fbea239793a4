"""Batch bookkeeping for the importer's writes: the connection set for a bulk load.

Each batch of whole loans (or borrowers) is one transaction, committed before the next is
read, so a crash leaves no half-imported loan and a re-run skips what is there.
"""

from __future__ import annotations

from sqlalchemy import Connection

# Per connection, for the length of an import. WAL and synchronous=NORMAL are set for every
# SQLite connection already (adapters/db/engine.py): each commit is atomic and durable up to
# the last commits on a power cut, never corrupt, which is what "a crash loses at most the
# batch in flight" needs. On top of that, a bulk load wants a large page cache (the indexes of
# millions of rows), temporary B-trees in memory, and fewer, larger WAL checkpoints.
_SQLITE_BULK_PRAGMAS = (
    "PRAGMA cache_size=-65536",         # 64 MiB: rows arrive in key order, mostly appends
    "PRAGMA temp_store=MEMORY",
    "PRAGMA wal_autocheckpoint=20000",  # pages, about 80 MiB of WAL between checkpoints
)
_SQLITE_DEFAULT_PRAGMAS = (
    "PRAGMA cache_size=-2000",
    "PRAGMA temp_store=DEFAULT",
    "PRAGMA wal_autocheckpoint=1000",
)


def bulk_load(conn: Connection) -> None:
    """Set `conn` up for a batch of bulk inserts (SQLite only; PostgreSQL needs nothing)."""
    _pragmas(conn, _SQLITE_BULK_PRAGMAS)


def bulk_load_done(conn: Connection) -> None:
    """Give a pooled connection its ordinary settings back."""
    _pragmas(conn, _SQLITE_DEFAULT_PRAGMAS)


def _pragmas(conn: Connection, pragmas: tuple[str, ...]) -> None:
    if conn.dialect.name != "sqlite":
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for pragma in pragmas:
            cursor.execute(pragma)
    finally:
        cursor.close()
