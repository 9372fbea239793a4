"""The daily run: what time alone changes in the books.

For each business date, in order and once: accrue penalty, move days past due and
buckets, open and follow cases. It reads only loans with something past due (an index
range scan), works in partitions of borrower shards, each committed on its own, so a
crash loses at most the partition in flight and a re-run resumes where it stopped.

Several processes can share one date (on PostgreSQL): each claims a pending partition in
a short transaction of its own (`FOR UPDATE SKIP LOCKED`), runs it in another that holds
the partition's row lock until commit, and the process that finds every partition
completed completes the date. A claim older than the lease belongs to a worker that died
before it locked its partition, and is taken over. On SQLite one process writes
everything; helper processes beside it can work out shares of each partition from the
committed books while it writes the shares already worked out (`Helpers`, `pipeline`).
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Integer, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from fairdue.adapters.db.tables import daily_run_partitions, daily_runs
from fairdue.bootstrap import App, build_app
from fairdue.clock import Clock
from fairdue.errors import InvalidInput
from fairdue.services.aging import (
    AgingWrites,
    age_partition,
    plan_aging,
    record_aging,
    save_aging_rows,
)
from fairdue.services.decide import Planned, plan_decisions, write_decisions
from fairdue.services.plans import settle_plans
from fairdue.services.promises import settle_promises
from fairdue.services.sharding import partition_ranges
from fairdue.services.unit_of_work import UnitOfWork
from fairdue.services.visits import follow_visits
from fairdue.settings import Settings

# A claim is only unguarded between its own commit and the moment the claimant locks the
# partition row for the run (milliseconds): a claim older than this is a dead worker's.
CLAIM_LEASE = timedelta(minutes=2)
# SQLite page cache of a connection that runs partitions, in KiB (the pool keeps it).
# How often a process with nothing left to claim looks whether the date is done.
POLL_SECONDS = 0.5

Progress = Callable[[date, int, int], None]
_T = TypeVar("_T")


def worker_name() -> str:
    """Who holds a claim: host, process and a random part (pids are reused)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DayResult:
    """One date as this process saw it: the partitions it ran and what they changed."""

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


#: Made once: every payment posted asks what date the books stand at.
_LAST_COMPLETED = select(func.max(daily_runs.c.business_date)).where(
    daily_runs.c.status == "completed")


def last_completed_date(conn: Connection) -> date | None:
    return conn.execute(_LAST_COMPLETED).scalar()


def run_days(app: App, *, through: date, progress: Progress | None = None, workers: int = 1,
             lease: timedelta = CLAIM_LEASE) -> RunResult:
    """Run every business date not yet completed, in order, up to and including `through`.

    `workers` > 1 starts that many processes that share each date's partitions on
    PostgreSQL; SQLite has one writer, so there this process writes everything and
    `workers` - 1 helper processes work out a share of each partition beside it. Either way
    they are spawned: a script that calls this needs the usual `if __name__ == "__main__":`
    guard."""
    if workers > 1 and app.engine.dialect.name != "sqlite":
        return _run_in_processes(app, through=through, progress=progress, workers=workers,
                                 lease=lease)
    first = _first_date(app, through)
    if first is None:
        return RunResult([DayResult(through, skipped=True)])
    worker = worker_name()
    result = RunResult()
    helpers = Helpers(app.settings, app.clock, workers - 1) if workers > 1 else None
    try:
        day = first
        while day <= through:
            result.days.append(run_one_day(app, day, progress=progress, worker=worker,
                                           lease=lease, helpers=helpers))
            day += timedelta(days=1)
    finally:
        if helpers is not None:
            helpers.close()
    return result


def _first_date(app: App, through: date) -> date | None:
    """The first date to run for `through`, or None when `through` is already completed."""
    with app.engine.connect() as conn:
        last = last_completed_date(conn)
        # A date started but not completed (a crash) is resumed first, even before any
        # date has completed; otherwise it would be skipped and left half-run.
        unfinished = conn.execute(
            select(func.min(daily_runs.c.business_date)).where(daily_runs.c.status != "completed")
        ).scalar()
    if last is not None and through <= last:
        return None
    first = through if last is None else last + timedelta(days=1)
    return first if unfinished is None else min(first, unfinished)


