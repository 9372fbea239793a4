"""The daily run: its bulk path gives the books of the plain one, and several processes
share a date and give the books of one.

`age_partition` reads a partition's overdue installments in one query and writes through
the driver; `reference_age_partition` below is the daily run as first written: whole
ledgers loaded loan by loan through the repository, saved through the generic savers, the
partition's open cases found by joining borrowers. Both live a generated portfolio through
a week with payments in between.

Partitions are claimed one process at a time (`FOR UPDATE SKIP LOCKED`), a claim older
than the lease is taken over, two runs started at once start the date once, and whichever
process finishes the last partition completes the date. On SQLite, with its one writer,
`--workers` runs in one process, and two commands at once take turns.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

import fairdue.services.daily_run as daily_run
from fairdue.adapters.audit import verify_audit
from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.ledger_repo import (
    add_bucket_moves,
    load_loans,
    save_installments,
    save_loan_states,
)
from fairdue.adapters.db.migrate import upgrade
from fairdue.adapters.db.tables import (
    audit_log,
    borrowers,
    cases,
    daily_run_partitions,
    daily_runs,
    decisions,
    installments,
    loan_bucket_history,
    loans,
)
from fairdue.adapters.policy_file import default_policy_text
from fairdue.bootstrap import App, build_app
from fairdue.clock import FixedClock
from fairdue.domain.cases import Arrears, LoanArrears
from fairdue.domain.events import InstallmentMissed, LoanBucketChanged
from fairdue.domain.money import Money
from fairdue.errors import InvalidInput
from fairdue.portfolio import generate_portfolio
from fairdue.services.arrears import reconcile_cases
from fairdue.services.daily_run import claim_partition, partitions_for, run_days, start_day
from fairdue.services.export import write_export
from fairdue.services.importer import import_portfolio
from fairdue.services.payments import PaymentRequest, post_payment
from fairdue.services.unit_of_work import UnitOfWork
from fairdue.settings import load_settings

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 7, 8, 12, 0, tzinfo=CST)
DAY1, DAY3 = date(2026, 7, 1), date(2026, 7, 3)


def reference_age_partition(uow: UnitOfWork, app: App, day: date, shard_from: int,
                            shard_to: int) -> tuple[int, int, int]:
    """The partition's work as first written, loan by loan through the repository."""
    conn = uow.connection
    buckets = app.buckets
    ids = conn.execute(select(loans.c.loan_id).where(
        loans.c.next_unpaid_due_on < day, loans.c.shard.between(shard_from, shard_to))).scalars()
    stored = load_loans(conn, list(ids))
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
        state_rows.append({
            "k_loan": ledger.loan_id, "accrued_through": ledger.accrued_through, "dpd": dpd,
            "bucket": bucket, "amount_due_minor": amount_due,
            "outstanding_minor": loan.outstanding_minor + penalty_added,
        })
        per_borrower[loan.borrower_id].append(
            LoanArrears(ledger.loan_id, dpd, Money.from_minor(amount_due, ledger.currency)))
        currency.setdefault(loan.borrower_id, ledger.currency)
    for borrower_id in conn.execute(
        select(cases.c.borrower_id)
        .join(borrowers, borrowers.c.borrower_id == cases.c.borrower_id)
        .where(cases.c.status == "open", borrowers.c.shard.between(shard_from, shard_to))
    ).scalars():
        per_borrower.setdefault(borrower_id, [])
    arrears = {b: Arrears.of(items, currency.get(b, app.settings.currency))
               for b, items in per_borrower.items()}
    save_installments(conn, stored.values(), only_penalty=True)
    save_loan_states(conn, state_rows)
    add_bucket_moves(conn, moves)
    changes = reconcile_cases(uow, arrears, on=day, grace_days=app.settings.grace_days,
                              buckets=buckets, cure_reason="no loan overdue at the daily run")
    return len(stored), changes.opened, changes.cured


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("portfolio")
    generate_portfolio(folder, loans=900, seed=5)
    return folder


def make_app(url: str, key_file: Path, *, clock: FixedClock | None = None,
             run_partitions: int | None = None) -> App:
    settings = load_settings({}, database_url=url, key_file=str(key_file),
                             run_partitions=run_partitions)
    if not key_file.exists():
        create_key_file(key_file)
    app = build_app(settings, clock=clock or FixedClock(NOW), check_schema=False)
    upgrade(app.engine)
    return app


@pytest.fixture
def books_partitions() -> int | None:
    """The books' partitions a day: the default (8 on PostgreSQL, 1 on SQLite) unless a test
    whose subject is not partitions asks for fewer."""
    return None


