"""Reading the facts of a partition's open cases, and writing what the strategy decided.

Every read is one set-based query per partition (cases joined to what they need), never a
query per case: a daily run with a hundred thousand open cases reads a handful of result
sets. Times come back as UTC-aware datetimes on both databases.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from fairdue.adapters.db.bulk import bulk_insert
from fairdue.adapters.db.ledger_repo import Dates, fetch, partition_join
from fairdue.adapters.db.tables import (
    borrower_contact_facts,
    cases,
    channel_states,
    contact_attempts,
    contacts,
    decisions,
    experiment_assignments,
    policies,
)
from fairdue.domain.contact_holds import Restriction
from fairdue.domain.contact_outcomes import ChannelState, ContactStanding


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC; PostgreSQL aware times. Make both aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware time in UTC, for writing."""
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class OpenCase:
    case_id: str
    borrower_id: str
    dpd: int
    bucket: str
    amount_due_minor: int
    currency: str
    overdue_loans: int
    opened_on: date
    timezone: str
    language: str
    has_phone: bool
    has_email: bool
    has_app: bool


# A partition's open cases with what the guard needs of their borrowers: the partition's
# borrowers by the covering shard index, each joined to its open case (if any).
_OPEN_CASES_SQL = """
SELECT c.case_id, c.borrower_id, c.dpd, c.bucket, c.amount_due_minor, c.currency,
       c.overdue_loans, c.opened_on, b.timezone, b.language, b.phone_index, b.has_email,
       b.has_app
FROM borrowers b {join} cases c ON c.borrower_id = b.borrower_id
WHERE b.shard >= ? AND b.shard <= ? AND c.status = 'open'
"""


def open_cases(conn: Connection, shard_from: int, shard_to: int) -> list[OpenCase]:
    """The open cases of borrowers in the shard range, with what the guard needs to know,
    in case id order."""
    dates = Dates()
    rows = fetch(conn, _OPEN_CASES_SQL.format(join=partition_join(conn)), (shard_from, shard_to))
    rows.sort(key=_first)
    return [
        OpenCase(r[0], r[1], r[2], r[3], r[4], r[5], r[6], dates(r[7]),  # type: ignore[arg-type]
                 r[8], r[9], r[10] is not None, bool(r[11]), bool(r[12]))
        for r in rows
    ]


_first = itemgetter(0)

# The loans in arrears by the range of ix_loans_due_shard the daily run ages them by. On
# SQLite the group is `+l.borrower_id`, which keeps its planner (it has no statistics) from
# walking every loan by ix_loans_borrower_id to have the groups in order: for one share
# of a day at 1,000,000 loans that read all of them, 0.2-0.5 s against 0.05 s.
_PRINCIPAL_SQL = """
SELECT l.borrower_id, SUM(i.principal_minor - i.principal_paid_minor)
FROM loans l JOIN installments i ON i.loan_id = l.loan_id
WHERE l.next_unpaid_due_on < ? AND l.shard >= ? AND l.shard <= ?
GROUP BY {group}
"""
_PRINCIPAL_GROUP = {"sqlite": "+l.borrower_id"}


def principal_outstanding(conn: Connection, shard_from: int, shard_to: int, day: date
                          ) -> dict[str, int]:
    """Unpaid principal of the loans in arrears (an installment due before `day` unpaid) of
    the shard range's borrowers: the same index range the daily run ages loans by."""
    sql = _PRINCIPAL_SQL.format(group=_PRINCIPAL_GROUP.get(conn.dialect.name, "l.borrower_id"))
    return {r[0]: int(r[1] or 0)
            for r in fetch(conn, sql, (_bind_date(conn, day), shard_from, shard_to))}


#: Borrower ids per IN list: well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 2000


def _bind_date(conn: Connection, day: date) -> object:
    """A date as the raw driver must be given it: ISO text on SQLite (what SQLAlchemy
    stores), the date itself on PostgreSQL."""
    return day.isoformat() if conn.dialect.name == "sqlite" else day


def _bind_time(conn: Connection, moment: datetime) -> object:
    """A time as the raw driver must be given it: naive UTC text on SQLite, in SQLAlchemy's
    storage format (so text comparison is time order), aware UTC on PostgreSQL."""
    if conn.dialect.name == "sqlite":
        return _bind_time_sqlite(moment)
    return moment.astimezone(UTC)