def run_one_day(app: App, day: date, *, progress: Progress | None = None,
                worker: str | None = None, lease: timedelta = CLAIM_LEASE,
                helpers: Helpers | None = None) -> DayResult:
    """One business date: claim and run partitions until none is left, then complete the
    date if no other process has (or wait for the one still running a partition)."""
    worker = worker or worker_name()
    total = start_day(app, day)
    if total is None:
        return DayResult(day, skipped=True)
    result = DayResult(day)
    while True:
        claim = claim_partition(app, day, worker=worker, lease=lease)
        if claim is None:
            if _complete_day(app, day):
                return result
            time.sleep(POLL_SECONDS)  # another process holds the rest, or a stale claim
            continue
        partition_no, shard_from, shard_to = claim
        try:
            outcome = run_partition(app, day, partition_no, shard_from, shard_to, worker=worker,
                                    helpers=helpers)
        except BaseException:
            _release_claim(app, day, partition_no, worker)
            raise
        if outcome is None:
            continue  # another process took it over and completed it
        touched, opened, cured = outcome
        result.loans_touched += touched
        result.cases_opened += opened
        result.cases_cured += cured
        result.partitions_run += 1
        if progress:
            progress(day, _completed_partitions(app, day), total)


#: Partitions of a date when the settings name none, on a database that several processes
#: can write at once (PostgreSQL): enough to share among workers.
SHARED_PARTITIONS = 8


def partitions_for(configured: int | None, dialect: str) -> int:
    """How many partitions a new date is split into.

    SQLite has one writer, so partitions there buy no parallelism, only a smaller unit of
    work lost to a crash, and they cost: shards are spread by hash over every page of the
    loans, installments and cases, so each partition's commit rewrites nearly every page
    the whole date touches (eight partitions wrote a WAL three times as large and made the
    run about a fifth slower at 100,000 open cases, docs/benchmarks.md). One partition
    unless the settings say otherwise."""
    if configured is not None:
        return configured
    return 1 if dialect == "sqlite" else SHARED_PARTITIONS


def start_day(app: App, day: date) -> int | None:
    """Create the date's run and partitions unless they exist; their number, or None when
    the date is completed. Two processes starting the same date at once both go on."""
    ranges = partition_ranges(partitions_for(app.settings.run_partitions, app.engine.dialect.name))
    try:
        with app.uow() as uow:
            conn = uow.connection
            uow.write_lock()
            run = conn.execute(select(daily_runs).where(daily_runs.c.business_date == day)).first()
            if run is not None:
                return None if run.status == "completed" else int(run.partitions)
            later = conn.execute(
                select(func.max(daily_runs.c.business_date)).where(daily_runs.c.business_date > day)
            ).scalar()
            if later is not None:
                raise InvalidInput(
                    f"the daily run for {later} has already started; {day} cannot be run after it"
                )
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
            return len(ranges)
    except IntegrityError:
        # Another process inserted the date between our read and our insert (PostgreSQL
        # makes us wait for its commit, then refuses the duplicate): share its partitions.
        with app.engine.connect() as conn:
            run = conn.execute(select(daily_runs).where(daily_runs.c.business_date == day)).first()
        if run is None:
            raise
        return None if run.status == "completed" else int(run.partitions)


def claim_partition(app: App, day: date, *, worker: str, lease: timedelta = CLAIM_LEASE
                    ) -> tuple[int, int, int] | None:
    """Claim the first partition nobody holds, in a transaction of its own: a pending one,
    or one whose claim is `lease` old or older. Returns (partition_no, shard_from, shard_to).

    On PostgreSQL rows locked by another claimant or by a running partition are skipped
    (`FOR UPDATE SKIP LOCKED`); on SQLite, with its single writer, every partition not
    completed is this process's to run."""
    p = daily_run_partitions
    now = app.clock.now()
    with app.uow() as uow:
        conn = uow.connection
        uow.write_lock()
        if conn.dialect.name == "sqlite":
            claimable = p.c.status != "completed"
        else:
            claimable = or_(p.c.status == "pending",
                            and_(p.c.status == "running", p.c.claimed_at <= now - lease))
        row = conn.execute(
            select(p.c.partition_no, p.c.shard_from, p.c.shard_to)
            .where(p.c.business_date == day, claimable)
            .order_by(p.c.partition_no)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return None
        conn.execute(
            update(p)
            .where(p.c.business_date == day, p.c.partition_no == row.partition_no)
            .values(status="running", claimed_by=worker, claimed_at=now)
        )
        uow.commit()
    return int(row.partition_no), int(row.shard_from), int(row.shard_to)


def _release_claim(app: App, day: date, partition_no: int, worker: str) -> None:
    """Give a partition back after a failure, so the next run need not wait for the lease."""
    p = daily_run_partitions
    try:
        with app.uow() as uow:
            uow.connection.execute(
                update(p)
                .where(p.c.business_date == day, p.c.partition_no == partition_no,
                       p.c.status == "running", p.c.claimed_by == worker)
                .values(status="pending", claimed_by=None, claimed_at=None)
            )
            uow.commit()
    except Exception:  # the original error matters more; the lease covers this one
        pass


def _completed_partitions(app: App, day: date) -> int:
    p = daily_run_partitions
    with app.engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).where(p.c.business_date == day, p.c.status == "completed")
        ).scalar_one())


