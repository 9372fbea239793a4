"""What the command-line tests share: a generated portfolio, and a database with it
imported and its first day run, as an operator would set it up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairdue.cli.main import app


@pytest.fixture(scope="session")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("portfolio")
    result = CliRunner().invoke(app, ["generate", "--loans", "300", "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def books(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, portfolio: Path
          ) -> Iterator[tuple[CliRunner, str]]:
    monkeypatch.setenv("FAIRDUE_KEY_FILE", str(tmp_path / "fairdue.key"))
    monkeypatch.setenv("COLUMNS", "400")
    cli = CliRunner()
    for args in (["init"], ["import", str(portfolio)], ["run-day", "--date", "2026-07-01"]):
        result = cli.invoke(app, [*args, "--db", db_url])
        assert result.exit_code == 0, result.output
    yield cli, db_url
