"""The audit log: a hash chain that verifies, reports the first tampered entry, and
cannot be changed through ordinary SQL while its triggers are in place."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError

from fairdue.adapters import audit
from fairdue.adapters.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditVerification,
    append_audit,
    append_audit_many,
    verify_audit,
)
from fairdue.adapters.db.tables import audit_log
from fairdue.errors import InvalidInput

START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _append(conn: Connection, n: int, *, first: int = 1) -> None:
    for i in range(first, first + n):
        append_audit(
            conn,
            at=START + timedelta(minutes=i, microseconds=i),
            actor=f"agent-{i % 3}",
            action="pii.read",
            subject=f"B{i:04d}",
            details={"fields": ["phone", "name"], "reason": "call", "n": i, "名": "张"},
        )


def _drop_trigger(conn: Connection, name: str) -> None:
    suffix = " ON audit_log" if conn.dialect.name == "postgresql" else ""
    conn.execute(text(f"DROP TRIGGER {name}{suffix}"))


def _verify(engine: Engine) -> AuditVerification:
    with engine.connect() as conn:
        return verify_audit(conn)


def test_a_chain_of_entries_verifies(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 25)

    assert _verify(engine) == AuditVerification(ok=True, entries_checked=25)


def test_an_empty_log_verifies(engine: Engine) -> None:
    assert _verify(engine) == AuditVerification(ok=True, entries_checked=0)


def test_the_hash_is_sha256_of_the_documented_canonical_json(engine: Engine) -> None:
    at = datetime(2025, 3, 1, 17, 30, 5, 120, tzinfo=timezone(timedelta(hours=8)))
    with engine.begin() as conn:
        seq = append_audit(
            conn, at=at, actor="agent-7", action="pii.read", subject="B1", details={"b": 1, "a": "é"}
        )
        row = conn.execute(select(audit_log)).one()

    document = {
        "seq": 1,
        "at": "2025-03-01T09:30:05.000120Z",
        "actor": "agent-7",
        "action": "pii.read",
        "subject": "B1",
        "details": {"a": "é", "b": 1},
        "prev_hash": GENESIS_HASH,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert seq == 1
    assert row.prev_hash == GENESIS_HASH
    assert row.details == '{"a":"é","b":1}'
    assert row.hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_each_entry_links_to_the_previous_one(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 3)
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()

    assert [r.seq for r in rows] == [1, 2, 3]
    assert [r.prev_hash for r in rows] == [GENESIS_HASH, rows[0].hash, rows[1].hash]


def test_the_triggers_refuse_update_and_delete(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 3)

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))

    assert _verify(engine) == AuditVerification(ok=True, entries_checked=3)


def test_truncate_is_refused_on_postgresql(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 1)
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            return  # SQLite has no TRUNCATE; DELETE is covered above.
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_verify_reports_the_first_altered_entry(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 10)
    with engine.begin() as conn:
        _drop_trigger(conn, "audit_log_no_update")
        conn.execute(text("UPDATE audit_log SET details = :d WHERE seq = 7"), {"d": '{"n":999}'})
        conn.execute(text("UPDATE audit_log SET actor = 'ghost' WHERE seq = 9"))

    result = _verify(engine)

    assert (result.ok, result.first_bad_seq, result.entries_checked) == (False, 7, 7)
    assert result.problem == "entry 7 was altered: its content no longer matches its hash"


def test_an_altered_entry_with_a_recomputed_hash_breaks_the_next_link(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 6)
    with engine.begin() as conn:
        _drop_trigger(conn, "audit_log_no_update")
        conn.execute(
            text("UPDATE audit_log SET hash = :forged WHERE seq = 4"), {"forged": "ab" * 32}
        )

    result = _verify(engine)

    # Entry 4's own hash no longer matches; the chain reports it first.
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert result.problem is not None and "altered" in result.problem


def test_a_relinked_entry_is_reported_as_a_broken_link(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 6)
    with engine.begin() as conn:
        _drop_trigger(conn, "audit_log_no_update")
        conn.execute(
            text("UPDATE audit_log SET prev_hash = :other WHERE seq = 5"), {"other": "cd" * 32}
        )

    result = _verify(engine)

    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert result.problem is not None and "does not link to entry 4" in result.problem


def test_a_deleted_middle_entry_is_reported_missing(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 8)
    with engine.begin() as conn:
        _drop_trigger(conn, "audit_log_no_delete")
        conn.execute(text("DELETE FROM audit_log WHERE seq IN (5, 6)"))

    result = _verify(engine)

    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert result.problem == "entries 5 to 6 are missing (next entry is 7)"


def test_batch_append_continues_the_chain(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 3)
    batch = [
        AuditEntry(at=START + timedelta(hours=i), actor="importer", action="loan.import",
                   subject=f"L{i}", details={"row": i})
        for i in range(5)
    ]  # fmt: skip
    with engine.begin() as conn:
        append_audit_many(conn, batch)
        append_audit_many(conn, [])
        _append(conn, 2, first=100)

    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
    assert [r.seq for r in rows] == list(range(1, 11))
    assert rows[3].prev_hash == rows[2].hash
    assert [r.subject for r in rows[3:8]] == ["L0", "L1", "L2", "L3", "L4"]
    assert _verify(engine) == AuditVerification(ok=True, entries_checked=10)


def test_verify_streams_in_chunks(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "_VERIFY_CHUNK", 4)
    with engine.begin() as conn:
        _append(conn, 19)
    with engine.begin() as conn:
        _drop_trigger(conn, "audit_log_no_update")
        conn.execute(text("UPDATE audit_log SET subject = 'X' WHERE seq = 14"))

    result = _verify(engine)

    assert (result.first_bad_seq, result.entries_checked) == (14, 14)


def test_an_append_rolled_back_leaves_no_trace(engine: Engine) -> None:
    with engine.begin() as conn:
        _append(conn, 2)
    with engine.connect() as conn:
        _append(conn, 1, first=3)
        conn.rollback()
    with engine.begin() as conn:
        assert append_audit(
            conn, at=START, actor="a", action="b", subject="c", details={}
        ) == 3

    assert _verify(engine).ok


def test_concurrent_appends_serialise_into_one_chain(engine: Engine) -> None:
    workers, per_worker = 4, 8
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_worker):
                with engine.begin() as conn:
                    _append(conn, 1, first=worker * 100 + i)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert _verify(engine) == AuditVerification(ok=True, entries_checked=workers * per_worker)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"at": datetime(2025, 3, 1, 9, 30)}, "no time zone"),
        ({"actor": ""}, "actor must be 1 to 64"),
        ({"subject": "s" * 65}, "subject must be 1 to 64"),
        ({"details": {"amount": float("nan")}}, "must be JSON"),
        ({"details": {"when": datetime(2025, 1, 1)}}, "must be JSON"),
    ],
)
def test_invalid_entries_are_refused(
    engine: Engine, changes: dict[str, object], problem: str
) -> None:
    entry: dict[str, object] = {
        "at": START,
        "actor": "agent",
        "action": "pii.read",
        "subject": "B1",
        "details": {},
    }
    entry.update(changes)
    with pytest.raises(InvalidInput, match=problem), engine.begin() as conn:
        append_audit(conn, **entry)  # type: ignore[arg-type]
