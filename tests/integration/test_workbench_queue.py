"""The queue's order: a queued call first (highest priority first), then the longest
overdue, the largest amount, the case id; only open cases; pages that join up.

`services.workbench.queue` reads the cases with a queued call and the others in two
queries (the second from the partial index of migration 0008); these tests hold it to the
order of the rule, computed here from the rows, for every page of every agent's queue and of
the team's, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update

from fairdue.adapters.db.tables import borrowers, cases, contacts, promises
from fairdue.adapters.db.tables_web import case_assignments, staff_users
from fairdue.services.workbench import queue

NOW = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)

#: case number: (status, dpd, amount due in minor units)
CASES: dict[int, tuple[str, int, int]] = {
    1: ("open", 5, 10_000),
    2: ("open", 30, 5_000),
    3: ("open", 30, 5_000),       # ties with 2 on DPD and amount: the case id decides
    4: ("open", 30, 9_000),
    5: ("open", 1, 100),
    6: ("open", 90, 1_000),
    7: ("closed", 120, 99_000),   # closed: never listed, even with a queued call
    8: ("open", 5, 10_000),       # ties with 1
    9: ("open", 60, 50),
    10: ("open", 2, 700),
    11: ("open", 15, 3_000),
    12: ("open", 45, 2_500),
}
#: (case number, channel, status, priority): only queued calls count, by their highest priority.
CONTACTS = [
    (5, "call", "queued", 10),
    (5, "call", "queued", 40),      # the case's highest: 40
    (10, "call", "queued", 40),     # ties with 5 on priority: DPD decides (5 is 1 DPD, 10 is 2)
    (11, "call", "queued", 70),
    (7, "call", "queued", 99),      # closed case
    (6, "sms", "queued", 90),       # a message, not a call
    (9, "call", "sent", 90),        # a call already made
    (12, "call", "blocked", 90),    # a call the guard refused
]
OWNERS = {1: "ann", 2: "ann", 5: "ann", 6: "bob", 8: "ann", 9: "bob", 10: "bob", 11: "ann",
          12: "ann", 7: "ann"}   # 3 and 4 are unassigned
PROMISED = {2: date(2026, 7, 5), 11: date(2026, 7, 3)}


def _case_id(n: int) -> str:
    return f"C-B{n:08d}-20260601"


def _fill(engine: Engine) -> None:
    with engine.begin() as conn:
        for username in ("ann", "bob"):
            conn.execute(insert(staff_users).values(
                username=username, role="agent", password_hash="x", active=True,
                created_at=NOW, updated_at=NOW))
        for n, (status, dpd, amount) in CASES.items():
            conn.execute(insert(borrowers).values(
                borrower_id=f"B{n:08d}", pii=b"sealed", city="Beijing", timezone="Asia/Shanghai",
                language="zh-CN", has_email=False, has_app=False, shard=0, row_hash="0" * 64))
            conn.execute(insert(cases).values(
                case_id=_case_id(n), borrower_id=f"B{n:08d}", currency="CNY", status=status,
                opened_on=date(2026, 6, 1), closed_on=None, dpd=dpd, bucket="M1",
                amount_due_minor=amount, overdue_loans=1))
        for k, (n, channel, status, priority) in enumerate(CONTACTS):
            conn.execute(insert(contacts).values(
                contact_id=f"K{k}", case_id=_case_id(n), borrower_id=f"B{n:08d}",
                channel=channel, language="zh-CN", priority=priority, status=status,
                idempotency_key=f"{k:064d}", created_at=NOW, updated_at=NOW))
        for n, username in OWNERS.items():
            conn.execute(insert(case_assignments).values(
                case_id=_case_id(n), username=username, assigned_at=NOW, assigned_by="sue"))
        for k, (n, due) in enumerate(PROMISED.items()):
            conn.execute(insert(promises).values(
                promise_id=f"P{k}", case_id=_case_id(n), borrower_id=f"B{n:08d}",
                amount_minor=100, currency="CNY", due_on=due, made_at=NOW, made_by="ann",
                status="pending"))
        # A kept promise is not a promise due.
        conn.execute(insert(promises).values(
            promise_id="P-kept", case_id=_case_id(1), borrower_id="B00000001", amount_minor=100,
            currency="CNY", due_on=date(2026, 7, 2), made_at=NOW, made_by="ann", status="kept"))


def _expected(username: str | None) -> list[tuple[str, int | None]]:
    """The rule, from the fixture's rows: (case id, priority of its queued call)."""
    calls: dict[int, int] = {}
    for n, channel, status, priority in CONTACTS:
        if channel == "call" and status == "queued":
            calls[n] = max(priority, calls.get(n, priority))
    chosen = [n for n, (status, _, _) in CASES.items()
              if status == "open" and (username is None or OWNERS.get(n) == username)]
    chosen.sort(key=lambda n: (n not in calls, -calls.get(n, 0), -CASES[n][1], -CASES[n][2],
                               _case_id(n)))
    return [(_case_id(n), calls.get(n)) for n in chosen]


