"""How fast are the agent's queue and case pages under 50 signed-in users, on PostgreSQL?

Set-up (in a schema of its own, dropped at the end, so it never meets the tests' data): a
generated portfolio (services' generator, fixed seed) imported and run through one business
date far enough after the portfolio's date that about 64% of loans are overdue (the
first run ages every arrear at once), so `--cases N` open cases need about 1.5 N loans;
40 agents and 10 supervisors (one account each), the open cases shared among the agents
round-robin. Then `fairdue serve --workers W` is started (`--workers`, default 2: one
uvicorn worker process per core of the 2-core benchmark machine, sharing one port; or
`--servers` such servers on ports of their own, the users spread over them as a proxy
would) and `--users` asyncio httpx clients sign in (`POST /api/v1/auth/login`, whose cookie
the pages read) and, for `--seconds`, each open their queue (agents `/work`, supervisors
`/supervise`) then one case of it (`/work/cases/{id}`), pausing `--think` seconds on
average (exponential) between pages. The first `--warmup` seconds are not counted.

Reported per page: requests, p50/p95/p99/max in ms, requests/s, errors, with the load
average before and after; with `--explain`, PostgreSQL's plan (EXPLAIN ANALYZE) of every
query the agent's and the team's queue send. Goal (issue 6): queue and case page p99 <
150 ms.

Run: `.venv/bin/python bench/bench_web.py [--cases 100000] [--seconds 60] [--workers 2]`;
set up once with `--keep`, then `--schema NAME` reuses it (the set-up takes ~11 min).
Needs PostgreSQL at FAIRDUE_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PASSWORD = "bench password 0123"
#: The portfolio stands at 2026-06-30; by this date about 66% of loans are overdue.
RUN_DATE = date(2026, 8, 4)
OVERDUE_SHARE = 0.64
_CASE_LINK = re.compile(r'href="/work/cases/([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def set_up(url: str, folder: Path, cases: int, agents: int, supervisors: int) -> dict[str, Any]:
    """Generate, import, run a day, add the staff and share the cases; timings returned."""
    sys.path.insert(0, str(HERE))
    from bench_generate import run as generate_run
    from sqlalchemy import func, insert, select

    from fairdue.adapters.db.migrate import upgrade
    from fairdue.adapters.db.tables import cases as cases_table
    from fairdue.adapters.db.tables_web import case_assignments
    from fairdue.bootstrap import build_app
    from fairdue.services.daily_run import run_days
    from fairdue.services.importing import import_portfolio
    from fairdue.services.staff import add_user
    from fairdue.settings import load_settings

    figures: dict[str, Any] = {}
    app = build_app(load_settings(_env(url, folder)), check_schema=False)
    try:
        upgrade(app.engine)
        loans = max(1, round(cases / OVERDUE_SHARE))
        started = time.perf_counter()
        generate_run(loans=loans, seed=11, out=folder / "data")
        figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        import_portfolio(app, folder / "data")
        figures["import_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        run_days(app, through=RUN_DATE)
        figures["run_day_seconds"] = round(time.perf_counter() - started, 1)
        names = [f"agent{n:02d}" for n in range(agents)]
        bosses = [f"sup{n:02d}" for n in range(supervisors)]
        for name in names:
            add_user(app, name, "agent", PASSWORD, actor="bench")
        for name in bosses:
            add_user(app, name, "supervisor", PASSWORD, actor="bench")
        now = app.clock.now()
        with app.engine.begin() as conn:
            open_ids = list(conn.execute(select(cases_table.c.case_id).where(
                cases_table.c.status == "open").order_by(cases_table.c.case_id)).scalars())
            # Shared out in bulk (a supervisor assigning 100,000 cases one by one through
            # the page is not what is measured here).
            rows = [{"case_id": c, "username": names[i % len(names)], "assigned_at": now,
                     "assigned_by": "bench"} for i, c in enumerate(open_ids)]
            for start in range(0, len(rows), 5000):
                conn.execute(insert(case_assignments), rows[start:start + 5000])
            conn.exec_driver_sql("ANALYZE")
            figures["loans"] = loans
            figures["open_cases"] = len(open_ids)
            figures["all_cases"] = conn.execute(select(func.count()).select_from(cases_table)).scalar()
        figures["agents"], figures["supervisors"] = names, bosses
    finally:
        app.close()
    return figures


def _existing(url: str, folder: Path) -> dict[str, Any]:
    """The figures of a schema set up by an earlier run (--keep), for --schema."""
    from sqlalchemy import func, select

    from fairdue.adapters.db.engine import make_engine
    from fairdue.adapters.db.tables import cases as cases_table
    from fairdue.adapters.db.tables_web import staff_users

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            staff = list(conn.execute(select(staff_users.c.username, staff_users.c.role)
                                      .order_by(staff_users.c.username)))
            open_cases = conn.execute(select(func.count()).select_from(cases_table).where(
                cases_table.c.status == "open")).scalar()
    finally:
        engine.dispose()
    return {"open_cases": open_cases, "reused": True,
            "agents": [u for u, r in staff if r == "agent"],
            "supervisors": [u for u, r in staff if r == "supervisor"]}


def _env(url: str, folder: Path) -> dict[str, str]:
    return {**os.environ, "FAIRDUE_DATABASE_URL": url, "FAIRDUE_KEY_FILE": str(folder / "k.key"),
            "FAIRDUE_SMS_URL": f"file://{folder}/outbox", "FAIRDUE_EMAIL_URL": f"file://{folder}/outbox",
            "FAIRDUE_PUSH_URL": f"file://{folder}/outbox", "FAIRDUE_COOKIE_SECURE": "false"}


def explain(url: str, folder: Path, agent: str) -> dict[str, str]:
    """PostgreSQL's plan (EXPLAIN ANALYZE) of each query the agent's and the team's queue
    send, as the workbench service sends them (captured from the engine, parameters
    included): the cases with a queued call, the others, and the page's promises and
    assignees."""
    from sqlalchemy import event

    from fairdue.bootstrap import build_app
    from fairdue.services.workbench import queue
    from fairdue.settings import load_settings

    app = build_app(load_settings(_env(url, folder)))
    plans: dict[str, str] = {}
    seen: list[tuple[str, Any]] = []
    try:
        for label, who in (("agent_queue", agent), ("team_queue", None)):
            seen.clear()

            def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                     executemany: bool) -> None:
                if statement.lstrip().upper().startswith("SELECT"):
                    seen.append((statement, parameters))

            event.listen(app.engine, "before_cursor_execute", grab)
            with app.engine.connect() as conn:
                queue(conn, username=who)
            event.remove(app.engine, "before_cursor_execute", grab)
            for n, (statement, parameters) in enumerate(seen, start=1):
                with app.engine.connect() as conn:
                    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement,
                                                parameters).scalars()
                    plans[f"{label} {n}/{len(seen)}"] = f"{statement}\n{chr(10).join(rows)}"
    finally:
        app.close()
    return plans


def start_servers(url: str, folder: Path, count: int, workers: int = 1
                  ) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    """`fairdue serve --workers W` processes on free ports; returns them and their base
    addresses once each answers (with several workers, once each worker has started)."""
    import httpx

    procs, bases = [], []
    fairdue = str(Path(sys.executable).parent / "fairdue")
    for _ in range(count):
        port = _free_port()
        # --workers only when asked for, so the same bench runs a fairdue without it.
        many = ["--workers", str(workers)] if workers > 1 else []
        procs.append(subprocess.Popen([fairdue, "serve", "--port", str(port), "--db", url, *many],
                                      env=_env(url, folder), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        bases.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    for proc, base in zip(procs, bases, strict=True):
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"fairdue serve exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("fairdue serve did not answer within 60 s")
            time.sleep(0.2)
    if workers > 1:
        # The port answers once the first worker is up; the others may still be importing.
        time.sleep(5)
    return procs, bases


async def _get(client: Any, path: str) -> Any:
    """GET, once more on a fresh connection when the server had closed the idle one
    (uvicorn drops keep-alive connections idle for 5 s: a long pause, not a failure);
    None when it fails again."""
    import httpx

    for attempt in (1, 2):
        try:
            return await client.get(path)
        except httpx.TransportError:
            if attempt == 2:
                return None
    return None


async def load(bases: list[str], agents: list[str], supervisors: list[str], *, users: int,
               seconds: float, warmup: float, think: float,
               supervisor_share: float = 0.2) -> dict[str, Any]:
    """`users` signed-in clients alternating queue and case pages; latencies per page."""
    import httpx

    team = [(name, "supervisor") for name in supervisors]
    crowd = [(name, "agent") for name in agents]
    people = (team[: round(users * supervisor_share)] + crowd)[:users]
    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    rng = random.Random(3)
    signed_in = asyncio.Event()
    waiting = len(people)
    clock = {"from": 0.0, "to": 0.0}

    async def one(n: int, name: str, role: str) -> None:
        nonlocal waiting
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=bases[n % len(bases)], limits=limits,
                                     timeout=30) as client:
            # Signing in (an argon2 check each) is done by everyone before the clock starts.
            answer = await client.post("/api/v1/auth/login",
                                       json={"username": name, "password": PASSWORD})
            answer.raise_for_status()
            waiting -= 1
            if waiting == 0:
                clock["from"] = time.perf_counter() + warmup
                clock["to"] = clock["from"] + seconds
                signed_in.set()
            await signed_in.wait()
            counting_from, stop_at = clock["from"], clock["to"]
            queue_path, label = ("/supervise", "team queue") if role == "supervisor" else \
                ("/work", "agent queue")
            await asyncio.sleep(rng.random() * think)       # users do not all start at once
            links: list[str] = []
            while time.perf_counter() < stop_at:
                for path, kind in ((queue_path, label), (None, "case page")):
                    if path is None:
                        if not links:
                            continue
                        path = f"/work/cases/{rng.choice(links)}"
                    before = time.perf_counter()
                    got = await _get(client, path)
                    after = time.perf_counter()
                    if got is not None and kind != "case page":
                        links = _CASE_LINK.findall(got.text)
                    if before >= counting_from and after <= stop_at:
                        if got is not None and got.status_code == 200:
                            samples[kind].append((after - before) * 1000)
                        else:
                            errors[kind] += 1
                    if think > 0:
                        await asyncio.sleep(rng.expovariate(1 / think))

    await asyncio.gather(*(one(n, name, role) for n, (name, role) in enumerate(people)))
    out: dict[str, Any] = {}
    for kind, values in sorted(samples.items()):
        values.sort()
        q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
        out[kind] = {"requests": len(values), "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1),
                     "p99_ms": round(q[98], 1), "max_ms": round(values[-1], 1),
                     "requests_per_second": round(len(values) / seconds, 1),
                     "errors": errors.get(kind, 0)}
    total = sum(len(v) for v in samples.values())
    out["all pages"] = {"requests": total, "requests_per_second": round(total / seconds, 1),
                        "errors": sum(errors.values())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="open cases wanted (about)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--think", default="1",
                        help="mean pause between a user's pages, seconds (0: no pause); a "
                             "comma-separated list runs the load once for each on one set-up")
    parser.add_argument("--workers", type=int, default=2,
                        help="fairdue serve --workers: worker processes of each server")
    parser.add_argument("--servers", type=int, default=1,
                        help="fairdue serve processes, on ports of their own")
    parser.add_argument("--supervisor-share", type=float, default=0.2,
                        help="share of the users who are supervisors (team queue)")
    parser.add_argument("--explain", action="store_true", help="print the queue queries' plans")
    parser.add_argument("--schema", help="reuse this schema, set up by an earlier --keep run")
    parser.add_argument("--keep", action="store_true",
                        help="keep the schema (and print its name and key file) for --schema")
    args = parser.parse_args()

    from sqlalchemy import text

    from fairdue.adapters.crypto import create_key_file
    from fairdue.adapters.db.engine import make_engine

    base = os.environ.get("FAIRDUE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    schema = args.schema or f"bench_web_{os.getpid()}"
    url = f"{base}?schema={schema}"
    keep = args.keep or bool(args.schema)
    if not args.schema:
        with make_engine(base).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    procs: list[subprocess.Popen[bytes]] = []
    kept = Path(tempfile.gettempdir()) / f"fairdue-{schema}"
    try:
        with tempfile.TemporaryDirectory(prefix="fairdue-bench-web-") as tmp:
            folder = kept if keep else Path(tmp)
            folder.mkdir(exist_ok=True)
            if args.schema:
                setup = _existing(url, folder)
            else:
                create_key_file(folder / "k.key")
                setup = set_up(url, folder, args.cases, agents=40, supervisors=10)
                if keep:
                    print(f"kept: --schema {schema} (key file in {folder})", flush=True)
            agents, supervisors = setup.pop("agents"), setup.pop("supervisors")
            print(json.dumps({"name": "web_setup", **setup}), flush=True)
            if args.explain:
                for label, plan in explain(url, folder, agents[0]).items():
                    print(f"--- {label}\n{plan}", flush=True)
            procs, bases = start_servers(url, folder, args.servers, args.workers)
            for think in (float(v) for v in args.think.split(",")):
                load_before = os.getloadavg()[0]
                pages = asyncio.run(load(bases, agents, supervisors, users=args.users,
                                         seconds=args.seconds, warmup=args.warmup, think=think,
                                         supervisor_share=args.supervisor_share))
                figure = {"name": "web_load", "database": "postgresql",
                          "open_cases": setup["open_cases"], "users": args.users,
                          "servers": args.servers, "workers": args.workers,
                          "seconds": args.seconds,
                          "supervisors": round(args.users * args.supervisor_share),
                          "think_seconds": think, "pages": pages, "goal_p99_ms": 150,
                          "goal_met": all(v.get("p99_ms", 0) < 150 for k, v in pages.items()
                                          if k != "all pages"),
                          "load_average_1min_before": round(load_before, 1),
                          "load_average_1min_after": round(os.getloadavg()[0], 1)}
                print(json.dumps(figure), flush=True)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        if not keep:
            with make_engine(base).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
