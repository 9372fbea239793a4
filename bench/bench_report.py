"""Time `fairdue report` on a benchmark database, in its own process (its own peak memory).

    python bench/bench_report.py DB_URL OUT_DIR

Prints one JSON line: the seconds to compute every figure (SQL) and to write the page, its
charts and CSV files, with the window and the number of figures.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from fairdue.adapters.report_writer import write_report
from fairdue.bootstrap import build_app
from fairdue.services.reports import build_report
from fairdue.settings import load_settings


def run(url: str, out: Path) -> dict[str, object]:
    app = build_app(load_settings({}, database_url=url), check_schema=False)  # as ledger_phase
    try:
        started = time.perf_counter()
        report = build_report(app)
        computed = time.perf_counter() - started
        write_report(report, out)
        seconds = time.perf_counter() - started
    finally:
        app.close()
    return {"name": "report", "seconds": round(seconds, 2), "sql_seconds": round(computed, 2),
            "from": report.window.start.isoformat(), "to": report.window.end.isoformat(),
            "figures": len(report.figures()),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], Path(sys.argv[2]))))
