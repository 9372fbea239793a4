"""The migrations create exactly tables.py, on SQLite and PostgreSQL, and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, insert, inspect, text
from sqlalchemy.exc import IntegrityError

from fairdue.adapters.audit import append_audit, verify_audit
from fairdue.adapters.db.engine import make_engine, redact
from fairdue.adapters.db.migrate import (
    alembic_config,
    current_revision,
    ensure_current,
    head_revision,
    upgrade,
)
from fairdue.adapters.db.tables import borrowers, cases, metadata
from fairdue.errors import ConfigurationError, DatabaseBehind

if TYPE_CHECKING:
    from conftest import PostgresStatus

# Migrations are the subject: every database here starts empty.
pytestmark = pytest.mark.empty_database


@pytest.fixture
def empty_engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_from_empty_creates_exactly_the_schema(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None

    assert upgrade(empty_engine) == (None, head_revision())

    assert current_revision(empty_engine) == head_revision()
    assert _tables(empty_engine) == set(metadata.tables) | {"alembic_version"}
    assert _differences(empty_engine) == []


def test_alembic_version_lives_with_the_tables_in_the_configured_schema(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert "alembic_version" in _tables(engine)
            return
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        homes = conn.execute(
            text(
                "SELECT table_name, table_schema FROM information_schema.tables "
                "WHERE table_name IN ('alembic_version', 'audit_log') "
                "AND table_schema IN (:schema, 'public')"
            ),
            {"schema": schema},
        ).all()
    assert schema is not None and schema.startswith("fd_")
    assert sorted(homes) == [("alembic_version", schema), ("audit_log", schema)]


def test_one_open_case_per_borrower_is_enforced_by_the_partial_index(engine: Engine) -> None:
    borrower = {
        "borrower_id": "B1",
        "pii": b"sealed",
        "phone_index": None,
        "city": "Beijing",
        "timezone": "Asia/Shanghai",
        "language": "zh",
        "has_email": False,
        "has_app": True,
        "shard": 1,
        "row_hash": "0" * 64,
    }

    def case(case_id: str, status: str) -> dict[str, object]:
        return {
            "case_id": case_id,
            "borrower_id": "B1",
            "currency": "CNY",
            "status": status,
            "opened_on": date(2025, 1, 1),
            "closed_on": None,
            "dpd": 3,
            "bucket": "M1",
            "amount_due_minor": 100,
            "overdue_loans": 1,
        }

    with engine.begin() as conn:
        conn.execute(insert(borrowers), [borrower])
        conn.execute(insert(cases), [case("C1", "closed"), case("C2", "closed"), case("C3", "open")])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(cases), [case("C4", "open")])


def test_server_defaults_apply(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO import_batches (file_name, file_sha256, started_at) "
                "VALUES ('a.csv', :sha, CURRENT_TIMESTAMP)"
            ),
            {"sha": "f" * 64},
        )
        row = conn.execute(text("SELECT rows_read, rows_rejected FROM import_batches")).one()
    assert tuple(row) == (0, 0)


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO fairness_attributes (borrower_id, gender) VALUES ('nobody', 'f')"
            )
        )


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    before = _tables(engine)

    assert upgrade(engine) == (head_revision(), head_revision())

    assert _tables(engine) == before
    assert _differences(engine) == []


def test_ensure_current_refuses_an_empty_database_and_says_how_to_fix_it(
    empty_engine: Engine, db_url: str
) -> None:
    with pytest.raises(DatabaseBehind) as caught:
        ensure_current(empty_engine, db_url)

    message = str(caught.value)
    assert "has no fairdue schema" in message
    assert f"expects revision {head_revision()}" in message
    assert "fairdue init --db " in message
    assert redact(db_url) in message


def test_ensure_current_hides_the_password_in_the_command_to_run(engine: Engine) -> None:
    with engine.begin() as conn:
        # Tables present but no revision recorded: fairdue cannot tell what they are.
        conn.execute(text("DELETE FROM alembic_version"))
    with pytest.raises(DatabaseBehind) as caught:
        ensure_current(engine, "postgresql://fd:s3cret@db.example:5432/fairdue?schema=t1")

    message = str(caught.value)
    assert "s3cret" not in message
    assert "fairdue init --db 'postgresql://fd:***@db.example:5432/fairdue?schema=t1'" in message


def test_ensure_current_rejects_a_revision_from_a_newer_fairdue(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ConfigurationError, match="upgrade fairdue"):
        ensure_current(engine, "sqlite:///x.db")


def test_ensure_current_passes_when_at_head(engine: Engine, db_url: str) -> None:
    assert current_revision(engine) == head_revision()
    assert ensure_current(engine, db_url) is None


def test_downgrade_to_base_leaves_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")

    assert _tables(engine) - {"alembic_version"} == set()
    assert current_revision(engine) is None
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            leftovers = conn.execute(
                text(
                    "SELECT name FROM sqlite_master "
                    "WHERE type IN ('trigger', 'index') AND tbl_name != 'alembic_version'"
                )
            ).all()
        else:
            leftovers = conn.execute(
                text(
                    "SELECT proname FROM pg_proc "
                    "WHERE pronamespace = current_schema()::regnamespace"
                )
            ).all()
    assert leftovers == []


def test_make_engine_configures_every_sqlite_connection(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'new' / 'folder' / 'fd.db'}")
    try:
        with eng.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")
            }
    finally:
        eng.dispose()
    assert pragmas == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "busy_timeout": 30000,
    }
    assert (tmp_path / "new" / "folder" / "fd.db").exists()


def test_make_engine_uses_psycopg_3_and_takes_the_schema_from_the_url() -> None:
    for url in ("postgresql://u@h/db?schema=tenant_1", "postgres://u@h/db?schema=tenant_1"):
        eng = make_engine(url)
        assert eng.url.drivername == "postgresql+psycopg"
        assert "schema" not in eng.url.query
        eng.dispose()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite://", "names no database file"),
        ("sqlite:///x.db?schema=a", "PostgreSQL only"),
        ("mysql://u@h/db", "unsupported database URL"),
        ("postgresql+psycopg2://u@h/db", "psycopg 3"),
        ("postgresql://u@h/db?schema=a;drop", "invalid PostgreSQL schema name"),
        ("not a url", "cannot read database URL"),
    ],
)
def test_make_engine_rejects_what_it_cannot_serve(url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        make_engine(url)


def test_make_engine_rejects_two_different_schemas() -> None:
    with pytest.raises(ConfigurationError, match="use one"):
        make_engine("postgresql://u@h/db?schema=a", schema="b")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://fd:s3cret@h:5432/db", "postgresql://fd:***@h:5432/db"),
        ("postgresql://fd@h/db?password=s3cret", "postgresql://fd@h/db?password=***"),
        ("sqlite:///var/fairdue.db", "sqlite:///var/fairdue.db"),
        ("garbage://fd:s3cret@h", "garbage://fd:***@h"),
    ],
)
def test_redact_hides_passwords(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.postgres
def test_upgrade_creates_a_missing_postgresql_schema(postgres_status: PostgresStatus) -> None:
    base = postgres_status.require()
    schema = f"fd_{uuid.uuid4().hex}"
    eng = make_engine(base, schema=schema)
    try:
        assert current_revision(eng) is None
        assert upgrade(eng) == (None, head_revision())
        assert _differences(eng) == []
    finally:
        with eng.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()


def test_installments_keep_every_row_when_clustered_on_their_key(empty_engine: Engine) -> None:
    """Migration 0012 rebuilds installments `WITHOUT ROWID` on SQLite (PostgreSQL: no
    change): the rows, the key and the foreign key to loans are as they were."""
    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0011")
        conn.execute(insert(borrowers).values(
            borrower_id="B1", pii=b"x", city="北京", timezone="Asia/Shanghai", language="zh-CN",
            has_email=False, has_app=False, shard=1, row_hash="h" * 64))
        conn.execute(text(
            "INSERT INTO loans (loan_id, borrower_id, shard, product, currency, principal_minor,"
            " annual_rate, disbursed_on, penalty_daily_rate, allocation_order, row_hash) VALUES"
            " ('L1', 'B1', 1, 'p', 'CNY', 100000, '0.2', '2026-01-01', '0.0005', 'penalty',"
            " :h)"), {"h": "h" * 64})
        for seq, penalty in ((2, 7), (1, 0), (3, 0)):
            conn.execute(text(
                "INSERT INTO installments (loan_id, seq, due_on, principal_minor,"
                " interest_minor, fee_minor, penalty_minor) VALUES"
                " ('L1', :seq, :due, 33333, 500, 0, :penalty)"),
                {"seq": seq, "due": date(2026, seq + 1, 1), "penalty": penalty})
        before = conn.execute(text("SELECT * FROM installments ORDER BY seq")).all()

    assert upgrade(empty_engine) == ("0011", head_revision())

    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM installments ORDER BY seq")).all() == before
        if conn.dialect.name == "sqlite":
            ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'installments'"
                                    )).scalar_one()
            assert ddl.rstrip().endswith("WITHOUT ROWID")
            with pytest.raises(Exception, match="rowid"):
                conn.execute(text("SELECT rowid FROM installments")).all()
    assert _differences(empty_engine) == []
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO installments (loan_id, seq, due_on, principal_minor,"
                          " interest_minor, fee_minor) VALUES ('L9', 1, '2026-02-01', 1, 0, 0)"))
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO installments (loan_id, seq, due_on, principal_minor,"
                          " interest_minor, fee_minor) VALUES ('L1', 1, '2026-02-01', 1, 0, 0)"))


def test_the_audit_log_keeps_its_entries_and_stays_append_only_without_the_hash_index(
    empty_engine: Engine,
) -> None:
    """Migration 0013 drops the unique index on audit_log.hash (a rebuild of the table on
    SQLite): the entries are as they were, the chain verifies, and an entry still cannot be
    changed or removed."""
    at = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0012")
        for n in range(3):
            append_audit(conn, at=at, actor="system", action="Tested", subject=f"S{n}",
                         details={"n": n})
        before = conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).all()
        assert _hash_is_unique(conn)

    assert upgrade(empty_engine) == ("0012", head_revision())

    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).all() == before
        assert verify_audit(conn).ok
        assert not _hash_is_unique(conn)
    assert _differences(empty_engine) == []
    for statement in ("UPDATE audit_log SET actor = 'someone' WHERE seq = 2",
                      "DELETE FROM audit_log WHERE seq = 3"):
        with pytest.raises(Exception, match="append-only"), empty_engine.begin() as conn:
            conn.execute(text(statement))
    with empty_engine.begin() as conn:  # and the chain goes on from where it was
        append_audit(conn, at=at, actor="system", action="Tested", subject="S3", details={})
        assert verify_audit(conn).ok
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 4


def _hash_is_unique(conn: Connection) -> bool:
    found = inspect(conn)
    return any(c["column_names"] == ["hash"] for c in found.get_unique_constraints("audit_log")
               ) or any(i["unique"] and i["column_names"] == ["hash"]
                        for i in found.get_indexes("audit_log"))
