"""The importer's shortcut for loans paid on time gives exactly the ledger's state."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fairdue.domain.ledger import DEFAULT_ALLOCATION_ORDER, Component
from fairdue.services.importer.settle import Scheduled, replayed, settle

START = date(2026, 1, 10)


def _schedule(n: int, amounts: list[tuple[int, int, int]], gaps: list[int]) -> list[Scheduled]:
    due, rows = START, []
    for seq in range(1, n + 1):
        due += timedelta(days=gaps[seq - 1])
        p, i, f = amounts[seq - 1]
        rows.append((seq, due.isoformat(), p, i, f))
    return rows


@st.composite
def loans(draw: st.DrawFn) -> tuple[list[Scheduled], list[tuple[str, str, int]]]:
    n = draw(st.integers(1, 6))
    amounts = draw(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 300), st.integers(0, 50)),
                            min_size=n, max_size=n))
    gaps = draw(st.lists(st.sampled_from([0, 1, 28, 30, 31]), min_size=n, max_size=n))
    schedule = _schedule(n, amounts, gaps)
    on_time = draw(st.booleans())
    pays = []
    if on_time:
        # Pay each installment exactly, on or before its date (sometimes a little more).
        for seq, due, p, i, f in schedule:
            if draw(st.integers(0, 4)) == 0:
                continue
            early = draw(st.integers(0, 5))
            extra = draw(st.sampled_from([0, 0, 0, 1, 999]))
            day = (date.fromisoformat(due) - timedelta(days=early)).isoformat()
            if p + i + f + extra > 0:
                pays.append((f"P{seq}", day, p + i + f + extra))
    else:
        for k in range(draw(st.integers(0, 5))):
            day = (START + timedelta(days=draw(st.integers(0, 200)))).isoformat()
            pays.append((f"P{k}", day, draw(st.integers(1, 8000))))
    return schedule, pays


ORDERS = st.sampled_from([DEFAULT_ALLOCATION_ORDER,
                          (Component.PRINCIPAL, Component.INTEREST, Component.FEE, Component.PENALTY)])


@settings(max_examples=400, deadline=None)
@given(loans(), ORDERS)
def test_the_shortcut_and_the_ledger_give_the_same_state(
    loan: tuple[list[Scheduled], list[tuple[str, str, int]]], order: tuple[Component, ...]
) -> None:
    schedule, pays = loan
    fast = settle(schedule, pays, penalty_rate="0.0005", order=order)
    slow = replayed(schedule, sorted(pays, key=lambda p: (p[1], p[0])), penalty_rate="0.0005",
                    order=order)
    assert (fast.next_unpaid_due_on, fast.accrued_through, fast.credit, fast.outstanding,
            fast.paid) == (slow.next_unpaid_due_on, slow.accrued_through, slow.credit,
                           slow.outstanding, slow.paid)


def test_a_loan_paid_on_time_takes_the_shortcut_and_a_late_one_the_ledger() -> None:
    schedule = [(1, "2026-03-10", 50000, 2000, 500), (2, "2026-04-10", 50000, 2000, 500)]
    on_time = settle(schedule, [("P1", "2026-03-10", 52500)], penalty_rate="0.0005",
                     order=DEFAULT_ALLOCATION_ORDER)
    assert on_time.shortcut
    assert (on_time.next_unpaid_due_on, on_time.outstanding, on_time.credit) == (
        "2026-04-10", 52500, 0)
    # Paid two days late: two days of penalty, 0.05% of 500.00 = 0.25 a day, charged first.
    late = settle(schedule, [("P1", "2026-03-12", 52500)], penalty_rate="0.0005",
                  order=DEFAULT_ALLOCATION_ORDER)
    assert not late.shortcut
    assert late.paid[0] == (50, 49950, 2000, 500, 50)
    assert late.next_unpaid_due_on == "2026-03-10"