def _bind_time_sqlite(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


class _Times:
    """Times as the driver returns them (text on SQLite), UTC-aware, each text read once."""

    def __init__(self) -> None:
        self._seen: dict[object, datetime | None] = {None: None}

    def __call__(self, value: object) -> datetime | None:
        try:
            return self._seen[value]
        except KeyError:
            parsed = utc(value if isinstance(value, datetime)
                         else datetime.fromisoformat(str(value)))
            self._seen[value] = parsed
            return parsed


def _rows_for(conn: Connection, sql: str, borrower_ids: Sequence[str],
              extra: Sequence[object] = ()) -> list[Any]:
    """Rows of `sql` (with `{ids}` where the IN list goes, then `extra` parameters) for these
    borrowers, by index probes in chunks (never a scan of the open cases per table, which
    grew with every partition). Plain driver tuples: a run reads a few hundred thousand."""
    found: list[Any] = []
    full = sql.format(ids=", ".join("?" * _CHUNK))
    for start in range(0, len(borrower_ids), _CHUNK):
        chunk = list(borrower_ids[start:start + _CHUNK])
        text = full if len(chunk) == _CHUNK else sql.format(ids=", ".join("?" * len(chunk)))
        found.extend(fetch(conn, text, [*chunk, *extra]))
    return found


_CHANNEL_STATES_SQL = """
SELECT borrower_id, channel, last_planned_on, last_attempt_at, last_success_at,
       consecutive_failures
FROM channel_states WHERE borrower_id IN ({ids})
"""


def channel_states_of(conn: Connection, borrower_ids: Sequence[str]
                      ) -> dict[str, dict[str, ChannelState]]:
    found: dict[str, dict[str, ChannelState]] = defaultdict(dict)
    dates, times = Dates(), _Times()
    for r in _rows_for(conn, _CHANNEL_STATES_SQL, borrower_ids):
        found[r[0]][r[1]] = ChannelState(dates(r[2]), times(r[3]), times(r[4]), r[5])
    return found


def _channel_state(r: Any) -> ChannelState:
    return ChannelState(r["last_planned_on"], utc(r["last_attempt_at"]),
                        utc(r["last_success_at"]), r["consecutive_failures"])


_STANDINGS_SQL = """
SELECT borrower_id, last_rpc_at, failed_in_a_row, unreachable_since, refusals,
       promises_kept, promises_broken
FROM borrower_contact_facts WHERE borrower_id IN ({ids})
"""


def standings_of(conn: Connection, borrower_ids: Sequence[str]) -> dict[str, ContactStanding]:
    times = _Times()
    return {r[0]: ContactStanding(times(r[1]), r[2], times(r[3]), r[4], r[5], r[6])
            for r in _rows_for(conn, _STANDINGS_SQL, borrower_ids)}


def _standing(r: Any) -> ContactStanding:
    return ContactStanding(
        utc(r["last_rpc_at"]), r["failed_in_a_row"], utc(r["unreachable_since"]), r["refusals"],
        r["promises_kept"], r["promises_broken"],
    )


_RESTRICTIONS_SQL = """
SELECT borrower_id, kind, channel, started_at, until_on
FROM contact_restrictions
WHERE borrower_id IN ({ids}) AND lifted_at IS NULL AND (until_on IS NULL OR until_on >= ?)
"""


def restrictions_of(conn: Connection, borrower_ids: Sequence[str], day: date
                    ) -> dict[str, list[Restriction]]:
    """Restrictions in force on `day` for these borrowers, oldest first."""
    dates, times = Dates(), _Times()
    rows = [(r[0], r[1], r[2], times(r[3]) or datetime.min, dates(r[4]))
            for r in _rows_for(conn, _RESTRICTIONS_SQL, borrower_ids, (_bind_date(conn, day),))]
    rows.sort(key=itemgetter(0, 3))
    found: dict[str, list[Restriction]] = defaultdict(list)
    for borrower, kind, channel, started_at, until_on in rows:
        found[borrower].append(Restriction(kind, channel, started_at, until_on))
    return found


@dataclass(frozen=True, slots=True)
class Preferences:
    preferred_channels: frozenset[str]
    agreed_from: str | None
    agreed_to: str | None


_PREFERENCES_SQL = """
SELECT borrower_id, preferred_channels, agreed_from, agreed_to
FROM contact_preferences WHERE borrower_id IN ({ids})
"""


def preferences_of(conn: Connection, borrower_ids: Sequence[str]) -> dict[str, Preferences]:
    return {
        r[0]: Preferences(frozenset(c for c in r[1].split(",") if c), r[2], r[3])
        for r in _rows_for(conn, _PREFERENCES_SQL, borrower_ids)
    }


@dataclass(frozen=True, slots=True)
class PastAttempt:
    at: datetime
    channel: str
    party: str
    outcome: str


_ATTEMPTS_SQL = """
SELECT borrower_id, at, channel, party, outcome
FROM contact_attempts WHERE borrower_id IN ({ids}) AND at >= ? AND violated IS NULL
"""


def recent_attempts(conn: Connection, borrower_ids: Sequence[str], since: datetime
                    ) -> dict[str, list[PastAttempt]]:
    """Attempts since `since` (the guard's look-back), in time order, lawful ones only:
    an attempt the guard found unlawful was refused and counts toward no limit."""
    since = since.astimezone(UTC)
    times = _Times()
    rows = [(r[0], times(r[1]) or since, r[2], r[3], r[4])
            for r in _rows_for(conn, _ATTEMPTS_SQL, borrower_ids, (_bind_time(conn, since),))]
    rows.sort(key=itemgetter(1))
    found: dict[str, list[PastAttempt]] = defaultdict(list)
    for borrower, at, channel, party, outcome in rows:
        found[borrower].append(PastAttempt(at, channel, party, outcome))
    return found


def upsert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] = ()) -> None:
    """INSERT rows; on a key clash update `update` columns (or leave the row as it is)."""
    if not rows:
        return
    # SQLite keeps a datetime as written, offset dropped: store UTC, as everything else does.
    rows = [{k: as_utc(v) if isinstance(v, datetime) else v for k, v in r.items()} for r in rows]
    conn.execute(_upsert_statement(conn.dialect.name, table, tuple(keys), tuple(update)),
                 list(rows))