def _complete_day(app: App, day: date) -> bool:
    """Mark the date completed if all its partitions are; True when the date is completed.

    The date's row is locked first, so of two processes finishing the last partitions at
    the same moment exactly one completes the date and audits it."""
    p = daily_run_partitions
    with app.uow() as uow:
        conn = uow.connection
        uow.write_lock()
        status = conn.execute(
            select(daily_runs.c.status).where(daily_runs.c.business_date == day)
            .with_for_update()
        ).scalar_one()
        if status == "completed":
            return True
        totals = conn.execute(
            select(func.count(), func.sum(p.c.loans_touched), func.sum(p.c.cases_opened),
                   func.sum(p.c.cases_cured))
            .where(p.c.business_date == day, p.c.status == "completed")
        ).one()
        partitions = conn.execute(select(func.count()).where(p.c.business_date == day)).scalar_one()
        if totals[0] < partitions:
            return False
        conn.execute(
            update(daily_runs)
            .where(daily_runs.c.business_date == day)
            .values(status="completed", finished_at=app.clock.now())
        )
        uow.audit("DailyRunCompleted", day.isoformat(), {
            "loans_touched": int(totals[1] or 0),
            "cases_opened": int(totals[2] or 0),
            "cases_cured": int(totals[3] or 0),
        })
        uow.commit()
    return True


def run_partition(app: App, day: date, partition_no: int, shard_from: int, shard_to: int, *,
                  worker: str | None = None, helpers: Helpers | None = None
                  ) -> tuple[int, int, int] | None:
    """Accrue, age and reconcile the loans and cases of one shard range, then decide their
    contacts: in one transaction, or with `helpers` in two (the helpers can only work the
    decisions out from committed aging), the first leaving the partition marked aged.

    Returns (loans touched, cases opened, cases cured), or None when the partition is
    completed already or `worker` no longer holds its claim (it was taken over)."""
    with app.uow() as uow:
        held = _hold_partition(uow, day, partition_no, worker)
        if held is None:
            return None
        if held.aged_at is not None:  # a run that stopped between aging and deciding
            figures = (int(held.loans_touched), int(held.cases_opened), int(held.cases_cured))
        else:
            figures = _age(uow, app, day, shard_from, shard_to, helpers)
            if helpers is None:
                return _decide_and_complete(uow, app, day, partition_no, shard_from, shard_to,
                                            figures, None)
            _mark(uow, day, partition_no, figures, aged_at=app.clock.now())
            uow.commit()
    with app.uow() as uow:
        if _hold_partition(uow, day, partition_no, worker) is None:
            return None
        return _decide_and_complete(uow, app, day, partition_no, shard_from, shard_to, figures,
                                    helpers)


def _age(uow: UnitOfWork, app: App, day: date, shard_from: int, shard_to: int,
         helpers: Helpers | None) -> tuple[int, int, int]:
    """The aging half of a partition, the helpers working out their share of its shards."""
    if helpers is None:
        figures = age_partition(uow, app, day, shard_from, shard_to)
    else:
        shares: dict[int, AgingWrites] = {}

        def write(share: int, writes: AgingWrites) -> None:
            save_aging_rows(uow.connection, writes)
            shares[share] = writes

        helpers.pipeline(shard_from, shard_to,
                         lambda a, b: helpers.plan_aging(day, a, b),
                         lambda a, b: plan_aging(uow.connection, app, day, a, b), write)
        touched = opened = cured = 0
        for share in sorted(shares):
            writes = shares[share]
            record_aging(uow, writes)
            touched += writes.loans_touched
            opened += writes.cases.changes.opened
            cured += writes.cases.changes.cured
        figures = (touched, opened, cured)
    settle_promises(uow, day, shard_from, shard_to, settings=app.settings)
    settle_plans(uow, day, shard_from, shard_to, settings=app.settings)
    return figures


