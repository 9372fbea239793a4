"""Shared fixtures: the same tests on SQLite and on PostgreSQL.

`db_url` gives each test its own database, migrated to head: a copy of a template SQLite
file, or a new PostgreSQL database `fd_<uuid>` made from a template database on the server
of FAIRDUE_TEST_POSTGRES_URL; a test marked `empty_database` gets an empty one instead (a
new SQLite file, or a new schema in the URL's database). Xdist workers and concurrent runs
never see each other's tables. Without PostgreSQL those tests skip, with
the reason; under CI=true they fail instead, so a CI run can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from fairdue.adapters.db.engine import make_engine, redact
from fairdue.adapters.db.migrate import upgrade
from fairdue.services import staff

POSTGRES_ENV = "FAIRDUE_TEST_POSTGRES_URL"

#: The staff password hasher the product uses, before the tests swap in a quick one.
PRODUCTION_HASHER = staff._HASHER


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashes() -> Iterator[None]:
    """Staff passwords hashed and checked with argon2id at its lowest cost.

    The product's argon2-cffi defaults cost about 0.15 s a hash or a check on this machine,
    and the web tests create seven accounts and sign in several times each: minutes of the
    suite. The algorithm, the hash format, verification and rehashing stay the real ones;
    only the work factor is lowered (test_staff_passwords checks the product's)."""
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    assert PRODUCTION_HASHER is not quick
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staff, "_HASHER", quick)
        patch.setattr(staff, "_DUMMY_HASH", quick.hash("fairdue-no-such-user-padding"))
        yield


@pytest.fixture
def production_hasher() -> PasswordHasher:
    """The hasher `fairdue.services.staff` uses outside the tests."""
    return PRODUCTION_HASHER


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
        if under_ci():
            pytest.fail(self.reason, pytrace=False)
        pytest.skip(self.reason)


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


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


