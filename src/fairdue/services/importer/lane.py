"""The quick lane: whole loans whose every row passed the column checks, settled with numpy.

At a million loans, the per-loan Python of the row-by-row way (tuples, `quick_schedule`,
`settle`, one output tuple per row) was most of the import's time. Most loans of a real book
are plain: every row matches its strict pattern, the schedule keeps every rule, the payment
ids are new, and the loan was paid on time, so `settle`'s shortcut applies. For those loans
this module does in a few array operations per batch what `quick_schedule` and
`settle._filled` do loan by loan, and the caller writes them straight from the arrays.

Every loan that is not certainly plain (a row that failed a pattern, a schedule that breaks
a rule, a payment id seen twice or already stored, a loan paid late, a loan already in the
books) is left to the row-by-row way, which stays the one definition of the rules and of
every message. `tests/unit/test_import_lane.py` checks on random batches that the lane gives
exactly `quick_schedule` + `settle`.

Pure: numpy arrays in, numpy arrays out; no database, no report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fairdue.domain.ledger import Component

# Loan index and day packed into one sortable int64: (loan << 32) | (day + 2**31).
_DAY_BIAS = 1 << 31


@dataclass
class Lane:
    """The quick lane of one batch of loans.

    Installment and payment rows are those of the batch's tables, grouped by loan
    (`inst_starts[k]:inst_starts[k + 1]` are loan k's rows, likewise `pay_starts`).
    """

    quick: np.ndarray         # bool per loan: settled here
    inst_rows: np.ndarray     # installment rows of quick loans, by loan then seq
    inst_paid: np.ndarray     # (len(inst_rows), 3): principal, interest, fee paid
    pay_rows: np.ndarray      # payment rows of quick loans, by loan, business date, id
    next_due_row: np.ndarray  # per loan: installment row of the first unsettled one, or -1
    accrued_row: np.ndarray   # per loan: payment row whose date is accrued_through, or -1
    credit: np.ndarray        # per loan, minor units
    outstanding: np.ndarray   # per loan, minor units


def _loan_of(starts: np.ndarray) -> np.ndarray:
    """The loan index of each row, from the per-loan row offsets."""
    return np.repeat(np.arange(len(starts) - 1), np.diff(starts))


def _any_per_loan(loans: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(loans, minlength=n)[:n] > 0


def settle_batch(candidate: np.ndarray, disbursed: np.ndarray, principal: np.ndarray,
                 inst_starts: np.ndarray, inst_ok: np.ndarray, seq: np.ndarray,
                 due: np.ndarray, owed_principal: np.ndarray, owed_interest: np.ndarray,
                 owed_fee: np.ndarray, pay_starts: np.ndarray, pay_ok: np.ndarray,
                 paid_days: np.ndarray, pay_id_rank: np.ndarray, amount: np.ndarray,
                 order: tuple[Component, ...]) -> Lane:
    """Which `candidate` loans are plain, and their state after their payments.

    Per loan: `candidate` (its row passed, its borrower is known, it is new, its payment
    ids are new and unique), `disbursed` (days), `principal` (minor units). Per installment
    row: `inst_ok`, `seq`, `due` (days), the amounts owed. Per payment row: `pay_ok`,
    `paid_days` (business date), `pay_id_rank` (the payment id's rank in sorted order, the
    ledger's tie-break on one date) and `amount`.
    """
    n = len(candidate)
    quick = candidate & (np.diff(inst_starts) > 0)
    inst_loan = _loan_of(inst_starts)
    pay_loan = _loan_of(pay_starts)
    quick &= ~_any_per_loan(inst_loan[~inst_ok], n)
    quick &= ~_any_per_loan(pay_loan[~pay_ok], n)

    # quick_schedule's rules, on the schedule by seq: no seq twice, no due date before the
    # disbursement or before the previous installment's, principal adding up to the loan's.
    by_seq = np.lexsort((seq, inst_loan))
    s_loan, s_seq, s_due = inst_loan[by_seq], seq[by_seq], due[by_seq]
    same = s_loan[1:] == s_loan[:-1]
    broken = same & ((s_seq[1:] == s_seq[:-1]) | (s_due[1:] < s_due[:-1]))
    quick &= ~_any_per_loan(s_loan[1:][broken], n)
    quick &= ~_any_per_loan(s_loan[s_due < disbursed[s_loan]], n)
    s_principal = owed_principal[by_seq]
    s_interest, s_fee = owed_interest[by_seq], owed_fee[by_seq]
    sums = np.concatenate(([0], np.cumsum(s_principal)))
    quick &= (sums[inst_starts[1:]] - sums[inst_starts[:-1]]) == principal

    # settle._on_time: before each payment (by date, then id), every installment due
    # before its date is covered by the earlier payments.
    by_time = np.lexsort((pay_id_rank, paid_days, pay_loan))
    t_loan, t_days, t_amount = pay_loan[by_time], paid_days[by_time], amount[by_time]
    owed = s_principal + s_interest + s_fee
    inst_keys = (s_loan.astype(np.int64) << 32) | (s_due + _DAY_BIAS)
    # Sorting only moves rows within a loan (the loan is the high half of the key), and
    # only within loans that are not quick (theirs are by due date already).
    by_key = np.argsort(inst_keys, kind="stable")
    owed_by_key = np.concatenate(([0], np.cumsum(owed[by_key])))
    pay_keys = (t_loan.astype(np.int64) << 32) | (t_days + _DAY_BIAS)
    due_before = np.searchsorted(inst_keys[by_key], pay_keys, side="left")
    owed_before = owed_by_key[due_before] - owed_by_key[inst_starts[t_loan]]
    paid_sums = np.concatenate(([0], np.cumsum(t_amount)))
    paid_before = paid_sums[:-1] - paid_sums[pay_starts[t_loan]]
    quick &= ~_any_per_loan(t_loan[owed_before > paid_before], n)

    # settle._filled: the payments' sum fills the schedule oldest first; the first
    # installment it does not cover takes what is left in allocation order.
    total_paid = paid_sums[pay_starts[1:]] - paid_sums[pay_starts[:-1]]
    owed_sums = np.concatenate(([0], np.cumsum(owed)))
    through = owed_sums[1:] - owed_sums[inst_starts[s_loan]]
    before = owed_sums[:-1] - owed_sums[inst_starts[s_loan]]
    budget = total_paid[s_loan]
    full = through <= budget
    partial = ~full & (before <= budget)
    left = np.where(partial, budget - before, 0)
    parts = {Component.PRINCIPAL: s_principal, Component.INTEREST: s_interest,
             Component.FEE: s_fee}
    taken: dict[Component, np.ndarray] = {}
    for component in order:
        if component in parts:
            taken[component] = np.minimum(parts[component], left)
            left = left - taken[component]
    none = np.zeros_like(left)
    paid = np.stack([np.where(full, parts[c], taken.get(c, none)) for c in
                     (Component.PRINCIPAL, Component.INTEREST, Component.FEE)], axis=1)
    total_owed = owed_sums[inst_starts[1:]] - owed_sums[inst_starts[:-1]]
    next_due_row = np.full(n, -1, np.int64)
    next_due_row[s_loan[partial]] = by_seq[partial]
    accrued_row = np.full(n, -1, np.int64)
    has_pays = np.diff(pay_starts) > 0
    if has_pays.any():
        loans_with = np.nonzero(has_pays & (np.diff(inst_starts) > 0))[0]
        last = pay_starts[loans_with + 1] - 1
        later = t_days[last] > s_due[inst_starts[loans_with]]
        accrued_row[loans_with[later]] = by_time[last[later]]
    keep = quick[s_loan]
    return Lane(quick, by_seq[keep], paid[keep], by_time[quick[t_loan]], next_due_row,
                accrued_row, np.maximum(total_paid - total_owed, 0),
                np.maximum(total_owed - total_paid, 0))