@pytest.fixture
def two_books(db_url: str, second_db_url: str, portfolio: Path, tmp_path: Path,
              books_partitions: int | None) -> Iterator[tuple[App, App]]:
    """The portfolio imported into two fresh databases on the same backend."""
    apps = [make_app(url, tmp_path / "k.key", run_partitions=books_partitions)
            for url in (db_url, second_db_url)]
    try:
        for app in apps:
            report = import_portfolio(app, portfolio)
            assert report.ok, [str(e) for e in report.errors[:5]]
        yield apps[0], apps[1]
    finally:
        for app in apps:
            app.close()


def books(app: App) -> dict[str, Any]:
    """Loans, installment penalties, cases, bucket history, events (without their ids and
    times of writing), the dates run and each date's audited figures."""

    def export(what: str) -> list[str]:
        out = io.StringIO()
        with app.engine.connect() as conn:
            write_export(conn, what, "jsonl", out)
        return out.getvalue().splitlines()

    events = sorted(json.dumps([e["name"], e["subject"], e["occurred_on"], e["payload"]])
                    for e in map(json.loads, export("events")))
    with app.engine.connect() as conn:
        assert verify_audit(conn).ok
        penalties = sorted(conn.execute(select(
            installments.c.loan_id, installments.c.seq, installments.c.penalty_minor)).all())
        moves = sorted(conn.execute(select(
            loan_bucket_history.c.loan_id, loan_bucket_history.c.moved_on,
            loan_bucket_history.c.from_bucket, loan_bucket_history.c.to_bucket,
            loan_bucket_history.c.dpd)).all())
        runs = conn.execute(select(daily_runs.c.business_date, daily_runs.c.status)
                            .order_by(daily_runs.c.business_date)).all()
        completed = [(r.subject, json.loads(r.details)) for r in conn.execute(
            select(audit_log.c.subject, audit_log.c.details)
            .where(audit_log.c.action == "DailyRunCompleted").order_by(audit_log.c.seq))]
    return {"loans": export("loans"), "cases": export("cases"), "penalties": penalties,
            "moves": moves, "events": events, "runs": runs, "completed": completed}


def decided(app: App) -> dict[str, list[str]]:
    """The decisions and the contacts they planned, as exported (with their times: the same
    only under the same clock)."""
    found = {}
    for what in ("decisions", "contacts"):
        out = io.StringIO()
        with app.engine.connect() as conn:
            write_export(conn, what, "jsonl", out)
        found[what] = sorted(out.getvalue().splitlines())
    return found


def figures(days: list[daily_run.DayResult]) -> list[tuple[object, ...]]:
    return [(d.business_date, d.loans_touched, d.cases_opened, d.cases_cured) for d in days]


def live_a_week(app: App) -> list[daily_run.DayResult]:
    days = []
    for through, payer in ((date(2026, 7, 1), 0), (date(2026, 7, 3), 1), (date(2026, 7, 6), 2)):
        days += run_days(app, through=through).days
        # Pay off the most overdue loan of every fifth borrower in arrears: cures, and
        # loans that leave and re-enter the run.
        with app.engine.connect() as conn:
            overdue = conn.execute(
                select(loans.c.loan_id, loans.c.amount_due_minor)
                .where(loans.c.dpd > 0).order_by(loans.c.loan_id)).all()
        for loan_id, due in overdue[payer::5]:
            post_payment(app, PaymentRequest(
                f"PX-{through:%m%d}-{loan_id}", loan_id, f"{due // 100}.{due % 100:02d}",
                datetime.combine(through, datetime.min.time(), CST) + timedelta(hours=20),
                "bank"))
    return days


