"""Every benchmark, one command (`make bench`): figures with the machine and the date.

Writes bench/results/latest.json. Sizes: FAIRDUE_BENCH_LOANS (default 1,000,000 loans, as
the foundation issue asks; set it lower for a quick look), FAIRDUE_BENCH_WEB_CASES (open
cases of the web load test, default 100,000), or FAIRDUE_BENCH_WEB_SCHEMA to reuse the
schema of an earlier `bench_web.py --keep` run instead (its set-up takes about 11 minutes).

`python bench/run.py web [bench_web.py options]` runs only the web load test (PostgreSQL,
50 signed-in users on the queue and case pages, `fairdue serve --workers 2`) and writes
bench/results/web.json, e.g. `python bench/run.py web --schema NAME --think 5,1`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> dict[str, object]:
    mem_kib = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "python": platform.python_version(), "system": platform.platform()}


def phase(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, str(HERE / "ledger_phase.py"), *args],
                         check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def report(url: str, out: Path) -> dict[str, object]:
    """`fairdue report` over the benchmark book's two days, in a process of its own."""
    done = subprocess.run([sys.executable, str(HERE / "bench_report.py"), url, str(out)],
                          check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def dispatch() -> list[dict[str, object]]:
    """The outbox worker's throughput needs PostgreSQL; without it, say so in the results."""
    out = subprocess.run([sys.executable, str(HERE / "bench_dispatch.py"), "--loans", "20000"],
                         capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        reason = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"name": "dispatch", "skipped": f"needs PostgreSQL: {reason}"}]
    return [dict(json.loads(line)) for line in lines]


def web(options: list[str]) -> list[dict[str, object]]:
    """The pages under load (bench_web.py) needs PostgreSQL; without it, say so."""
    out = subprocess.run([sys.executable, str(HERE / "bench_web.py"), *options],
                         capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        reason = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"name": "web_load", "skipped": f"needs PostgreSQL: {reason}"}]
    return [dict(json.loads(line)) for line in lines]


def web_only(options: list[str]) -> None:
    results = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
               "results": web(options)}
    for figure in results["results"]:
        print(json.dumps(figure), flush=True)
    target = HERE / "results" / "web.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {target}")


def main() -> None:
    loans = int(os.environ.get("FAIRDUE_BENCH_LOANS", "1000000"))
    sys.path.insert(0, str(HERE))
    from bench_compliance_replay import run as replay_run
    from bench_generate import run as generate_run
    from bench_policy import run as policy_run
    from bench_strategy import run_decide
    from bench_visits import run_routes, run_verifications

    results: dict[str, object] = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                                  "machine": machine(), "loans": loans, "results": []}
    figures: list[object] = results["results"]  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="fairdue-bench-") as tmp:
        data = Path(tmp) / "portfolio"
        started = time.perf_counter()
        figures.append(generate_run(loans=loans, seed=42, out=data))
        print(json.dumps(figures[-1]), flush=True)
        url = f"sqlite:///{tmp}/bench.db"
        figures.append(phase("import", url, str(data)))
        print(json.dumps(figures[-1]), flush=True)
        # The portfolio stands at 2026-06-30: the first run ages every arrear at once,
        # the next is an ordinary day.
        figures.append(phase("run-day", url, "2026-07-01"))
        print(json.dumps(figures[-1]), flush=True)
        figures.append(phase("run-day", url, "2026-07-02"))
        print(json.dumps(figures[-1]), flush=True)
        figures.append(report(url, Path(tmp) / "report"))
        print(json.dumps(figures[-1]), flush=True)
        results["total_seconds"] = round(time.perf_counter() - started, 1)
    figures.append(replay_run())
    print(json.dumps(figures[-1]), flush=True)
    figures.append(policy_run())
    print(json.dumps(figures[-1]), flush=True)
    figures.append(run_decide(20_000))
    print(json.dumps(figures[-1]), flush=True)
    figures.append(run_routes())
    print(json.dumps(figures[-1]), flush=True)
    figures.append(run_verifications())
    print(json.dumps(figures[-1]), flush=True)
    figures.extend(dispatch())
    print(json.dumps(figures[-2:]), flush=True)
    reuse = os.environ.get("FAIRDUE_BENCH_WEB_SCHEMA")
    figures.extend(web(["--schema", reuse] if reuse else
                       ["--cases", os.environ.get("FAIRDUE_BENCH_WEB_CASES", "100000")]))
    print(json.dumps(figures[-1]), flush=True)
    target = HERE / "results" / "latest.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["web"]:
        web_only(sys.argv[2:])
    else:
        main()
