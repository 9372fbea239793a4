"""The daily run's first half: what time alone changes in the books of one partition.

Penalty accrues, days past due and buckets move, missed installments and bucket moves are
recorded as events, and cases open, follow their borrower's arrears or are cured, for the
loans with something past due and every borrower with an open case in a range of shards,
inside the partition's own transaction. The rules are the domain's (ledger, cases); this
module reads the partition in a few queries and writes it back in bulk.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from datetime import date

from fairdue.adapters.db.ledger_repo import (
    StoredLoan,
    add_bucket_rows,
    load_overdue_ledgers,
    load_partition_open_cases,
    save_aged_loans,
    save_penalties,
)
from fairdue.bootstrap import App
from fairdue.domain.cases import Arrears, LoanArrears
from fairdue.domain.events import DomainEvent, InstallmentMissed, LoanBucketChanged
from fairdue.domain.money import Money
from fairdue.domain.relief import accrue
from fairdue.services.arrears import reconcile_cases
from fairdue.services.relief import partition_freezes
from fairdue.services.unit_of_work import UnitOfWork

#: The run reads and rewrites pages all over a large file: 256 MiB of SQLite page cache.
SQLITE_CACHE_KIB = 256 * 1024


def age_partition(uow: UnitOfWork, app: App, day: date, shard_from: int, shard_to: int
                  ) -> tuple[int, int, int]:
    """The day's change to the loans and cases of one shard range, inside `uow`."""
    conn = uow.connection
    if conn.dialect.name == "sqlite":
        # The run reads and rewrites pages all over a large file: with SQLite's default
        # 2 MiB page cache each partition would fetch them from the OS again, one by one.
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    buckets = app.buckets
    bucket_for = functools.lru_cache(maxsize=None)(buckets.bucket_for)  # a few hundred DPDs
    stored = load_overdue_ledgers(conn, before=day, shard_from=shard_from, shard_to=shard_to)
    # Penalty frozen by a grace period or a plan (few borrowers): those days are not charged.
    freezes = partition_freezes(conn, shard_from, shard_to, _earliest_accrual(stored.values(), day),
                                day) if stored else {}
    penalties: list[tuple[int, str, int]] = []
    states: list[tuple[object, ...]] = []
    moves: list[tuple[object, ...]] = []
    events: list[DomainEvent] = []
    per_borrower: dict[str, list[LoanArrears]] = {}
    currency: dict[str, str] = {}
    for loan in stored.values():
        ledger = loan.ledger
        loan_id = ledger.loan_id
        before = loan.penalties_before
        frozen = freezes.get(loan.borrower_id)
        for inst in accrue(ledger, day, frozen) if frozen else ledger.accrue_through(day):
            events.append(InstallmentMissed(loan_id, inst.seq, inst.due_on, day))
        penalty_added = 0
        for inst in ledger.installments:
            added = inst.penalty - before[inst.seq]
            if added:
                penalty_added += added
                penalties.append((inst.penalty, loan_id, inst.seq))
        dpd = ledger.dpd(day)
        bucket = bucket_for(dpd)
        if bucket != loan.bucket:
            moves.append((loan_id, day, loan.bucket, bucket, dpd))
            events.append(LoanBucketChanged(loan_id, day, loan.bucket, bucket, dpd))
        amount_due = ledger.amount_due_minor(day)
        states.append((ledger.accrued_through, dpd, bucket, amount_due,
                       loan.outstanding_minor + penalty_added, loan_id))
        items = per_borrower.get(loan.borrower_id)
        if items is None:
            items = per_borrower[loan.borrower_id] = []
            currency[loan.borrower_id] = ledger.currency
        items.append(LoanArrears(loan_id, dpd, Money.from_minor(amount_due, ledger.currency)))
    uow.record(events)
    open_cases = load_partition_open_cases(conn, shard_from=shard_from, shard_to=shard_to)
    for borrower_id in open_cases:
        per_borrower.setdefault(borrower_id, [])
    arrears = {
        b: Arrears.of(items, currency.get(b, app.settings.currency))
        for b, items in per_borrower.items()
    }
    # In key order, so that consecutive updates find their rows on pages just visited.
    penalties.sort(key=_penalty_key)
    states.sort(key=_state_key)
    save_penalties(conn, penalties)
    save_aged_loans(conn, states)
    add_bucket_rows(conn, moves)
    changes = reconcile_cases(
        uow, arrears, on=day, grace_days=app.settings.grace_days, buckets=buckets,
        cure_reason="no loan overdue at the daily run", open_cases=open_cases,
    )
    return len(stored), changes.opened, changes.cured


_penalty_key = operator.itemgetter(1, 2)
_state_key = operator.itemgetter(5)


def _earliest_accrual(stored: Iterable[StoredLoan], day: date) -> date:
    """The first day any of these loans accrues penalty for in this run."""
    earliest = day
    for loan in stored:
        ledger = loan.ledger
        start = ledger.accrued_through or (ledger.installments[0].due_on if ledger.installments else day)
        if start < earliest:
            earliest = start
    return earliest
