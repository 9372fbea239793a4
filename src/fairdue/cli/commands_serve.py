"""`fairdue serve`: the HTTP API (docs/api.md) on uvicorn, on the configured database.

One process serves on one core at a time (the pages are Python, and Python runs one thread
at a time), so `--workers N` starts N uvicorn worker processes on the same port, each with
its own App and connection pool: the way to use several cores (docs/benchmarks.md, the web
load test, runs two on two cores).

On Linux each worker listens on a socket of its own bound with SO_REUSEPORT, and the kernel
spreads new connections evenly over them. uvicorn's own workers share one listening socket,
and whichever process wakes first takes the connection: with browsers (and the load test's
clients) keeping their connections open, one worker was left with most of them (36 of 50;
75% of a core against 6% under the load test), so the second process hardly helped.
Elsewhere `--workers` falls back to uvicorn's workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fairdue.cli.main import DbOption, app, console, opened, settings_for

if TYPE_CHECKING:
    from fastapi import FastAPI

#: What each worker process imports (uvicorn starts workers by name, not by object).
WORKER_APP = "fairdue.cli.commands_serve:worker_app"

_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]*", re.IGNORECASE)


class RedactTokens(logging.Filter):
    """Hide `?token=...` (a gateway's receipt token) in uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def _redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())


def worker_app() -> FastAPI:
    """The API of one worker process of `fairdue serve --workers N` (a uvicorn factory).

    Each worker is a fresh process (uvicorn spawns them), so it builds its own App from the
    settings in the environment, where `serve` has put `--db`; its connection pool is closed
    when uvicorn shuts the worker down."""
    from fairdue.api import create_app
    from fairdue.bootstrap import build_app

    application = build_app(settings_for(None))
    _redact_access_log()
    api = create_app(application)
    inner = api.router.lifespan_context

    @asynccontextmanager
    async def lifespan(instance: Any) -> AsyncIterator[Any]:
        try:
            async with inner(instance) as state:
                yield state
        finally:
            application.close()

    api.router.lifespan_context = lifespan
    return api


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEPORT (not yet listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _run_worker(host: str, port: int) -> None:  # pragma: no cover - runs in a worker process
    """One worker process: its own SO_REUSEPORT socket, uvicorn on it, the app built by
    `worker_app` from the environment."""
    import uvicorn

    config = uvicorn.Config(WORKER_APP, factory=True, host=host, port=port, log_level="info")
    uvicorn.Server(config).run(sockets=[_reuse_port_socket(host, port)])


def serve_workers(host: str, port: int, workers: int) -> int:
    """Run `workers` worker processes on host:port until a signal stops them; the exit code.

    The port is reserved here first (bound, never listening: it takes no connections), so
    port 0 means one free port for all. SIGINT or SIGTERM is passed on to the workers,
    which finish their requests and stop. A worker that dies stops the others and the
    exit code is 1: better a service manager's restart of the whole server than a server
    quietly running on fewer cores."""
    holder = _reuse_port_socket(host, port)
    port = holder.getsockname()[1]
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_run_worker, args=(host, port), name=f"fairdue-worker-{n}")
             for n in range(workers)]
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for proc in procs:
            proc.start()
        while not stop.wait(0.5):
            if any(not proc.is_alive() for proc in procs):
                break
        lost = not stop.is_set()
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join()
        return 1 if lost else 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        holder.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on")] = 8000,
    db: DbOption = None,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=64,
        help="Worker processes sharing the port (on Linux each with its own socket, "
             "connections spread evenly), each with its own connection pool; one per core "
             "is a good start. Several need PostgreSQL or a SQLite file")] = 1,
) -> None:
    """Serve the HTTP API (JSON under /api/v1, OpenAPI at /openapi.json) until stopped."""
    import uvicorn

    from fairdue.api import create_app

    # The database is checked here, in this process, so a wrong URL or a schema behind
    # fails at once with one message, not once per worker.
    with opened(db) as application:
        console.print(f"fairdue API on http://{host}:{port}/api/v1 (database {application.db_label}"
                      f"{f', {workers} workers' if workers > 1 else ''}); Ctrl-C stops it",
                      highlight=False)
        if workers == 1:
            _redact_access_log()
            uvicorn.run(create_app(application), host=host, port=port, log_level="info")
            return
    if db is not None:
        os.environ["FAIRDUE_DATABASE_URL"] = db   # the workers read their settings from here
    if sys.platform == "linux":
        code = serve_workers(host, port, workers)
        if code:
            console.print("a worker stopped unexpectedly; the server stopped", highlight=False)
            raise typer.Exit(code)
        return
    uvicorn.run(WORKER_APP, factory=True, workers=workers, host=host, port=port,
                log_level="info")
