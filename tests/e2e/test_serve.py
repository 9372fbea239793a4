"""`fairdue serve` as an operator starts it: a real uvicorn process on a free port, on a
file SQLite database the worker has sent messages from; a gateway posts a receipt over HTTP
and the message is delivered. The receipt token never reaches the access log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from fairdue.adapters.db.engine import make_engine
from fairdue.adapters.db.tables import contacts
from fairdue.cli.main import app

TOKEN = "serve-receipt-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_listening(server: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            _out, errors = server.communicate()
            pytest.fail(f"fairdue serve exited with {server.returncode}: {errors.decode()}")
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("fairdue serve did not listen within 30 s")


def test_serve_takes_a_gateway_receipt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db_url = f"sqlite:///{tmp_path / 'fairdue.db'}"
    env = {**os.environ, "FAIRDUE_KEY_FILE": str(tmp_path / "k.key"),
           "FAIRDUE_SMS_URL": f"file://{tmp_path / 'outbox'}",
           "FAIRDUE_EMAIL_URL": f"file://{tmp_path / 'outbox'}",
           "FAIRDUE_PUSH_URL": f"file://{tmp_path / 'outbox'}",
           "FAIRDUE_DATABASE_URL": db_url, "FAIRDUE_RECEIPT_TOKEN": TOKEN}
    for name, value in env.items():
        if name.startswith("FAIRDUE_"):
            monkeypatch.setenv(name, value)
    cli = CliRunner()
    for args in (["generate", "--loans", "300", "--seed", "3", "--out", str(tmp_path / "data")],
                 ["init"], ["import", str(tmp_path / "data")], ["run-day", "--date", "2026-07-01"]):
        result = cli.invoke(app, args)
        assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    with engine.begin() as conn:  # a catch-up run schedules for now: pin to 09:30 Shanghai
        conn.execute(update(contacts).where(contacts.c.status == "scheduled")
                     .values(scheduled_at=datetime(2026, 7, 1, 1, 30, tzinfo=UTC)))
    result = cli.invoke(app, ["worker", "--once", "--now", "2026-07-01T09:31:00+08:00"])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        contact_id, provider_id = conn.execute(
            select(contacts.c.contact_id, contacts.c.provider_id)
            .where(contacts.c.channel == "sms", contacts.c.status == "sent")
            .order_by(contacts.c.contact_id).limit(1)).one()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "fairdue"), "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_until_listening(server, base)
        receipt = {"message_id": provider_id, "status": "delivered"}
        refused = httpx.post(f"{base}/api/v1/receipts/sms", json=receipt)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        answer = httpx.post(f"{base}/api/v1/receipts/sms?token={TOKEN}", json=receipt)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"contact_id": contact_id, "status": "delivered", "changed": True}
    finally:
        server.send_signal(signal.SIGINT)
        out, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors.decode()
    with engine.connect() as conn:
        status = conn.execute(select(contacts.c.status)
                              .where(contacts.c.contact_id == contact_id)).scalar_one()
    engine.dispose()
    assert status == "delivered"
    logs = out.decode() + errors.decode()
    assert "POST /api/v1/receipts/sms?token=*** HTTP/1.1" in logs
    assert TOKEN not in logs


def _spawned_workers(pid: int) -> list[int]:
    """The uvicorn workers under `pid`: processes started by multiprocessing's spawn."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children
            if b"multiprocessing.spawn" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _holder(client: httpx.Client, workers: list[int]) -> int:
    """The worker process holding the client's open connection (read from /proc)."""
    answer = client.get("/login")
    assert answer.status_code == 200
    sock = answer.extensions["network_stream"].get_extra_info("socket")
    port = sock.getsockname()[1]
    inode = _socket_inode(port, sock.getpeername()[1])
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker holds the connection from port {port}")


def _socket_inode(client_port: int, server_port: int) -> str:
    """The inode of the server side of the open connection from `client_port` to
    `server_port` (/proc/net/tcp). An earlier connection that used the same client port
    may linger in TIME_WAIT, owned by no process (inode 0): that one is not it."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if (int(remote.rsplit(":", 1)[1], 16) == client_port
                    and int(local.rsplit(":", 1)[1], 16) == server_port and inode != "0"):
                return inode
    raise AssertionError(f"no open connection from port {client_port} to port {server_port}")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_serve_with_two_workers_runs_two_processes(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'fairdue.db'}"
    env = {**os.environ, "FAIRDUE_KEY_FILE": str(tmp_path / "k.key")}
    env.pop("FAIRDUE_DATABASE_URL", None)    # --db alone must reach the workers
    fairdue = str(Path(sys.executable).parent / "fairdue")
    subprocess.run([fairdue, "init", "--db", db_url], env=env, check=True, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([fairdue, "serve", "--port", str(port), "--db", db_url,
                               "--workers", "2"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        wait_until_listening(server, base)
        deadline = time.monotonic() + 30
        while len(_spawned_workers(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _spawned_workers(server.pid)
        assert len(workers) == 2
        # Twenty kept-alive connections, as twenty browsers hold them: each worker has some
        # (the kernel spreads them over the workers' sockets; all on one: about 2 in 10^6).
        clients = [httpx.Client(base_url=base, timeout=10) for _ in range(20)]
        try:
            for client in clients:
                assert client.get("/login").status_code == 200
            holders = {_holder(client, workers) for client in clients}
        finally:
            for client in clients:
                client.close()
        assert holders == set(workers)
    finally:
        server.send_signal(signal.SIGINT)
        out, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors.decode()
    logs = out.decode() + errors.decode()
    assert "2 workers" in logs and logs.count("Application startup complete") == 2