def _decide_and_complete(uow: UnitOfWork, app: App, day: date, partition_no: int,
                         shard_from: int, shard_to: int, figures: tuple[int, int, int],
                         helpers: Helpers | None) -> tuple[int, int, int]:
    """The deciding half of a partition, then its completion mark, and commit."""
    now = app.clock.now()
    strategy = app.strategy

    def write(_share: int, planned: Planned) -> None:
        write_decisions(uow, strategy, planned, day, now=now)

    if helpers is None:
        write(0, plan_decisions(uow.connection, strategy, day, shard_from, shard_to, now=now))
    else:
        helpers.pipeline(shard_from, shard_to,
                         lambda a, b: helpers.plan_decisions(day, a, b, now, strategy.policy.version),
                         lambda a, b: plan_decisions(uow.connection, strategy, day, a, b, now=now),
                         write)
    # Field visits: the day's proposals become candidates, visits of cases closed some
    # other way are called off, and tomorrow's appointments get their reminder.
    follow_visits(uow, day, shard_from, shard_to, now=app.clock.now())
    _mark(uow, day, partition_no, figures, status="completed", finished_at=app.clock.now())
    uow.commit()
    return figures


def _mark(uow: UnitOfWork, day: date, partition_no: int, figures: tuple[int, int, int],
          **values: object) -> None:
    touched, opened, cured = figures
    uow.connection.execute(
        update(daily_run_partitions)
        .where(daily_run_partitions.c.business_date == day,
               daily_run_partitions.c.partition_no == partition_no)
        .values(loans_touched=touched, cases_opened=opened, cases_cured=cured, **values)
    )


def _hold_partition(uow: UnitOfWork, day: date, partition_no: int, worker: str | None
                    ) -> Any:
    """Lock the partition's row for the rest of the transaction (SQLite: the database's
    write lock); the row (with its aging mark and figures) when it is still this worker's
    to run, else None."""
    p = daily_run_partitions
    uow.write_lock()
    row = uow.connection.execute(
        select(p.c.status, p.c.claimed_by, p.c.aged_at, p.c.loans_touched, p.c.cases_opened,
               p.c.cases_cured)
        .where(p.c.business_date == day, p.c.partition_no == partition_no)
        .with_for_update()
    ).first()
    if row is None or row.status == "completed":
        return None
    if uow.connection.dialect.name == "sqlite":
        return row  # the database's one write lock is held: whoever gets it first runs it
    return row if worker is None or row.claimed_by in (None, worker) else None


# ----- helper processes beside the one SQLite writer -------------------------------------


