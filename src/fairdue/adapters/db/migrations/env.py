"""Alembic environment for fairdue, run from `fairdue.adapters.db.migrate`.

There is no alembic.ini in the user's working directory: `migrate.alembic_config` builds
the configuration in code and hands over an open connection (in `config.attributes`), so
migrations run inside the caller's transaction and lock, on the engine `make_engine`
configured (SQLite pragmas, PostgreSQL search_path).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from fairdue.adapters.db.engine import make_engine
from fairdue.adapters.db.tables import metadata

config = context.config


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    """Write the SQL to stdout (`alembic upgrade --sql`) for a DBA to review and apply."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "fairdue migrations need a connection (config.attributes['connection']) or "
            "sqlalchemy.url; run them with `fairdue init --db URL`"
        )
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run_on(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
