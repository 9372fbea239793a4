"""Bulk writes straight through the database driver, for the importer and the daily run.

SQLAlchemy's per-row parameter processing costs more than the insert itself at a million
rows; these helpers render one statement and hand the driver plain tuples, converting the
few types SQLite's driver does not store the way SQLAlchemy reads them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _parameter_mark(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _rows(conn: Connection, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    if conn.dialect.name != "sqlite":
        return [tuple(row) for row in rows]
    # Convert only the columns that hold dates, times or booleans somewhere; a column's
    # types are gathered at C speed, since this looks at every value of every row.
    width = len(rows[0])
    special = [
        i for i in range(width)
        if any(issubclass(kind, date | bool) for kind in set(map(type, map(itemgetter(i), rows))))
    ]
    if not special:
        return [tuple(row) for row in rows]
    converted = []
    seen: dict[Any, Any] = {}  # a run's rows share a few dates and one time: convert each once
    for row in rows:
        values = list(row)
        for i in special:
            key = (values[i].__class__, values[i])  # 1 == True == 1.0, but not to SQLite
            try:
                values[i] = seen[key]
            except KeyError:
                values[i] = seen[key] = _sqlite_value(values[i])
        converted.append(tuple(values))
    return converted


def _quote(conn: Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str],
                rows: Sequence[Sequence[Any]], *, ready: bool = False) -> None:
    """INSERT many rows given as tuples in `columns` order.

    `ready=True` says the values are already what the driver stores (on SQLite: dates and
    times as ISO text, booleans as 0/1), which saves a pass over every value.
    """
    if not rows:
        return
    mark = _parameter_mark(conn)
    sql = (
        f"INSERT INTO {_quote(conn, table.name)} ({', '.join(_quote(conn, c) for c in columns)}) "
        f"VALUES ({', '.join(mark for _ in columns)})"
    )
    conn.exec_driver_sql(sql, rows if ready else _rows(conn, rows))


def bulk_update(conn: Connection, table: Table, keys: Sequence[str], columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE many rows; each row gives the new `columns` values, then the `keys` values."""
    if not rows:
        return
    mark = _parameter_mark(conn)
    sets = ", ".join(f"{_quote(conn, c)} = {mark}" for c in columns)
    where = " AND ".join(f"{_quote(conn, k)} = {mark}" for k in keys)
    conn.exec_driver_sql(f"UPDATE {_quote(conn, table.name)} SET {sets} WHERE {where}",
                         _rows(conn, rows))


def insert_dicts(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT many rows given as dicts with the same keys."""
    if rows:
        columns = list(rows[0])
        bulk_insert(conn, table, columns, [tuple(r[c] for c in columns) for r in rows])


def update_dicts(conn: Connection, table: Table, keys: dict[str, str],
                 rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE many rows given as dicts; `keys` maps row keys to the key columns they match."""
    if rows:
        columns = [c for c in rows[0] if c not in keys]
        bulk_update(conn, table, list(keys.values()), columns,
                    [tuple(r[c] for c in [*columns, *keys]) for r in rows])


def select_in(conn: Connection, table: Table, key: str, columns: Sequence[str],
              keys: Sequence[Any], *, chunk: int = 900) -> list[Any]:
    """(key, *columns) of the rows whose `key` is among `keys`, in chunks of `chunk` ids.

    Rendered once per chunk size as plain SQL: compiling an expanding IN per call was a
    large part of the importer's existence checks (900 ids stay under every SQLite's limit).
    """
    if not keys:
        return []
    mark = _parameter_mark(conn)
    head = (f"SELECT {', '.join(_quote(conn, c) for c in (key, *columns))} "
            f"FROM {_quote(conn, table.name)} WHERE {_quote(conn, key)} IN ")
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(keys), chunk):
        part = tuple(keys[start:start + chunk])
        sql = f"{head}({', '.join([mark] * len(part))})"
        found.extend(conn.exec_driver_sql(sql, part).fetchall())
    return found
