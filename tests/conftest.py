"""Shared fixtures: the same tests on SQLite and on PostgreSQL.

`db_url` gives each test its own empty database: a new SQLite file, or a new PostgreSQL
schema named `fd_<uuid>` on FAIRDUE_TEST_POSTGRES_URL, so that xdist workers and
concurrent runs never see each other's tables. Without PostgreSQL those tests skip, with
the reason; under CI=true they fail instead, so a CI run can never pass by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from fairdue.adapters.db.engine import make_engine, redact
from fairdue.adapters.db.migrate import upgrade

POSTGRES_ENV = "FAIRDUE_TEST_POSTGRES_URL"


def _libpq_url(url: str) -> str:
    """The URL as psycopg itself accepts it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class PostgresStatus:
    """Whether the test PostgreSQL server can be used: its URL, or why not."""

    url: str | None
    reason: str

    def require(self) -> str:
        """The URL; otherwise skip the test, or fail it under CI=true."""
        if self.url is not None:
            return self.url
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(self.reason, pytrace=False)
        pytest.skip(self.reason)


@pytest.fixture(scope="session")
def postgres_status() -> PostgresStatus:
    """Whether FAIRDUE_TEST_POSTGRES_URL is set and reachable, checked once per session."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        return PostgresStatus(None, _reason("(unset)", f"{POSTGRES_ENV} is not set"))
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return PostgresStatus(None, _reason(redact(url), str(exc).strip().splitlines()[0]))
    return PostgresStatus(url, "")


def _reason(shown_url: str, error: str) -> str:
    return f"PostgreSQL not available at {shown_url}: {error}; set {POSTGRES_ENV}"


@contextmanager
def _fresh_database(backend: str, sqlite_file: Path, postgres_status: PostgresStatus
                    ) -> Iterator[str]:
    """The URL of a new, empty database: an SQLite file, or a PostgreSQL schema of its own."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    base = postgres_status.require()
    schema = f"fd_{uuid.uuid4().hex}"
    libpq = _libpq_url(base)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield make_url(base).update_query_dict({"schema": schema}).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            # A connection a test forgot to close would make DROP wait forever.
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_status: PostgresStatus
) -> Iterator[str]:
    """The URL of a fresh, empty database on each backend."""
    with _fresh_database(request.param, tmp_path / "fairdue.db", postgres_status) as url:
        yield url


@pytest.fixture
def second_db_url(db_url: str, tmp_path: Path, postgres_status: PostgresStatus) -> Iterator[str]:
    """Another fresh, empty database on the same backend as `db_url`."""
    backend = make_url(db_url).get_backend_name()
    with _fresh_database(backend, tmp_path / "second.db", postgres_status) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head, disposed after the test."""
    eng = make_engine(db_url)
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
