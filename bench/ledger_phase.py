"""One phase of the ledger benchmark, in its own process so its peak memory is its own.

    python bench/ledger_phase.py import DB_URL DATA_DIR
    python bench/ledger_phase.py run-day DB_URL YYYY-MM-DD
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import date
from pathlib import Path

from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.migrate import upgrade
from fairdue.bootstrap import build_app
from fairdue.services.daily_run import run_days
from fairdue.services.importing import import_portfolio
from fairdue.settings import load_settings


def main(phase: str, url: str, arg: str) -> dict[str, object]:
    settings = load_settings({}, database_url=url)
    app = build_app(settings, check_schema=False)
    try:
        if phase == "import":
            upgrade(app.engine)
            if not settings.resolved_key_file().exists():
                create_key_file(settings.resolved_key_file())
            started = time.perf_counter()
            report = import_portfolio(app, Path(arg))
            seconds = time.perf_counter() - started
            loans = report.counts["loans.csv"].added
            return {"phase": "import", "seconds": round(seconds, 2), "loans": loans,
                    "installments": report.counts["installments.csv"].added,
                    "payments": report.counts["payments.csv"].added,
                    "loans_per_second": round(loans / seconds), "rejected": len(report.errors),
                    "peak_rss_mib": _peak()}
        started = time.perf_counter()
        result = run_days(app, through=date.fromisoformat(arg))
        seconds = time.perf_counter() - started
        return {"phase": "run-day", "date": arg, "seconds": round(seconds, 2),
                "loans_touched": result.loans_touched,
                "cases_opened": sum(d.cases_opened for d in result.days),
                "peak_rss_mib": _peak()}
    finally:
        app.close()


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
