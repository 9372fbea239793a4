"""`fairdue worker` killed with SIGKILL in the middle of a batch, then restarted: nothing is
lost and nothing is delivered twice. On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from fairdue.adapters.db.engine import make_engine
from fairdue.adapters.db.tables import contacts
from fairdue.cli.main import app
from json_gateway import JsonGateway


@pytest.fixture
def gateway() -> Iterator[JsonGateway]:
    server = JsonGateway(delay=0.02)
    yield server
    server.close()


def worker(env: dict[str, str], db_url: str, now: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "fairdue"), "worker", "--once", "--now", now,
         "--batch", "25", "--db", db_url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def test_a_killed_worker_loses_nothing_and_doubles_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gateway: JsonGateway
) -> None:
    env = {**os.environ, "FAIRDUE_KEY_FILE": str(tmp_path / "k.key"), "FAIRDUE_SMS_URL": gateway.url,
           "FAIRDUE_EMAIL_URL": f"file://{tmp_path / 'outbox'}",
           "FAIRDUE_PUSH_URL": f"file://{tmp_path / 'outbox'}"}
    for name in ("FAIRDUE_KEY_FILE", "FAIRDUE_SMS_URL", "FAIRDUE_EMAIL_URL", "FAIRDUE_PUSH_URL"):
        monkeypatch.setenv(name, env[name])
    cli = CliRunner()
    for args in (["generate", "--loans", "2500", "--seed", "3", "--out", str(tmp_path / "data")],
                 ["init", "--db", db_url], ["import", str(tmp_path / "data"), "--db", db_url],
                 ["run-day", "--date", "2026-07-01", "--db", db_url]):
        result = cli.invoke(app, args)
        assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    with engine.begin() as conn:
        sms = set(conn.execute(select(contacts.c.idempotency_key).where(
            contacts.c.channel == "sms", contacts.c.status == "scheduled")).scalars())
        # The run happened now (a catch-up of a past date sends today): pin the messages to
        # 09:30 on 1 July, Shanghai time, so the workers below can be given that clock.
        conn.execute(update(contacts).where(contacts.c.status == "scheduled")
                      .values(scheduled_at=datetime(2026, 7, 1, 1, 30, tzinfo=UTC)))
    assert len(sms) > 60

    first = worker(env, db_url, "2026-07-01T09:31:00+08:00")
    deadline = time.monotonic() + 60
    while len(gateway.requests) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    interrupted = len({r["key"] for r in gateway.requests})
    assert 30 <= interrupted < len(sms)  # killed in the middle, not after the end

    # Restarted after the claim lease: the dead worker's claims are taken over.
    second = worker(env, db_url, "2026-07-01T09:41:00+08:00")
    _out, errors = second.communicate(timeout=120)
    assert second.returncode == 0, errors.decode()
    with engine.connect() as conn:
        rows = conn.execute(select(contacts.c.idempotency_key, contacts.c.status, contacts.c.provider_id)
                            .where(contacts.c.channel == "sms")).all()
    engine.dispose()
    assert {r.status for r in rows} == {"sent"}
    # Nothing lost: every SMS reached the gateway. Nothing doubled: each was delivered once
    # (a repeat of a key the dead worker had sent was recognised by the gateway, which
    # answered with the same message id the outbox now holds).
    assert set(gateway.accepted) == sms
    assert {r.provider_id for r in rows} == {gateway.accepted[r.idempotency_key] for r in rows}
    repeats = len(gateway.requests) - len({r["key"] for r in gateway.requests})
    assert repeats <= 25  # at most the batch in flight when the worker died