def split_shares(shard_from: int, shard_to: int, shares: int) -> list[tuple[int, int]]:
    """The shard range in at most `shares` contiguous, nearly equal shares, in shard order."""
    size = shard_to - shard_from + 1
    count = max(1, min(size, shares))
    bounds = [shard_from + size * k // count for k in range(count + 1)]
    return [(bounds[k], bounds[k + 1] - 1) for k in range(count)]


def pipeline(shares: Sequence[tuple[int, int]], helpers: int,
             there: Callable[[int, int], Future[_T]], here: Callable[[int, int], _T],
             write: Callable[[int, _T], None]) -> None:
    """Work out every share, by `helpers` helper processes (`there`) from the front and by
    this process (`here`) from the back whenever no share is ready to write, and `write`
    each, with its number in shard order, as soon as it is ready.

    So the writing, which only this process can do, overlaps the helpers' work instead of
    following it, and neither core waits for long. The order of writing varies with
    timing: what must be numbered in order, the caller records by share number afterwards.
    A helper's error is raised here, at the latest when its share would be written."""
    handed: dict[int, Future[_T]] = {}
    front, back = 0, len(shares)
    while handed or front < back:
        # Keep every helper busy with one share and the next one queued.
        while front < back and sum(not f.done() for f in handed.values()) < 2 * helpers:
            handed[front] = there(*shares[front])
            front += 1
        ready = [n for n, f in handed.items() if f.done()]
        for n in ready:
            write(n, handed.pop(n).result())
        if ready:
            continue
        if front < back:
            back -= 1
            write(back, here(*shares[back]))
        else:
            wait(handed.values(), return_when=FIRST_COMPLETED)


class Helpers:
    """Processes that read the committed books and work out shares of each partition's
    aging and decisions (the pure half of the run: ledgers, cases, facts, the policy and
    the guard) while this process writes: SQLite has one writer, but reading and deciding
    can use the other cores. A partition is cut into `SHARES_PER_PROCESS` shares
    (contiguous shard ranges) per process, worked out and written by `pipeline`.

    The helpers read in transactions of their own while this process holds the write lock,
    so no commit can come between what they read and what it writes; the shares are
    disjoint, so what this process has written of one share changes nothing another reads."""

    #: Enough shares that the writer always has one to write while the helpers work out
    #: the next, and that the last one leaves the other core idle only briefly; few enough
    #: that each is worth its queries (a dozen or so per share).
    SHARES_PER_PROCESS = 8

    def __init__(self, settings: Settings, clock: Clock, count: int) -> None:
        self.count = count
        self._pool = ProcessPoolExecutor(
            max_workers=count, mp_context=multiprocessing.get_context("spawn"),
            initializer=_helper_start, initargs=(settings, clock))

    def pipeline(self, shard_from: int, shard_to: int,
                 there: Callable[[int, int], Future[_T]], here: Callable[[int, int], _T],
                 write: Callable[[int, _T], None]) -> None:
        """`pipeline` over this partition's shares."""
        shares = split_shares(shard_from, shard_to, self.SHARES_PER_PROCESS * (self.count + 1))
        pipeline(shares, self.count, there, here, write)

    def plan_aging(self, day: date, shard_from: int, shard_to: int) -> Future[AgingWrites]:
        return self._pool.submit(_helper_plan_aging, day, shard_from, shard_to)

    def plan_decisions(self, day: date, shard_from: int, shard_to: int, now: datetime,
                       policy_version: str) -> Future[Planned]:
        """A share decided by the policy `policy_version`, the writer's."""
        return self._pool.submit(_helper_plan_decisions, day, shard_from, shard_to, now,
                                 policy_version)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_HELPER_APP: App | None = None


def _helper_start(settings: Settings, clock: Clock) -> None:
    global _HELPER_APP
    _HELPER_APP = build_app(settings, clock=clock, check_schema=False)


def _helper_app() -> App:
    if _HELPER_APP is None:  # pragma: no cover - the pool's initializer sets it
        raise RuntimeError("not a daily-run helper process")
    return _HELPER_APP


def _read_only(app: App, work: Callable[[Connection], _T]) -> _T:
    """`work` on one snapshot of the committed books, writing nothing."""
    with app.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # one snapshot for every read, not one per query
        try:
            return work(conn)
        finally:
            conn.rollback()


def _helper_plan_aging(day: date, shard_from: int, shard_to: int) -> AgingWrites:
    app = _helper_app()
    return _read_only(app, lambda conn: plan_aging(conn, app, day, shard_from, shard_to))


def _helper_plan_decisions(day: date, shard_from: int, shard_to: int, now: datetime,
                           policy_version: str) -> Planned:
    app = _helper_app()
    if app.strategy.policy.version != policy_version:
        # The policy file changed between the writer's start and the helper's.
        raise InvalidInput(f"the policy changed while the daily run of {day} started "
                           f"({policy_version} and {app.strategy.policy.version}); run it again")
    return _read_only(app, lambda conn: plan_decisions(conn, app.strategy, day, shard_from,
                                                       shard_to, now=now))


# ----- several processes ----------------------------------------------------------------


def _worker(settings: Settings, clock: Clock, through: date, lease: timedelta) -> RunResult:
    """One spawned worker process: its own App and engine, then the ordinary run."""
    app = build_app(settings, clock=clock)
    try:
        return run_days(app, through=through, lease=lease)
    finally:
        app.close()


def _run_in_processes(app: App, *, through: date, progress: Progress | None, workers: int,
                      lease: timedelta) -> RunResult:
    """`workers` processes run the dates together; this one reports progress and merges
    what each did into one result per date."""
    first = _first_date(app, through)
    if first is None:
        return RunResult([DayResult(through, skipped=True)])
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_worker, app.settings, app.clock, through, lease)
                   for _ in range(workers)]
        while True:
            done, pending = wait(futures, timeout=POLL_SECONDS, return_when=FIRST_EXCEPTION)
            if progress:
                _report_progress(app, first, through, progress)
            if not pending or any(f.exception() is not None for f in done):
                break
    results = [f.result() for f in futures]  # raises the first worker's error
    merged: dict[date, DayResult] = {}
    for result in results:
        for d in result.days:
            into = merged.setdefault(d.business_date, DayResult(d.business_date, skipped=True))
            into.skipped = into.skipped and d.skipped
            into.loans_touched += d.loans_touched
            into.cases_opened += d.cases_opened
            into.cases_cured += d.cases_cured
            into.partitions_run += d.partitions_run
    return RunResult([merged[d] for d in sorted(merged)])


def _report_progress(app: App, first: date, through: date, progress: Progress) -> None:
    p = daily_run_partitions
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(p.c.business_date, func.count(),
                   func.sum((p.c.status == "completed").cast(Integer)))
            .where(p.c.business_date >= first, p.c.business_date <= through)
            .group_by(p.c.business_date)
        ).all()
    for day, total, completed in rows:
        progress(day, int(completed or 0), int(total))
