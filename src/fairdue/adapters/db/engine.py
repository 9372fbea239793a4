"""Turn a database URL into a configured SQLAlchemy engine, and hide passwords in messages.

SQLite is the embedded default and PostgreSQL the production database; both go through
here so that every connection gets the same settings whoever opens it (CLI, API, worker,
tests, Alembic). Nothing here reads the environment: the URL comes from typed settings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from fairdue.errors import ConfigurationError

# A schema name goes into a libpq `-c search_path=...` option and into DDL, so only
# plain identifiers are accepted: nothing to quote, nothing to inject.
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

# Query parameters libpq accepts as secrets, hidden by `redact` like the URL password.
_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})

_SQLITE_PRAGMAS = (
    # SQLite ignores foreign keys unless told otherwise, per connection.
    "PRAGMA foreign_keys=ON",
    # Readers do not block the writer (the importer, the daily run) and vice versa.
    "PRAGMA journal_mode=WAL",
    # Safe with WAL (a power cut may lose the last commits, never corrupt) and much faster.
    "PRAGMA synchronous=NORMAL",
    # Wait for the single writer instead of failing at once with "database is locked".
    "PRAGMA busy_timeout=30000",
)


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """Build the engine for `url`, with per-connection settings applied on every connect.

    `sqlite:///path` creates the file's folder if missing; `postgresql://` and
    `postgres://` are moved to the psycopg 3 driver. For PostgreSQL, `schema` (or
    `?schema=NAME` in the URL) puts every table, including Alembic's, in that schema via
    `search_path`, so several fairdue databases can share one PostgreSQL database.
    """
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None or "schema" in parsed.query:
            raise ConfigurationError(
                f"{redact(url)}: a schema applies to PostgreSQL only; remove it for SQLite"
            )
        return _sqlite_engine(parsed, url)
    if backend in ("postgresql", "postgres"):
        return _postgresql_engine(parsed, url, schema)
    raise ConfigurationError(
        f"unsupported database URL {redact(url)}: use sqlite:///path/to/fairdue.db "
        "or postgresql://user@host:5432/dbname"
    )


def redact(url: str) -> str:
    """Return `url` with any password replaced by `***`, for logs and error messages."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not a URL SQLAlchemy understands; still never echo what looks like a password.
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    hidden = {
        key: ("***" if key.lower() in _SECRET_QUERY_KEYS else value)
        for key, value in parsed.query.items()
    }
    if hidden == dict(parsed.query):
        return parsed.render_as_string(hide_password=True)
    rendered = parsed.update_query_dict(hidden).render_as_string(hide_password=True)
    return rendered.replace("=%2A%2A%2A", "=***")  # as readable as the password's ***


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"cannot read database URL {redact(url)!r}: {exc}; expected "
            "sqlite:///path/to/fairdue.db or postgresql://user@host:5432/dbname"
        ) from None


def _sqlite_engine(parsed: URL, url: str) -> Engine:
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
        raise ConfigurationError(
            f"unsupported SQLite driver in {redact(url)}: use sqlite:///path/to/fairdue.db"
        )
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        # An in-memory database is private to one pooled connection: every other
        # connection would see an empty database, so refuse rather than misbehave.
        raise ConfigurationError(
            f"{redact(url)} names no database file: use sqlite:///path/to/fairdue.db"
        )
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    return engine


def _postgresql_engine(parsed: URL, url: str, schema: str | None) -> Engine:
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername != "postgresql+psycopg":
        raise ConfigurationError(
            f"unsupported PostgreSQL driver in {redact(url)}: fairdue uses psycopg 3; "
            "write postgresql://... or postgresql+psycopg://..."
        )
    url_schema = parsed.query.get("schema")
    if isinstance(url_schema, tuple):
        raise ConfigurationError(f"{redact(url)} gives ?schema= more than once; give it once")
    if url_schema is not None:
        parsed = parsed.difference_update_query(["schema"])
        if schema is not None and schema != url_schema:
            raise ConfigurationError(
                f"{redact(url)} asks for schema {url_schema!r} but {schema!r} was also "
                "given; use one"
            )
        schema = url_schema
    connect_args: dict[str, Any] = {}
    if schema is not None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigurationError(
                f"invalid PostgreSQL schema name {schema!r}: use letters, digits and "
                "underscores, starting with a letter or underscore (at most 63)"
            )
        # libpq applies `options` at connection start-up, so the setting holds on every
        # pooled connection, before any statement, and survives ROLLBACK.
        options = parsed.query.get("options")
        extra = f" {options}" if isinstance(options, str) else ""
        if options is not None:
            parsed = parsed.difference_update_query(["options"])
        connect_args["options"] = f"-csearch_path={schema}{extra}"
    # Workers live for days; a connection dropped by a restart or a proxy is replaced
    # instead of failing the next unit of work.
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
