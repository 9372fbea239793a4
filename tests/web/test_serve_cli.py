"""`fairdue serve --workers N`: one process (the App built here) or N worker processes, each
building its own App from the environment (on Linux on sockets of their own, elsewhere
uvicorn's workers); the option validated, the database checked once before any worker
starts. uvicorn and the workers are replaced by recorders here; tests/e2e/test_serve.py
starts real workers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fairdue.cli import commands_serve
from fairdue.cli.main import app


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[Any, dict[str, Any]]]:
    """What `serve` handed to uvicorn.run, instead of serving."""
    import uvicorn

    seen: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: seen.append((target, kw)))

    def workers(host: str, port: int, count: int) -> int:
        seen.append((commands_serve.serve_workers, {"host": host, "port": port, "workers": count}))
        return 0

    monkeypatch.setattr(commands_serve, "serve_workers", workers)
    monkeypatch.setenv("FAIRDUE_KEY_FILE", str(tmp_path / "k.key"))
    # `serve --workers N` writes --db here for its workers; monkeypatch restores it.
    monkeypatch.setenv("FAIRDUE_DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")
    return seen


def _initialised(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fairdue.db'}"
    result = CliRunner().invoke(app, ["init", "--db", url])
    assert result.exit_code == 0, result.output
    return url


def test_workers_get_the_count_and_the_database_through_the_environment(
        calls: list[tuple[Any, dict[str, Any]]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(sys, "platform", "linux")
    url = _initialised(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--db", url, "--port", "8123", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert "3 workers" in result.output
    assert calls == [(commands_serve.serve_workers,
                      {"host": "127.0.0.1", "port": 8123, "workers": 3})]
    assert os.environ["FAIRDUE_DATABASE_URL"] == url


def test_elsewhere_than_linux_workers_are_uvicorns_started_by_name(
        calls: list[tuple[Any, dict[str, Any]]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    result = CliRunner().invoke(app, ["serve", "--db", _initialised(tmp_path), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert calls == [(commands_serve.WORKER_APP,
                      {"factory": True, "workers": 2, "host": "127.0.0.1", "port": 8000,
                       "log_level": "info"})]


def test_a_worker_lost_stops_the_server_with_exit_code_1(
        calls: list[tuple[Any, dict[str, Any]]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(commands_serve, "serve_workers", lambda host, port, count: 1)
    result = CliRunner().invoke(app, ["serve", "--db", _initialised(tmp_path), "--workers", "2"])
    assert result.exit_code == 1 and "a worker stopped unexpectedly" in result.output


def test_one_worker_serves_the_app_built_here(calls: list[tuple[Any, dict[str, Any]]],
                                              tmp_path: Path) -> None:
    url = _initialised(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--db", url])
    assert result.exit_code == 0, result.output
    [(target, options)] = calls
    assert isinstance(target, FastAPI) and "workers" not in options
    assert options["port"] == 8000


@pytest.mark.parametrize("count", ["0", "-1", "65", "two"])
def test_a_worker_count_out_of_range_is_refused(calls: list[tuple[Any, dict[str, Any]]],
                                                tmp_path: Path, count: str) -> None:
    result = CliRunner().invoke(app, ["serve", "--db", _initialised(tmp_path), "--workers", count])
    assert result.exit_code == 2 and "--workers" in result.output
    assert calls == []


def test_a_database_behind_fails_before_any_worker_starts(
        calls: list[tuple[Any, dict[str, Any]]], tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(app, ["serve", "--db", empty, "--workers", "2"])
    assert result.exit_code == 2 and "fairdue init" in result.output
    assert calls == []


def test_a_worker_builds_its_app_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    url = _initialised(tmp_path)
    monkeypatch.setenv("FAIRDUE_KEY_FILE", str(tmp_path / "k.key"))
    monkeypatch.setenv("FAIRDUE_DATABASE_URL", url)
    api = commands_serve.worker_app()
    application = api.state.fairdue
    assert application.settings.database_url == url
    closed: list[bool] = []
    monkeypatch.setattr(application, "close", lambda: closed.append(True))
    with TestClient(api) as client:    # runs the lifespan: start-up, then shutdown
        assert client.get("/login").status_code == 200
        assert closed == []
    assert closed == [True]