@pytest.fixture
def filled(engine: Engine) -> Engine:
    _fill(engine)
    return engine


def test_the_order_is_call_priority_then_dpd_then_amount_then_case_id(filled: Engine) -> None:
    with filled.connect() as conn:
        team = queue(conn)
    assert [(r["case_id"], r["call_priority"]) for r in team] == _expected(None)
    # Spelled out once, so the rule above cannot drift with the code it checks.
    assert [r["case_id"] for r in team] == [_case_id(n) for n in
                                            (11, 10, 5, 6, 9, 12, 4, 2, 3, 1, 8)]
    by_case = {r["case_id"]: r for r in team}
    assert [r["call_queued"] for r in team] == [True] * 3 + [False] * 8
    assert by_case[_case_id(2)]["promise_due"] == date(2026, 7, 5)
    assert by_case[_case_id(1)]["promise_due"] is None
    assert by_case[_case_id(3)]["assigned_to"] is None
    assert by_case[_case_id(6)]["assigned_to"] == "bob"
    assert by_case[_case_id(4)]["amount_due"] == "90.00"


@pytest.mark.parametrize("username", [None, "ann", "bob"])
def test_every_page_is_a_slice_of_the_whole_order(filled: Engine, username: str | None) -> None:
    whole = _expected(username)
    with filled.connect() as conn:
        mine = queue(conn, username=username)
        assert [(r["case_id"], r["call_priority"]) for r in mine] == whole
        assert all(r["assigned_to"] == username for r in mine) or username is None
        for limit in range(1, len(whole) + 2):
            for after in range(len(whole) + 2):
                page = queue(conn, username=username, limit=limit, after=after)
                assert [(r["case_id"], r["call_priority"]) for r in page] == \
                    whole[after:after + limit], (limit, after)


def test_a_call_queued_or_made_moves_the_case(filled: Engine) -> None:
    def order() -> list[str]:
        with filled.connect() as conn:
            return [r["case_id"] for r in queue(conn, limit=3)]

    assert order()[:3] == [_case_id(11), _case_id(10), _case_id(5)]
    with filled.begin() as conn:
        conn.execute(insert(contacts).values(
            contact_id="K-new", case_id=_case_id(3), borrower_id="B00000003", channel="call",
            language="zh-CN", priority=80, status="queued", idempotency_key="1" * 64,
            created_at=NOW, updated_at=NOW))
        conn.execute(update(contacts).where(contacts.c.contact_id == "K3").values(status="sent"))
    # Case 3's new call heads the queue; case 11's call was made, so it rejoins by DPD.
    assert order() == [_case_id(3), _case_id(10), _case_id(5)]
    with filled.connect() as conn:
        rows: list[dict[str, Any]] = queue(conn)
        assert queue(conn, limit=0) == []
    assert [r["case_id"] for r in rows] == [_case_id(n) for n in
                                            (3, 10, 5, 6, 9, 12, 4, 2, 11, 1, 8)]
