"""The daily run's first half: what time alone changes in the books of one partition.

Penalty accrues, days past due and buckets move, missed installments and bucket moves are
recorded as events, and cases open, follow their borrower's arrears or are cured, for the
loans with something past due and every borrower with an open case in a range of shards,
inside the partition's own transaction. The rules are the domain's (ledger, cases); this
module reads the partition in a few queries and writes it back in bulk. Reading and working
out (`plan_aging`) write nothing, so on SQLite helper processes can age shares of the
partition from the committed books while the one writer saves each share's rows as it
comes (`save_aging_rows`) and records their events and bucket moves in shard order
(`record_aging`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection

from fairdue.adapters.db.ledger_repo import (
    StoredLoan,
    add_bucket_rows,
    load_overdue_ledgers,
    load_partition_open_cases,
    save_aged_loans,
    save_case_rows,
    save_penalties,
)
from fairdue.bootstrap import App
from fairdue.domain.cases import Arrears, LoanArrears
from fairdue.domain.events import DomainEvent, InstallmentMissed, LoanBucketChanged
from fairdue.domain.money import Money
from fairdue.domain.relief import accrue
from fairdue.services.arrears import CaseWrites, plan_case_changes
from fairdue.services.relief import partition_freezes
from fairdue.services.unit_of_work import UnitOfWork

#: The run reads and rewrites pages all over a large file: 256 MiB of SQLite page cache.
SQLITE_CACHE_KIB = 256 * 1024


@dataclass
class AgingWrites:
    """One shard range's aging, worked out but not written: what the writer applies. A
    helper process of the daily run works one out from the committed books and returns it."""

    loans_touched: int = 0
    #: (penalty_minor, loan_id, seq), (accrued_through, dpd, bucket, amount_due_minor,
    #: outstanding_minor, loan_id) and (loan_id, moved_on, from, to, dpd) tuples.
    penalties: list[tuple[int, str, int]] = field(default_factory=list)
    states: list[tuple[object, ...]] = field(default_factory=list)
    moves: list[tuple[object, ...]] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    cases: CaseWrites = field(default_factory=CaseWrites)


def age_partition(uow: UnitOfWork, app: App, day: date, shard_from: int, shard_to: int
                  ) -> tuple[int, int, int]:
    """The day's change to the loans and cases of one shard range, inside `uow`."""
    writes = plan_aging(uow.connection, app, day, shard_from, shard_to)
    apply_aging(uow, writes)
    return writes.loans_touched, writes.cases.changes.opened, writes.cases.changes.cured


def plan_aging(conn: Connection, app: App, day: date, shard_from: int, shard_to: int
               ) -> AgingWrites:
    """The day's change to the loans and cases of one shard range, read and worked out on
    `conn` without writing anything."""
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
    out = AgingWrites(loans_touched=len(stored))
    penalties = out.penalties
    states = out.states
    moves = out.moves
    events = out.events
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
    open_cases = load_partition_open_cases(conn, shard_from=shard_from, shard_to=shard_to)
    for borrower_id in open_cases:
        per_borrower.setdefault(borrower_id, [])
    arrears = {
        b: Arrears.of(items, currency.get(b, app.settings.currency))
        for b, items in per_borrower.items()
    }
    out.cases = plan_case_changes(
        arrears, open_cases, on=day, grace_days=app.settings.grace_days, buckets=buckets,
        cure_reason="no loan overdue at the daily run",
    )
    return out


def apply_aging(uow: UnitOfWork, writes: AgingWrites) -> None:
    """Write one or more shard ranges' aging in the writer's transaction."""
    save_aging_rows(uow.connection, writes)
    record_aging(uow, writes)


def save_aging_rows(conn: Connection, writes: AgingWrites) -> None:
    """The rows a shard range's aging changes in place: penalties, loans' aged state,
    cases. They depend on nothing another range writes, so ranges may go in any order."""
    # In key order, so that consecutive updates find their rows on pages just visited.
    writes.penalties.sort(key=_penalty_key)
    writes.states.sort(key=_state_key)
    save_penalties(conn, writes.penalties)
    save_aged_loans(conn, writes.states)
    save_case_rows(conn, writes.cases.rows)


def record_aging(uow: UnitOfWork, writes: AgingWrites) -> None:
    """What a shard range's aging adds to the record, numbered in the order written: the
    loans' and cases' events and the bucket history. Recorded range by range in shard
    order, they are numbered the same whichever order the ranges' rows were saved in."""
    uow.record(writes.events)
    add_bucket_rows(uow.connection, writes.moves)
    uow.record(writes.cases.events)


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
