"""The daily run: what time alone changes in the books.

For each business date, in order and once: accrue penalty, move days past due and
buckets, open and follow cases. It reads only loans with something past due (an index
range scan), works in partitions of borrower shards, each committed on its own, so a
crash loses at most the partition in flight and a re-run resumes where it stopped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, func, insert, select, update

from fairdue.adapters.db.ledger_repo import (
    StoredLoan,
    add_bucket_moves,
    load_overdue_ledgers,
    open_case_borrowers,
    save_installments,
    save_loan_states,
)
from fairdue.adapters.db.tables import daily_run_partitions, daily_runs
from fairdue.bootstrap import App
from fairdue.domain.cases import Arrears, LoanArrears
from fairdue.domain.events import InstallmentMissed, LoanBucketChanged
from fairdue.domain.money import Money
from fairdue.errors import InvalidInput
from fairdue.services.arrears import reconcile_cases

SHARDS = 1024

Progress = Callable[[date, int, int], None]


def shard_of(borrower_id: str) -> int:
    """A stable shard number for a borrower (FNV-1a), the same on every machine and run."""
    value = 0x811C9DC5
    for byte in borrower_id.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value % SHARDS


def partition_ranges(partitions: int) -> list[tuple[int, int]]:
    size = -(-SHARDS // partitions)
    return [(start, min(start + size, SHARDS) - 1) for start in range(0, SHARDS, size)]


@dataclass
class DayResult:
    business_date: date
    skipped: bool = False
    loans_touched: int = 0
    cases_opened: int = 0
    cases_cured: int = 0
    partitions_run: int = 0


@dataclass
class RunResult:
    days: list[DayResult] = field(default_factory=list)

    @property
    def loans_touched(self) -> int:
        return sum(d.loans_touched for d in self.days)


def last_completed_date(conn: Connection) -> date | None:
    return conn.execute(
        select(func.max(daily_runs.c.business_date)).where(daily_runs.c.status == "completed")
    ).scalar()


def run_days(app: App, *, through: date, progress: Progress | None = None) -> RunResult:
    """Run every business date not yet completed, in order, up to and including `through`."""
    with app.engine.connect() as conn:
        last = last_completed_date(conn)
        # A date started but not completed (a crash) is resumed first, even before any
        # date has completed; otherwise it would be skipped and left half-run.
        unfinished = conn.execute(
            select(func.min(daily_runs.c.business_date)).where(daily_runs.c.status != "completed")
        ).scalar()
    if last is not None and through <= last:
        return RunResult([DayResult(through, skipped=True)])
    first = through if last is None else last + timedelta(days=1)
    if unfinished is not None:
        first = min(first, unfinished)
    result = RunResult()
    day = first
    while day <= through:
        result.days.append(run_one_day(app, day, progress=progress))
        day += timedelta(days=1)
    return result


def run_one_day(app: App, day: date, *, progress: Progress | None = None) -> DayResult:
    """One business date, partition by partition; completed partitions are not redone."""
    ranges = partition_ranges(app.settings.run_partitions)
    with app.uow() as uow:
        conn = uow.connection
        run = conn.execute(select(daily_runs).where(daily_runs.c.business_date == day)).first()
        if run is not None and run.status == "completed":
            return DayResult(day, skipped=True)
        later = conn.execute(
            select(func.max(daily_runs.c.business_date)).where(daily_runs.c.business_date > day)
        ).scalar()
        if later is not None:
            raise InvalidInput(
                f"the daily run for {later} has already started; {day} cannot be run after it"
            )
        if run is None:
            conn.execute(
                insert(daily_runs).values(
                    business_date=day, status="running", partitions=len(ranges),
                    started_at=app.clock.now(),
                )
            )
            conn.execute(
                insert(daily_run_partitions),
                [
                    {"business_date": day, "partition_no": i, "shard_from": a, "shard_to": b,
                     "status": "pending"}
                    for i, (a, b) in enumerate(ranges)
                ],
            )
        uow.commit()
    with app.engine.connect() as conn:
        pending = conn.execute(
            select(daily_run_partitions)
            .where(daily_run_partitions.c.business_date == day,
                   daily_run_partitions.c.status != "completed")
            .order_by(daily_run_partitions.c.partition_no)
        ).all()
    result = DayResult(day)
    total = len(ranges)
    done = total - len(pending)
    for part in pending:
        touched, opened, cured = run_partition(app, day, part.partition_no, part.shard_from, part.shard_to)
        result.loans_touched += touched
        result.cases_opened += opened
        result.cases_cured += cured
        result.partitions_run += 1
        done += 1
        if progress:
            progress(day, done, total)
    with app.uow() as uow:
        uow.connection.execute(
            update(daily_runs)
            .where(daily_runs.c.business_date == day)
            .values(status="completed", finished_at=app.clock.now())
        )
        uow.audit("DailyRunCompleted", day.isoformat(), {
            "loans_touched": result.loans_touched,
            "cases_opened": result.cases_opened,
            "cases_cured": result.cases_cured,
        })
        uow.commit()
    return result


def run_partition(app: App, day: date, partition_no: int, shard_from: int, shard_to: int
                  ) -> tuple[int, int, int]:
    """Accrue, age and reconcile the loans and cases of one shard range, in one transaction."""
    buckets = app.buckets
    with app.uow() as uow:
        conn = uow.connection
        stored = load_overdue_ledgers(conn, before=day, shard_from=shard_from, shard_to=shard_to)
        state_rows: list[dict[str, object]] = []
        moves: list[dict[str, object]] = []
        per_borrower: dict[str, list[LoanArrears]] = defaultdict(list)
        currency: dict[str, str] = {}
        for loan in stored.values():
            ledger = loan.ledger
            penalty_before = sum(i.penalty for i in ledger.installments)
            for inst in ledger.accrue_through(day):
                uow.record([InstallmentMissed(ledger.loan_id, inst.seq, inst.due_on, day)])
            penalty_added = sum(i.penalty for i in ledger.installments) - penalty_before
            dpd = ledger.dpd(day)
            bucket = buckets.bucket_for(dpd)
            if bucket != loan.bucket:
                moves.append({"loan_id": ledger.loan_id, "moved_on": day,
                              "from_bucket": loan.bucket, "to_bucket": bucket, "dpd": dpd})
                uow.record([LoanBucketChanged(ledger.loan_id, day, loan.bucket, bucket, dpd)])
            amount_due = ledger.amount_due_minor(day)
            state_rows.append(_state(loan, day, dpd, bucket, amount_due, penalty_added))
            per_borrower[loan.borrower_id].append(
                LoanArrears(ledger.loan_id, dpd, Money.from_minor(amount_due, ledger.currency))
            )
            currency.setdefault(loan.borrower_id, ledger.currency)
        for borrower_id in open_case_borrowers(conn, shard_from=shard_from, shard_to=shard_to):
            per_borrower.setdefault(borrower_id, [])
        arrears = {
            b: Arrears.of(items, currency.get(b, app.settings.currency))
            for b, items in per_borrower.items()
        }
        save_installments(conn, stored.values(), only_penalty=True)
        save_loan_states(conn, state_rows)
        add_bucket_moves(conn, moves)
        changes = reconcile_cases(
            uow, arrears, on=day, grace_days=app.settings.grace_days, buckets=buckets,
            cure_reason="no loan overdue at the daily run",
        )
        conn.execute(
            update(daily_run_partitions)
            .where(daily_run_partitions.c.business_date == day,
                   daily_run_partitions.c.partition_no == partition_no)
            .values(status="completed", loans_touched=len(stored), cases_opened=changes.opened,
                    cases_cured=changes.cured, finished_at=app.clock.now())
        )
        uow.commit()
    return len(stored), changes.opened, changes.cured


def _state(loan: StoredLoan, day: date, dpd: int, bucket: str, amount_due: int,
           penalty_added: int) -> dict[str, object]:
    return {
        "k_loan": loan.ledger.loan_id,
        "accrued_through": loan.ledger.accrued_through,
        "dpd": dpd,
        "bucket": bucket,
        "amount_due_minor": amount_due,
        "outstanding_minor": loan.outstanding_minor + penalty_added,
    }