@functools.lru_cache(maxsize=64)
def _upsert_statement(dialect_name: str, table: Any, keys: tuple[str, ...],
                      update: tuple[str, ...]) -> Any:
    """One statement per table and columns, made once: building `excluded` (an alias of the
    whole table) and the statement's cache key cost more than running it, and contact
    outcomes upsert a borrower's standing and channel state one at a time."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    if update:
        return stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
        )
    return stmt.on_conflict_do_nothing(index_elements=list(keys))


def register_policy(conn: Connection, *, version: str, name: str, profile: str, source: str,
                    body: str, now: datetime) -> None:
    """Keep the text of every policy that ever decided anything, by its content hash."""
    upsert(conn, policies, [{"version": version, "name": name, "profile": profile,
                             "source": source[:255], "body": body, "first_used_at": now}],
           ["version"])


def assign_variants(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Record a case's variant the first time it is decided; later decisions never move it."""
    upsert(conn, experiment_assignments, list(rows), ["case_id", "experiment"])


_MARK_PLANNED_SQL = """
INSERT INTO channel_states (borrower_id, channel, last_planned_on) VALUES (?, ?, ?)
ON CONFLICT (borrower_id, channel) DO UPDATE SET last_planned_on = excluded.last_planned_on
"""


def mark_planned(conn: Connection, planned: Sequence[tuple[str, str]], day: date) -> None:
    """Remember the day a channel was last planned, for the policy's cadence: one upsert of
    (borrower, channel) pairs, each at most once (a statement may not touch a row twice).
    Plain driver parameters: a run plans a hundred thousand channels."""
    if not planned:
        return
    on = _bind_date(conn, day)
    conn.exec_driver_sql(_marks(conn, _MARK_PLANNED_SQL),
                         [(borrower, channel, on) for borrower, channel in planned])


def _marks(conn: Connection, sql: str) -> str:
    return sql if conn.dialect.name == "sqlite" else sql.replace("?", "%s")


