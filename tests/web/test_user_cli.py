"""`fairdue user add NAME --role ROLE`, the password read from standard input."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.engine import make_engine
from fairdue.adapters.db.migrate import upgrade
from fairdue.adapters.db.tables_web import staff_users
from fairdue.cli.main import app


def test_user_add_reads_the_password_from_stdin_and_stores_a_hash(db_url: str, tmp_path: Path
                                                                  ) -> None:
    key = tmp_path / "k.key"
    create_key_file(key)
    engine = make_engine(db_url)
    upgrade(engine)
    env = {"FAIRDUE_DATABASE_URL": db_url, "FAIRDUE_KEY_FILE": str(key)}
    runner = CliRunner()
    added = runner.invoke(app, ["user", "add", "ann", "--role", "agent"],
                          input="a long enough secret\n", env=env)
    assert added.exit_code == 0, added.output
    assert "added ann (agent)" in added.output
    with engine.connect() as conn:
        row = conn.execute(select(staff_users)).one()
    assert row.role == "agent" and row.password_hash.startswith("$argon2id$")
    assert "a long enough secret" not in row.password_hash
    again = runner.invoke(app, ["user", "add", "ann", "--role", "agent"],
                          input="a long enough secret\n", env=env)
    assert again.exit_code == 2 and "exists already" in again.output
    bad_role = runner.invoke(app, ["user", "add", "zed", "--role", "boss"],
                             input="a long enough secret\n", env=env)
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    short = runner.invoke(app, ["user", "add", "zed", "--role", "admin"], input="short\n", env=env)
    assert short.exit_code == 2 and "at least 10" in short.output
    empty = runner.invoke(app, ["user", "add", "zed", "--role", "admin"], input="", env=env)
    assert empty.exit_code == 2 and "no password" in empty.output
    engine.dispose()
