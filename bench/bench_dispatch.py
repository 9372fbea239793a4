"""How many messages a second does `fairdue worker` dispatch, with 1 and 2 processes?

On PostgreSQL (the production database; several workers share the outbox through
`FOR UPDATE SKIP LOCKED`), to a local JSON SMS gateway (an asyncio server in its own
process, keep-alive, deduplicating by idempotency key). A generated portfolio is imported
and aged so that most borrowers have an open case, the run-day plans their messages, then
every message is made due and the workers are timed until the outbox is empty. The same
messages are dispatched again (reset to scheduled) for each worker count. Zero duplicates
is checked: the gateway counts each idempotency key once.

Run: `.venv/bin/python bench/bench_dispatch.py [--loans N] [--workers 1,2]`
Needs PostgreSQL at FAIRDUE_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import func, select, text, update

HERE = Path(__file__).resolve().parent


def _gateway(port_out: Connection, stats: Connection, port: int) -> None:
    """An asyncio HTTP/1.1 server: POST with Content-Length, answers 202 {"message_id"}."""
    seen: dict[str, str] = {}
    requests = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, key = 0, ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    lowered = name.strip().lower()
                    if lowered == b"content-length":
                        length = int(value)
                    elif lowered == b"idempotency-key":
                        key = value.strip().decode()
                payload = await reader.readexactly(length)
                if head.startswith(b"POST /sms/batch"):
                    results = []
                    for message in json.loads(payload)["messages"]:
                        requests += 1
                        results.append({"id": message["id"], "message_id": seen.setdefault(
                            message["id"], f"gw-{len(seen)}")})
                    body = json.dumps({"results": results}).encode()
                else:
                    requests += 1
                    body = json.dumps({"message_id": seen.setdefault(key, f"gw-{len(seen)}")}).encode()
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        nonlocal requests
        server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_port=True)
        port_out.send(server.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        while True:
            if await loop.run_in_executor(None, stats.poll, 0.2):
                stats.recv()
                stats.send({"requests": requests, "unique": len(seen)})
                seen.clear()
                requests = 0  # read by handle() through the closure

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--batches", default="1,100",
                        help="messages per gateway request: 1 = one request each")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_generate import run as generate_run

    from fairdue.adapters.crypto import create_key_file
    from fairdue.adapters.db.engine import make_engine
    from fairdue.adapters.db.migrate import upgrade
    from fairdue.adapters.db.tables import contacts
    from fairdue.bootstrap import build_app
    from fairdue.services.daily_run import run_days
    from fairdue.services.importing import import_portfolio
    from fairdue.settings import load_settings

    base = os.environ.get("FAIRDUE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"bench_dispatch_{os.getpid()}"
    url = f"{base}?schema={schema}"
    with make_engine(base).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The gateway runs in two processes sharing one port (SO_REUSEPORT): one Python process
    # answering every request would be the bottleneck being measured.
    gateways, port = [], 0
    for _ in range(2):
        parent, child = multiprocessing.Pipe()
        stats_parent, stats_child = multiprocessing.Pipe()
        process = multiprocessing.Process(target=_gateway, args=(child, stats_child, port),
                                          daemon=True)
        process.start()
        port = parent.recv()
        gateways.append((process, stats_parent))
    try:
        with tempfile.TemporaryDirectory(prefix="fairdue-bench-dispatch-") as tmp:
            key = Path(tmp) / "k.key"
            create_key_file(key)
            env = {**os.environ, "FAIRDUE_DATABASE_URL": url, "FAIRDUE_KEY_FILE": str(key),
                   "FAIRDUE_SMS_URL": f"http://127.0.0.1:{port}/sms",
                   "FAIRDUE_EMAIL_URL": f"file://{tmp}/outbox", "FAIRDUE_PUSH_URL": f"file://{tmp}/outbox"}
            settings = load_settings(env)
            app = build_app(settings, check_schema=False)
            upgrade(app.engine)
            generate_run(loans=args.loans, seed=5, out=Path(tmp) / "data")
            import_portfolio(app, Path(tmp) / "data")
            run_days(app, through=date(2026, 8, 4))
            due = datetime(2026, 8, 4, 1, 30, tzinfo=UTC)
            with app.engine.begin() as conn:
                conn.execute(update(contacts).where(contacts.c.status == "scheduled")
                             .values(scheduled_at=due))
                # Only SMS go to the HTTP gateway; email and push would measure the file sink.
                conn.execute(update(contacts).where(contacts.c.channel.in_(["email", "push"]))
                             .values(status="cancelled"))
                planned = conn.execute(select(func.count()).select_from(contacts).where(
                    contacts.c.status == "scheduled", contacts.c.channel == "sms")).scalar()
                total = conn.execute(select(func.count()).select_from(contacts).where(
                    contacts.c.status == "scheduled")).scalar()
            results = []
            plans = [(int(w), int(b)) for b in args.batches.split(",")
                     for w in args.workers.split(",")]
            for workers, batch in plans:
                query = f"?batch={batch}" if batch > 1 else ""
                env["FAIRDUE_SMS_URL"] = f"http://127.0.0.1:{port}/sms{query}"
                with app.engine.begin() as conn:
                    conn.execute(update(contacts).where(contacts.c.channel == "sms",
                                                        contacts.c.status != "blocked")
                                 .values(status="scheduled", attempts=0, provider_id=None,
                                         claimed_by=None, claimed_at=None, sent_at=None))
                started = time.perf_counter()
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                profile = os.environ.get("FAIRDUE_BENCH_PROFILE")  # a file: cProfile the workers
                runner = [sys.executable, "-m", "cProfile", "-o", f"{profile}.{workers}",
                          str(Path(sys.executable).parent / "fairdue")] if profile else \
                    [str(Path(sys.executable).parent / "fairdue")]
                procs = [subprocess.Popen(
                    [*runner, "worker", "--once", "--now",
                     "2026-08-04T09:31:00+08:00", "--batch", "500"],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(workers)]
                for proc in procs:
                    _, errors = proc.communicate()
                    if proc.returncode != 0:
                        raise SystemExit(errors.decode())
                seconds = time.perf_counter() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                worker_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                seen = {"requests": 0, "unique": 0}
                for _, stats_parent in gateways:
                    stats_parent.send("stats")
                    for name, value in stats_parent.recv().items():
                        seen[name] += value
                with app.engine.connect() as conn:
                    sent = conn.execute(select(func.count()).select_from(contacts).where(
                        contacts.c.status == "sent")).scalar()
                figure = {"name": "dispatch", "database": "postgresql", "workers": workers,
                          "messages_per_request": batch,
                          "messages": sent, "sms": planned, "seconds": round(seconds, 2),
                          "messages_per_second": round((sent or 0) / seconds),
                          "workers_cpu_seconds": round(worker_cpu, 2),
                          "cpu_ms_per_message": round(1000 * worker_cpu / max(sent or 1, 1), 3),
                          "gateway_requests": seen["requests"], "gateway_unique": seen["unique"],
                          "duplicates_delivered": seen["requests"] - seen["unique"]}
                results.append(figure)
                print(json.dumps(figure), flush=True)
            assert total
            app.close()
    finally:
        for process, _ in gateways:
            process.terminate()
        with make_engine(base).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