@pytest.mark.parametrize("books_partitions", [1])  # the aging is the subject here
def test_the_bulk_daily_run_gives_the_books_the_plain_one_gives(
    two_books: tuple[App, App], monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain, bulk = two_books
    with monkeypatch.context() as patch:
        patch.setattr(daily_run, "age_partition", reference_age_partition)
        plain_days = live_a_week(plain)
    bulk_days = live_a_week(bulk)

    assert figures(bulk_days) == figures(plain_days)
    assert sum(d.loans_touched for d in bulk_days) > 100
    assert sum(d.cases_opened for d in bulk_days) > 50
    state = books(bulk)
    assert state == books(plain)
    assert any('"status": "cured"' in c for c in state["cases"])


def test_two_worker_processes_give_the_books_one_process_gives(
    two_books: tuple[App, App],
) -> None:
    """PostgreSQL: two workers share the partitions. SQLite: this process writes and one
    helper process works out half of each partition's aging and decisions."""
    shared, single = two_books

    together = run_days(shared, through=DAY1, workers=2).days
    together += run_days(shared, through=DAY3, workers=2).days  # 2 and 3 July, in order
    alone = run_days(single, through=DAY1).days + run_days(single, through=DAY3).days

    assert [d.business_date for d in together] == [date(2026, 7, d) for d in (1, 2, 3)]
    assert figures(together) == figures(alone)
    # Eight partitions where several processes can write (PostgreSQL), one on SQLite.
    expected = partitions_for(None, shared.engine.dialect.name)
    assert expected == (1 if shared.engine.dialect.name == "sqlite" else 8)
    assert [d.partitions_run for d in together] == [expected] * 3
    assert together[0].loans_touched > 0 and together[0].cases_opened > 0
    # The same books, decisions and contacts; each date completed once, by whichever
    # process finished its last partition, with the whole date's figures.
    assert books(shared) == books(single)
    plans = decided(shared)
    assert plans == decided(single)
    assert len(plans["decisions"]) > 50 and len(plans["contacts"]) > 50
    with shared.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(
            daily_run_partitions.c.status != "completed")).scalar_one() == 0


def test_two_run_day_commands_started_at_once_share_the_date(
    two_books: tuple[App, App], tmp_path: Path,
) -> None:
    shared, single = two_books
    env = {**os.environ, "FAIRDUE_DATABASE_URL": shared.settings.database_url,
           "FAIRDUE_KEY_FILE": str(shared.settings.key_file), "FAIRDUE_CONFIG": ""}
    command = [str(Path(sys.executable).parent / "fairdue"), "run-day", "--date", DAY1.isoformat()]
    started = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in started]
    assert [p.returncode for p in started] == [0, 0], outputs

    run_days(single, through=DAY1)
    state = books(shared)
    assert state == books(single)
    assert state["runs"] == [(DAY1, "completed")]


def test_a_date_started_twice_at_the_same_moment_is_started_once(
    two_books: tuple[App, App],
) -> None:
    shared, _ = two_books
    # Another process has inserted the date but not committed yet: this one reads no
    # run, tries to insert it, waits, and on the unique violation shares the other's.
    with shared.engine.connect() as other:
        other.execute(insert(daily_runs).values(
            business_date=DAY1, status="running", partitions=8, started_at=NOW))
        other.execute(insert(daily_run_partitions), [
            {"business_date": DAY1, "partition_no": i, "shard_from": a, "shard_to": b,
             "status": "pending"} for i, (a, b) in enumerate(daily_run.partition_ranges(8))])
        found: list[int | None] = []
        racer = threading.Thread(target=lambda: found.append(start_day(shared, DAY1)))
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive()  # waiting on the other transaction's row
        other.commit()
    racer.join(timeout=30)
    assert found == [8]


def test_a_stale_claim_is_taken_over_and_a_live_one_is_not(
    two_books: tuple[App, App], tmp_path: Path,
) -> None:
    shared, single = two_books
    if shared.engine.dialect.name == "sqlite":
        pytest.skip("leases and row locks share a run on PostgreSQL; on SQLite one process "
                    "runs every partition")
    assert start_day(shared, DAY1) == 8
    before = make_app(shared.settings.database_url, tmp_path / "k.key",
                      clock=FixedClock(NOW - timedelta(hours=1)))
    try:
        # A worker claimed partition 0 an hour ago and died before running it.
        assert claim_partition(before, DAY1, worker="dead") == (0, *daily_run.partition_ranges(8)[0])
    finally:
        before.close()
    # Its claim is past the lease: the next claimant takes it over. Partition 1 is claimed
    # now by a live worker, so the one after gets partition 2.
    assert claim_partition(shared, DAY1, worker="w3")[0] == 0  # type: ignore[index]
    assert claim_partition(shared, DAY1, worker="live")[0] == 1  # type: ignore[index]
    assert claim_partition(shared, DAY1, worker="w4")[0] == 2  # type: ignore[index]
    with shared.engine.connect() as conn:
        holders = dict(conn.execute(select(daily_run_partitions.c.partition_no,
                                           daily_run_partitions.c.claimed_by)
                                    .where(daily_run_partitions.c.status == "running")).all())
        assert holders == {0: "w3", 1: "live", 2: "w4"}
        # A partition being run (its row locked by the running transaction) is never
        # handed out, however old its claim: with no lease at all, every claim is stale,
        # and the first partition not locked is the one handed out.
        conn.execute(text("SELECT 1 FROM daily_run_partitions WHERE partition_no = 0 "
                          "FOR UPDATE"))
        assert claim_partition(shared, DAY1, worker="w5", lease=timedelta(0))[0] == 1  # type: ignore[index]
        conn.rollback()

    # The dead and abandoned claims are taken over once their lease is past: the run
    # completes and the books are those of a clean run.
    result = run_days(shared, through=DAY1, lease=timedelta(0))
    assert result.days[0].partitions_run == 8
    run_days(single, through=DAY1)
    assert books(shared) == books(single)


