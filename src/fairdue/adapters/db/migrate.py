"""Bring a database to the schema this version of fairdue expects, and check that it is.

Alembic runs in code, from the migrations shipped inside the package, so `fairdue init`
works from any directory with no alembic.ini. Every process that opens a database calls
`ensure_current` first and refuses to run against an old schema rather than fail later
in the middle of a unit of work.
"""

from __future__ import annotations

import re
import shlex
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

from fairdue.adapters.db.engine import redact
from fairdue.errors import ConfigurationError, DatabaseBehind

# Two processes running `fairdue init` (or two workers starting) at once must not both
# create the schema: on PostgreSQL they queue on this advisory lock ("fdmigr").
_MIGRATION_LOCK_KEY = 0x66_64_6D_69_67_72

_PLAIN_SCHEMA = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _script_location() -> str:
    # A real folder for a normal (wheel or editable) install; Alembic needs a path.
    return str(Path(str(files("fairdue.adapters.db").joinpath("migrations"))))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for fairdue's migrations, bound to `connection` if given.

    Public so that developers can run any Alembic command (revision --autogenerate,
    downgrade, history) from Python without an alembic.ini.
    """
    config = Config()
    config.set_main_option("script_location", _script_location())
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision this version of fairdue expects the database to be at."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise ConfigurationError(
            f"no migrations found in {_script_location()}: the fairdue installation is "
            "incomplete; reinstall it"
        )
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when fairdue's schema was never created."""
    with engine.connect() as conn:
        return _current(conn)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate the database to the head revision; return (revision before, revision after).

    Creates the whole schema on an empty database, does nothing on a current one, and is
    safe to run from several processes at once: they serialise on a lock and the later
    ones find nothing to do.
    """
    with engine.begin() as conn:
        _lock_for_migration(conn)
        before = _current(conn)
        command.upgrade(alembic_config(conn), "head")
        after = _current(conn)
    if after is None:
        raise ConfigurationError("migrations ran but recorded no revision; reinstall fairdue")
    return before, after


def ensure_current(engine: Engine, url_for_message: str) -> None:
    """Raise DatabaseBehind unless the database is at the head revision.

    The message names both revisions and the command that fixes it, with the URL's
    password hidden.
    """
    expected = head_revision()
    current = current_revision(engine)
    if current == expected:
        return
    shown_url = redact(url_for_message)
    fix = f"fairdue init --db {shlex.quote(shown_url)}"
    if shown_url != url_for_message:
        fix += " (with your password in place of ***)"
    script = ScriptDirectory.from_config(alembic_config())
    if current is not None and not _known(script, current):
        raise ConfigurationError(
            f"database {shown_url} is at revision {current}, which this version of fairdue "
            f"does not know (it expects {expected}): it was migrated by a newer fairdue; "
            "upgrade fairdue instead of the database"
        )
    state = "has no fairdue schema" if current is None else f"is at revision {current}"
    raise DatabaseBehind(
        f"database {shown_url} {state} but this version of fairdue expects revision "
        f"{expected}; run: {fix}"
    )


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False


def _lock_for_migration(conn: Connection) -> None:
    """Take a database-wide write lock held until commit, so migrations never interleave."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        _create_missing_schema(conn)
    elif dialect == "sqlite":
        # pysqlite would run DDL outside any transaction; an explicit IMMEDIATE
        # transaction makes the whole upgrade atomic and excludes other writers.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _create_missing_schema(conn: Connection) -> None:
    """Create the schema `make_engine(schema=...)` put in search_path, if it is missing."""
    if conn.execute(text("SELECT current_schema()")).scalar() is not None:
        return
    search_path = str(conn.execute(text("SELECT current_setting('search_path')")).scalar())
    if not _PLAIN_SCHEMA.fullmatch(search_path):
        raise ConfigurationError(
            f"none of the schemas in search_path ({search_path}) exists; create one "
            "or pass ?schema=NAME in the database URL"
        )
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{search_path}"'))