def db_values(conn: Connection) -> Callable[[Any], Any]:
    """What the driver is to be given for a Python value, as SQLAlchemy would store it: on
    SQLite times as naive UTC text and dates as ISO text; on PostgreSQL the values as they
    are (times made UTC, as everything else writes them)."""
    if conn.dialect.name == "sqlite":
        return _sqlite_value
    return _postgresql_value


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _bind_time_sqlite(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _postgresql_value(value: Any) -> Any:
    return as_utc(value) if isinstance(value, datetime) else value


def insert_rows(conn: Connection, table: Any, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """INSERT rows whose values `db_values` has prepared already, in one executemany."""
    if rows:
        bulk_insert(conn, table, columns, rows, ready=True)


# One borrower's facts, read once per contact outcome: statements made once, since building
# a statement and its cache key cost more than SQLite's answer.
_ATTEMPTS_OF = (
    select(contact_attempts.c.at, contact_attempts.c.channel, contact_attempts.c.party,
           contact_attempts.c.outcome)
    .where(contact_attempts.c.borrower_id == bindparam("borrower_id"),
           contact_attempts.c.at >= bindparam("since"), contact_attempts.c.violated.is_(None))
    .order_by(contact_attempts.c.at)
)
_CHANNEL_STATE_OF = select(channel_states).where(
    channel_states.c.borrower_id == bindparam("borrower_id"),
    channel_states.c.channel == bindparam("channel"))
_STANDING_OF = select(borrower_contact_facts).where(
    borrower_contact_facts.c.borrower_id == bindparam("borrower_id"))
_OPEN_CASE_OF = select(cases.c.case_id).where(cases.c.borrower_id == bindparam("borrower_id"),
                                              cases.c.status == "open")


def attempts_of(conn: Connection, borrower_id: str, since: datetime) -> list[PastAttempt]:
    """One borrower's lawful attempts since `since`, in time order."""
    rows = conn.execute(_ATTEMPTS_OF, {"borrower_id": borrower_id, "since": since})
    return [PastAttempt(utc(r[0]) or since, r[1], r[2], r[3]) for r in rows]


def channel_state_of(conn: Connection, borrower_id: str, channel: str) -> ChannelState:
    row = conn.execute(_CHANNEL_STATE_OF, {"borrower_id": borrower_id, "channel": channel}
                       ).mappings().first()
    return ChannelState() if row is None else _channel_state(row)


def standing_of(conn: Connection, borrower_id: str) -> ContactStanding:
    row = conn.execute(_STANDING_OF, {"borrower_id": borrower_id}).mappings().first()
    return ContactStanding() if row is None else _standing(row)


def save_channel_state(conn: Connection, borrower_id: str, channel: str, state: ChannelState) -> None:
    upsert(conn, channel_states, [{
        "borrower_id": borrower_id, "channel": channel, "last_planned_on": state.last_planned_on,
        "last_attempt_at": state.last_attempt_at, "last_success_at": state.last_success_at,
        "consecutive_failures": state.consecutive_failures,
    }], ["borrower_id", "channel"],
        ["last_planned_on", "last_attempt_at", "last_success_at", "consecutive_failures"])


def save_standing(conn: Connection, borrower_id: str, standing: ContactStanding) -> None:
    values = {
        "last_rpc_at": standing.last_rpc_at, "failed_in_a_row": standing.failed_in_a_row,
        "unreachable_since": standing.unreachable_since, "refusals": standing.refusals,
        "promises_kept": standing.promises_kept, "promises_broken": standing.promises_broken,
    }
    upsert(conn, borrower_contact_facts, [{"borrower_id": borrower_id, **values}],
           ["borrower_id"], list(values))


def open_case_of(conn: Connection, borrower_id: str) -> str | None:
    return conn.execute(_OPEN_CASE_OF, {"borrower_id": borrower_id}).scalar()


def planned_on(conn: Connection, day: date) -> tuple[int, dict[str, int]]:
    """How many decisions a business date made, and their contacts by status."""
    made = conn.execute(
        select(func.count()).select_from(decisions).where(decisions.c.business_date == day)
    ).scalar_one()
    rows = conn.execute(
        select(contacts.c.status, func.count())
        .select_from(contacts)
        .join(decisions, decisions.c.decision_id == contacts.c.decision_id)
        .where(decisions.c.business_date == day)
        .group_by(contacts.c.status)
    ).all()
    return int(made), {status: int(n) for status, n in rows}