@dataclass
class Templates:
    """Databases migrated to head once per test process, copied for each test that wants a
    database: an SQLite file, a PostgreSQL database (`CREATE DATABASE ... TEMPLATE`).
    Copying takes a tenth of a second where running every migration took most of one, a
    thousand times a run.

    A PostgreSQL copy still takes about half a second, most of it the server waiting for
    its disk, so the next copy is made in a background thread while a test runs, and the
    last test's database is dropped there too: the tests wait for neither."""

    folder: Path
    postgres_status: PostgresStatus
    sqlite_file: Path | None = None
    postgres_name: str | None = None
    _next_copy: threading.Thread | None = None
    _next_name: str | None = None
    _next_error: BaseException | None = None
    _drops: list[threading.Thread] = field(default_factory=list)

    def sqlite(self) -> Path:
        if self.sqlite_file is None:
            path = self.folder / "template.db"
            eng = make_engine(f"sqlite:///{path}")
            try:
                upgrade(eng)
                with eng.connect() as conn:  # everything in the main file: a copy is whole
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                eng.dispose()
            self.sqlite_file = path
        return self.sqlite_file

    def postgres(self) -> str:
        if self.postgres_name is None:
            base = self.postgres_status.require()
            name = f"fd_template_{uuid.uuid4().hex}"
            with psycopg.connect(_libpq_url(base), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            eng = make_engine(_with_database(base, name))
            try:
                upgrade(eng)
            finally:
                eng.dispose()  # a template may have no connection open while it is copied
            self.postgres_name = name
        return self.postgres_name

    def postgres_copy(self) -> str:
        """The name of a new database copied from the template, and the next one started."""
        template = self.postgres()
        if self._next_copy is None:
            self._start_copy(template)
        assert self._next_copy is not None
        self._next_copy.join()
        name, error = self._next_name, self._next_error
        self._start_copy(template)
        if error is not None:
            raise error
        assert name is not None
        return name

    def _server(self) -> str:
        """The server's URL; only asked once the template exists, so PostgreSQL is there."""
        assert self.postgres_status.url is not None
        return self.postgres_status.url

    def _start_copy(self, template: str) -> None:
        name = f"fd_{uuid.uuid4().hex}"
        self._next_name, self._next_error = name, None
        base = self._server()

        def copy() -> None:
            try:
                _copy_database(base, template, name)
            except BaseException as exc:  # handed to the test that takes this copy
                self._next_error = exc

        self._next_copy = threading.Thread(target=copy, name="next-test-database", daemon=True)
        self._next_copy.start()

    def drop_later(self, name: str) -> None:
        """Drop a test's database in the background."""
        thread = threading.Thread(target=_drop_database, args=(self._server(), name), daemon=True,
                                  name="drop-test-database")
        thread.start()
        self._drops = [t for t in self._drops if t.is_alive()] + [thread]

    def drop(self) -> None:
        if self._next_copy is not None:
            self._next_copy.join()
            if self._next_error is None and self._next_name is not None:
                _drop_database(self._server(), self._next_name)
        for thread in self._drops:
            thread.join()
        if self.postgres_name is not None and self.postgres_status.url is not None:
            _drop_database(self.postgres_status.url, self.postgres_name)


def _copy_database(base: str, template: str, name: str) -> None:
    with psycopg.connect(_libpq_url(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        # A test's commits need not wait for the disk: a crash of the test server may lose
        # the last of them, never corrupt anything, and a test database is dropped anyway.
        # Commits are half of the PostgreSQL tests' time otherwise.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


def _drop_database(base: str, name: str) -> None:
    with psycopg.connect(_libpq_url(base), autocommit=True) as conn:
        # A connection a test forgot to close would make DROP wait forever.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, postgres_status: PostgresStatus
              ) -> Iterator[Templates]:
    found = Templates(tmp_path_factory.mktemp("templates"), postgres_status)
    try:
        yield found
    finally:
        found.drop()


@contextmanager
def _fresh_database(backend: str, sqlite_file: Path, postgres_status: PostgresStatus,
                    template: Templates | None = None) -> Iterator[str]:
    """The URL of a new database: empty, or migrated to head when `template` is given. An
    empty one is an SQLite file or a PostgreSQL schema of its own; a migrated one a copy of
    the template file or database."""
    if backend == "sqlite":
        if template is not None:
            shutil.copyfile(template.sqlite(), sqlite_file)
        yield f"sqlite:///{sqlite_file}"
        return
    base = postgres_status.require()
    libpq = _libpq_url(base)
    if template is not None:
        name = template.postgres_copy()
        try:
            yield _with_database(base, name)
        finally:
            template.drop_later(name)
        return
    schema = f"fd_{uuid.uuid4().hex}"
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


def _template_for(request: pytest.FixtureRequest, templates: Templates) -> Templates | None:
    """Tests marked `empty_database` get an empty one; every other test a migrated copy."""
    return None if request.node.get_closest_marker("empty_database") else templates


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_status: PostgresStatus,
    templates: Templates,
) -> Iterator[str]:
    """The URL of a fresh database on each backend, migrated to head unless the test is
    marked `empty_database`."""
    with _fresh_database(request.param, tmp_path / "fairdue.db", postgres_status,
                         _template_for(request, templates)) as url:
        yield url


@pytest.fixture
def second_db_url(db_url: str, tmp_path: Path, postgres_status: PostgresStatus,
                  request: pytest.FixtureRequest, templates: Templates) -> Iterator[str]:
    """Another fresh database on the same backend as `db_url`, made the same way."""
    backend = make_url(db_url).get_backend_name()
    with _fresh_database(backend, tmp_path / "second.db", postgres_status,
                         _template_for(request, templates)) as url:
        yield url


@pytest.fixture
def sqlite_and_other_url(tmp_path: Path, postgres_status: PostgresStatus,
                         templates: Templates) -> Iterator[tuple[str, str]]:
    """Two fresh databases migrated to head, for a test that runs the same thing on both:
    SQLite, and PostgreSQL. Where PostgreSQL is absent outside CI the second is another
    SQLite file, so the test still compares two runs; under CI=true absence is a failure."""
    other = "postgresql" if postgres_status.url is not None or under_ci() else "sqlite"
    with _fresh_database("sqlite", tmp_path / "first.db", postgres_status, templates) as first, \
            _fresh_database(other, tmp_path / "other.db", postgres_status, templates) as second:
        yield first, second


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head, disposed after the test."""
    eng = make_engine(db_url)
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
