"""One phase of the ledger benchmark, in its own process so its peak memory is its own.

    python bench/ledger_phase.py import DB_URL DATA_DIR
    python bench/ledger_phase.py run-day DB_URL YYYY-MM-DD [WORKERS]

WORKERS (default 2, the machine's cores) is `fairdue run-day --workers`: on SQLite the
writer and WORKERS - 1 helper processes; their CPU time is counted with the run's.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import fairdue.services.daily_run as daily_run
from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.migrate import upgrade
from fairdue.adapters.db.tables import cases
from fairdue.bootstrap import build_app
from fairdue.services.daily_run import run_days
from fairdue.services.importing import import_portfolio
from fairdue.settings import load_settings


def main(phase: str, url: str, arg: str, workers: str = "2") -> dict[str, object]:
    settings = load_settings({}, database_url=url)
    app = build_app(settings, check_schema=False)
    try:
        if phase == "import":
            upgrade(app.engine)
            if not settings.resolved_key_file().exists():
                create_key_file(settings.resolved_key_file())
            load = os.getloadavg()[0]
            started, cpu = time.perf_counter(), _cpu()
            report = import_portfolio(app, Path(arg))
            seconds = time.perf_counter() - started
            loans = report.counts["loans.csv"].added
            # The import prepares batches in a worker process on the second core: its CPU
            # time and memory are the children's, and count as the import's.
            return {"phase": "import", "seconds": round(seconds, 2), "loans": loans,
                    "installments": report.counts["installments.csv"].added,
                    "payments": report.counts["payments.csv"].added,
                    "loans_per_second": round(loans / seconds), "rejected": len(report.errors),
                    "cpu_seconds": round(_cpu() - cpu, 1),
                    "load_average_1min_before": round(load, 1),
                    "load_average_1min_after": round(os.getloadavg()[0], 1),
                    "peak_rss_mib": _peak(), "worker_peak_rss_mib": _peak_children()}
        spent = _time_halves()
        started, cpu = time.perf_counter(), _cpu()
        result = run_days(app, through=date.fromisoformat(arg), workers=int(workers))
        seconds = time.perf_counter() - started
        return {"phase": "run-day", "date": arg, "workers": int(workers),
                "seconds": round(seconds, 2), "cpu_seconds": round(_cpu() - cpu, 2),
                "aging_seconds": round(spent["aging"], 2),
                "deciding_seconds": round(spent["deciding"], 2),
                "loans_touched": result.loans_touched,
                "cases_opened": sum(d.cases_opened for d in result.days),
                "open_cases": _open_cases(app),
                "load_average_1min": round(os.getloadavg()[0], 1),
                "peak_rss_mib": _peak()}
    finally:
        app.close()


def _time_halves() -> dict[str, float]:
    """Time the run's two halves inside each partition, as this process sees them: aging
    the loans and cases, and deciding the contacts with the partition's commit (the rest
    is claiming, committing the aging when helpers run, and completing the date)."""
    spent = {"aging": 0.0, "deciding": 0.0}
    for name, half in (("_age", "aging"), ("_decide_and_complete", "deciding")):
        real = getattr(daily_run, name, None)
        if real is None:
            continue

        def timed(*args: Any, _real: Any = real, _half: str = half, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                return _real(*args, **kwargs)
            finally:
                spent[_half] += time.perf_counter() - begun

        setattr(daily_run, name, timed)
    return spent


def _open_cases(app: Any) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(cases.c.status == "open")).scalar_one())


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _peak_children() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def _cpu() -> float:
    """User and system CPU seconds of this process and its finished children."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
