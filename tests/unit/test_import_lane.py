"""The quick lane settles a batch of loans exactly as `quick_schedule` and `settle` do loan by
loan, and takes a loan only when both would: a schedule that breaks a rule, or a loan paid
late, is left to the row-by-row way."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdue.domain.ledger import DEFAULT_ALLOCATION_ORDER, Component
from fairdue.services.importer.lane import settle_batch
from fairdue.services.importer.schedules import quick_schedule
from fairdue.services.importer.settle import settle

EPOCH = date(1970, 1, 1)
START = date(2026, 1, 10)

Loan = tuple[int, list[tuple[int, int, int, int, int]], list[tuple[str, int, int]]]


def _iso(days: int) -> str:
    return (EPOCH + timedelta(days=days)).isoformat()


@st.composite
def loan(draw: st.DrawFn) -> Loan:
    """(disbursed day, installments as (seq, due day, principal, interest, fee) in file
    order, payments as (id, business day, amount)); sometimes off the rules."""
    start = (START - EPOCH).days
    n = draw(st.integers(0, 5))
    due = start + draw(st.integers(-3, 20))
    rows = []
    for seq in range(1, n + 1):
        due += draw(st.sampled_from([0, 1, 30, 31, -1]))
        rows.append((seq if draw(st.integers(0, 30)) else max(seq - 1, 1), due,
                     draw(st.integers(0, 5000)), draw(st.integers(0, 300)), draw(st.integers(0, 50))))
    if draw(st.booleans()):
        rows = draw(st.permutations(rows))
    pays = []
    for k in range(draw(st.integers(0, 4))):
        pays.append((f"P{draw(st.integers(0, 99)):02d}-{k}", start + draw(st.integers(0, 200)),
                     draw(st.integers(1, 9000))))
    if rows and draw(st.booleans()):
        # Paid on time: each installment in full, on or before its date.
        pays = [(f"Q{seq}", d - draw(st.integers(0, 3)), p + i + f) for seq, d, p, i, f in rows
                if p + i + f > 0]
    return start, rows, pays


@settings(max_examples=300, deadline=None)
@given(st.lists(loan(), min_size=1, max_size=6), st.booleans(),
       st.sampled_from([DEFAULT_ALLOCATION_ORDER,
                        (Component.FEE, Component.PENALTY, Component.INTEREST, Component.PRINCIPAL)]))
def test_the_lane_settles_each_loan_as_settle_does(
    batch: list[Loan], skew: bool, order: tuple[Component, ...]
) -> None:
    principal = [sum(r[2] for r in rows) + (1 if skew and k == 0 else 0)
                 for k, (_, rows, _) in enumerate(batch)]
    inst = [r for _, rows, _ in batch for r in rows]
    pays = [p for _, _, ps in batch for p in ps]
    inst_starts = np.cumsum([0, *(len(rows) for _, rows, _ in batch)])
    pay_starts = np.cumsum([0, *(len(ps) for _, _, ps in batch)])
    ranks = {pid: k for k, pid in enumerate(sorted(p[0] for p in pays))}
    lane = settle_batch(
        np.ones(len(batch), bool), np.array([b[0] for b in batch], np.int64),
        np.array(principal, np.int64), inst_starts, np.ones(len(inst), bool),
        np.array([r[0] for r in inst], np.int64), np.array([r[1] for r in inst], np.int64),
        *(np.array([r[c] for r in inst], np.int64) for c in (2, 3, 4)),
        pay_starts, np.ones(len(pays), bool), np.array([p[1] for p in pays], np.int64),
        np.array([ranks[p[0]] for p in pays], np.int64), np.array([p[2] for p in pays], np.int64),
        order)

    settled_rows = lane.inst_rows.tolist()
    paid = {row: tuple(lane.inst_paid[j].tolist()) for j, row in enumerate(settled_rows)}
    for k, (disbursed, rows, loan_pays) in enumerate(batch):
        schedule = quick_schedule(
            [(True, seq, _iso(d), p, i, f) for seq, d, p, i, f in rows],
            {"disbursed_on": _iso(disbursed), "principal_minor": principal[k]})
        state = (settle(schedule, [(pid, _iso(d), a) for pid, d, a in loan_pays],
                        penalty_rate="0.0005", order=order) if schedule else None)
        expected_quick = state is not None and state.shortcut
        assert bool(lane.quick[k]) == expected_quick, (k, schedule, state)
        first = int(inst_starts[k])
        mine = [r for r in settled_rows if first <= r < inst_starts[k + 1]]
        if not expected_quick:
            assert mine == []
            continue
        assert state is not None and schedule is not None
        # In seq order, each installment's principal, interest and fee paid; no penalty.
        assert [rows[r - first][0] for r in mine] == [s[0] for s in schedule]
        assert [paid[r] for r in mine] == [s[1:4] for s in state.paid]
        assert all(s[0] == 0 and s[4] == 0 for s in state.paid)
        next_due = int(lane.next_due_row[k])
        assert (_iso(inst[next_due][1]) if next_due >= 0 else None) == state.next_unpaid_due_on
        accrued = int(lane.accrued_row[k])
        assert (_iso(pays[accrued][1]) if accrued >= 0 else None) == state.accrued_through
        assert (int(lane.credit[k]), int(lane.outstanding[k])) == (state.credit, state.outstanding)
    taken = lane.pay_rows.tolist()
    assert sorted(taken) == [r for k in np.nonzero(lane.quick)[0]
                             for r in range(pay_starts[k], pay_starts[k + 1])]