def test_a_partition_another_worker_completed_is_not_run_again(
    two_books: tuple[App, App],
) -> None:
    shared, _ = two_books
    start_day(shared, DAY1)
    part = claim_partition(shared, DAY1, worker="slow")
    assert part is not None
    # The claim is taken over and the partition completed meanwhile ...
    taken = claim_partition(shared, DAY1, worker="fast", lease=timedelta(0))
    assert taken == part
    assert daily_run.run_partition(shared, DAY1, *part, worker="fast") is not None
    # ... so the slow worker, coming back, finds nothing to do.
    assert daily_run.run_partition(shared, DAY1, *part, worker="slow") is None


def test_a_date_is_one_partition_on_sqlite_and_eight_on_postgresql_unless_the_settings_say() -> None:
    assert partitions_for(None, "sqlite") == 1
    assert partitions_for(None, "postgresql") == 8
    assert partitions_for(4, "sqlite") == 4
    assert partitions_for(3, "postgresql") == 3


def test_a_run_stopped_between_aging_and_deciding_decides_without_aging_again(
    two_books: tuple[App, App], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a helper process a partition commits its aging before its decisions (the
    helper reads only committed books); a run stopped in between resumes at the decisions."""
    stopped, single = two_books
    if stopped.engine.dialect.name != "sqlite":
        pytest.skip("helper processes serve SQLite's single writer; PostgreSQL shares "
                    "partitions among workers in one transaction each")

    def power_cut(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(daily_run, "_decide_and_complete", power_cut)
        with pytest.raises(RuntimeError, match="power cut"):
            run_days(stopped, through=DAY1, workers=2)
    with stopped.engine.connect() as conn:
        mark = conn.execute(select(
            daily_run_partitions.c.status, daily_run_partitions.c.aged_at,
            daily_run_partitions.c.loans_touched, daily_run_partitions.c.cases_opened,
        )).one()
        assert mark.status == "pending" and mark.aged_at is not None  # claim given back
        assert mark.loans_touched > 0 and mark.cases_opened > 0
        assert conn.execute(select(func.count()).select_from(decisions)).scalar_one() == 0
        aged = conn.execute(select(func.count()).select_from(cases)).scalar_one()
        assert aged == mark.cases_opened

    resumed = run_days(stopped, through=DAY1).days
    alone = run_days(single, through=DAY1).days

    assert figures(resumed) == figures(alone)
    assert books(stopped) == books(single)  # penalty charged once, cases opened once
    assert decided(stopped) == decided(single)


def test_a_helper_that_reads_another_policy_stops_the_run_with_the_reason(
    db_url: str, portfolio: Path, tmp_path: Path,
) -> None:
    """The helpers load the policy file when they start: changed in between, the writer's
    and the helpers' decisions would follow two policies. The run stops instead."""
    if not db_url.startswith("sqlite"):
        pytest.skip("helper processes serve SQLite's single writer")
    policy = tmp_path / "policy.yaml"
    policy.write_text(default_policy_text(), encoding="utf-8")
    key_file = tmp_path / "p.key"
    create_key_file(key_file)
    settings = load_settings({}, database_url=db_url, key_file=str(key_file), policy=str(policy))
    app = build_app(settings, clock=FixedClock(NOW), check_schema=False)
    try:
        assert import_portfolio(app, portfolio).ok
        assert app.strategy.source == str(policy)  # the writer has read it
        policy.write_text(default_policy_text() + "\n# edited while the run started\n",
                          encoding="utf-8")
        with pytest.raises(InvalidInput, match="the policy changed while the daily run"):
            run_days(app, through=DAY1, workers=2)
        with app.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(decisions)).scalar_one() == 0
            assert conn.execute(select(daily_run_partitions.c.status)).scalar_one() == "pending"
    finally:
        app.close()
