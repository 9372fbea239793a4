"""How fast does the strategy decide, and how long is a daily run with many open cases?

Two figures, as the strategy issue asks:
- `decide`: policy plus guard evaluation, in memory, on one core: the default policy and the
  `cn` guard over synthetic open cases with realistic facts (a contact history of the last
  days for a third of them, restrictions for a few). Cases per second of wall time and of
  CPU time (the machine may be shared: the load average is reported with it).
- `run`: a full daily run on SQLite with about 100,000 open cases (156,250 loans): a
  generated portfolio is imported, then the run-day is run 35 days after the portfolio's
  date (so that most loans have fallen due and opened a case); that database is kept, and
  each repetition copies it and runs the next day, an ordinary day with every case already
  open (aging, deciding, writing decisions and contacts to the outbox), in a process of its
  own. The second day is the figure: wall and CPU seconds, the load average at its end.

Run: `.venv/bin/python bench/bench_strategy.py [--cases N] [--loans N] [--repeat N]
[--work DIR] [--workers N] [--skip-run]`; with `--work DIR` the imported book and its first day are kept
in DIR and reused by the next invocation (delete DIR after changing the schema or the
generator).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from fairdue.adapters.db.engine import make_engine
from fairdue.adapters.db.strategy_repo import OpenCase, PastAttempt
from fairdue.domain.contact_holds import Restriction
from fairdue.domain.contact_outcomes import ChannelState, ContactStanding
from fairdue.services.decide import CaseInputs, decide_cases
from fairdue.services.guard_feed import history_since
from fairdue.services.strategy import load_strategy
from fairdue.settings import load_settings

HERE = Path(__file__).resolve().parent
DAY = date(2026, 8, 4)
NOW = datetime(2026, 8, 3, 16, 30, tzinfo=UTC)  # 00:30 in Shanghai on DAY


def synthetic_inputs(cases: int, seed: int = 11) -> CaseInputs:
    rng = random.Random(seed)
    found: list[OpenCase] = []
    inputs = CaseInputs(found)
    for n in range(cases):
        borrower = f"B{n:08d}"
        dpd = rng.choice([1, 1, 2, 3, 5, 8, 13, 21, 34, 45, 60, 95, 130, 200])
        found.append(OpenCase(
            case_id=f"C-{borrower}-20260701", borrower_id=borrower, dpd=dpd,
            bucket="M1" if dpd <= 30 else "M2", amount_due_minor=rng.randint(5_000, 2_000_000),
            currency="CNY", overdue_loans=rng.choice([1, 1, 1, 2]),
            opened_on=DAY - timedelta(days=min(dpd, 60)), timezone="Asia/Shanghai",
            language="zh-CN", has_phone=True, has_email=rng.random() < 0.4,
            has_app=rng.random() < 0.6,
        ))
        inputs.principal[borrower] = rng.randint(5_000, 3_000_000)
        if rng.random() < 0.33:
            states: dict[str, ChannelState] = {}
            history: list[PastAttempt] = []
            for back in range(rng.randint(1, 6)):
                at = NOW - timedelta(days=back, hours=rng.randint(1, 12))
                outcome = rng.choice(["no_answer", "no_answer", "busy", "conversation"])
                history.append(PastAttempt(at, "call", "debtor", outcome))
                history.append(PastAttempt(at + timedelta(minutes=5), "sms", "debtor", "delivered"))
            history.sort(key=lambda a: a.at)
            inputs.history[borrower] = history
            states["call"] = ChannelState(None, history[-1].at, None, rng.randint(0, 5))
            states["sms"] = ChannelState(DAY - timedelta(days=rng.randint(1, 5)), None, None, 0)
            inputs.states[borrower] = states
            inputs.standings[borrower] = ContactStanding(
                None, rng.randint(0, 8), None, rng.choice([0, 0, 1, 3]), 0, rng.choice([0, 0, 3]),
            )
        if rng.random() < 0.03:
            kind = rng.choice(["complaint", "opt_out", "dispute"])
            inputs.restrictions[borrower] = [Restriction(
                kind, "sms" if kind == "opt_out" else None, NOW - timedelta(days=2))]
    return inputs


def run_decide(cases: int) -> dict[str, object]:
    strategy = load_strategy(load_settings({}))
    inputs = synthetic_inputs(cases)
    # What the run reads: only the attempts the profile's windows can still count.
    since = history_since(strategy.profile, DAY)
    inputs.history = {b: kept for b, past in inputs.history.items()
                      if (kept := [a for a in past if a.at >= since])}
    started, cpu = time.perf_counter(), time.process_time()
    planned = decide_cases(strategy, DAY, NOW, inputs)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return {"name": "decide", "cases": cases, "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu_seconds, 3),
            "cases_per_second": round(cases / seconds),
            "cases_per_cpu_second": round(cases / cpu_seconds),
            "contacts": len(planned.contacts), "blocked": planned.tally.blocked,
            "load_average_1min": round(os.getloadavg()[0], 2)}


def _phase(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, str(HERE / "ledger_phase.py"), *args],
                         check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


FIRST_DAY, SECOND_DAY = "2026-08-04", "2026-08-05"


def _first_day_book(work: Path, loans: int) -> tuple[Path, dict[str, object] | None]:
    """The imported book after its first daily run, built once per `work` folder."""
    book = work / f"day1-{loans}.db"
    if book.exists():
        return book, None
    from bench_generate import run as generate_run

    data = work / f"portfolio-{loans}"
    generate_run(loans=loans, seed=7, out=data)
    building = work / "building.db"
    for stale in work.glob("building.db*"):
        stale.unlink()
    url = f"sqlite:///{building}"
    _phase("import", url, str(data))
    first = _phase("run-day", url, FIRST_DAY)
    engine = make_engine(url)
    with engine.connect() as conn:  # everything in the main file, so a copy is the book
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    shutil.copyfile(building, book)
    key = building.with_suffix(".key")
    if key.exists():
        shutil.copyfile(key, book.with_suffix(".key"))
    return book, first


def run_full_day(loans: int, *, repeat: int = 1, work: Path | None = None, workers: int = 2
                 ) -> dict[str, object]:
    from fairdue.adapters.db.tables import cases, contacts, decisions

    with tempfile.TemporaryDirectory(prefix="fairdue-bench-strategy-") as tmp:
        folder = work or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        book, first = _first_day_book(folder, loans)
        runs: list[dict[str, object]] = []
        for _ in range(repeat):
            copy = Path(tmp) / "run.db"
            for stale in Path(tmp).glob("run.*"):
                stale.unlink()
            shutil.copyfile(book, copy)  # each repetition starts from the same books
            if book.with_suffix(".key").exists():
                shutil.copyfile(book.with_suffix(".key"), copy.with_suffix(".key"))
            url = f"sqlite:///{copy}"
            runs.append(_phase("run-day", url, SECOND_DAY, str(workers)))
        engine = make_engine(url)
        with engine.connect() as conn:
            open_cases = conn.execute(
                select(func.count()).select_from(cases).where(cases.c.status == "open")
            ).scalar()
            made = conn.execute(
                select(func.count()).select_from(decisions)
                .where(decisions.c.business_date == date(2026, 8, 5))
            ).scalar()
            planned = conn.execute(
                select(func.count()).select_from(contacts)
                .where(contacts.c.decision_id.like("%@20260805"))
            ).scalar()
        engine.dispose()
    best = min(runs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    return {"name": "strategy_daily_run", "loans": loans, "workers": workers,
            "open_cases": open_cases,
            "decisions_second_day": made, "contacts_second_day": planned,
            "first_day_seconds": first["seconds"] if first else None,
            "second_day_seconds": best["seconds"], "second_day_cpu_seconds": best["cpu_seconds"],
            "aging_seconds": best["aging_seconds"], "deciding_seconds": best["deciding_seconds"],
            "load_average_1min": best["load_average_1min"],
            "peak_rss_mib": best["peak_rss_mib"],
            "repetitions": [{k: r[k] for k in ("seconds", "cpu_seconds", "load_average_1min")}
                            for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--loans", type=int, default=156_250,
                        help="loans in the book of the run (156,250: about 100,000 open cases)")
    parser.add_argument("--repeat", type=int, default=1, help="daily runs, each on a fresh copy")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the imported book here and reuse it next time")
    parser.add_argument("--workers", type=int, default=2,
                        help="`run-day --workers` of the measured day (SQLite: the writer and "
                             "N-1 helpers)")
    parser.add_argument("--skip-run", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    print(json.dumps(run_decide(args.cases)), flush=True)
    if not args.skip_run:
        print(json.dumps(run_full_day(args.loans, repeat=args.repeat, work=args.work,
                                      workers=args.workers)),
              flush=True)


if __name__ == "__main__":
    main()
