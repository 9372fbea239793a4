"""Reading the facts of a partition's open cases, and writing what the strategy decided.

Every read is one set-based query per partition (cases joined to what they need), never a
query per case: a daily run with a hundred thousand open cases reads a handful of result
sets. Times come back as UTC-aware datetimes on both databases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from fairdue.adapters.db.tables import (
    borrower_contact_facts,
    borrowers,
    cases,
    channel_states,
    contact_attempts,
    contact_preferences,
    contact_restrictions,
    contacts,
    decisions,
    experiment_assignments,
    installments,
    loans,
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


def open_cases(conn: Connection, shard_from: int, shard_to: int) -> list[OpenCase]:
    """The open cases of borrowers in the shard range, with what the guard needs to know."""
    query = (
        select(
            cases.c.case_id, cases.c.borrower_id, cases.c.dpd, cases.c.bucket,
            cases.c.amount_due_minor, cases.c.currency, cases.c.overdue_loans, cases.c.opened_on,
            borrowers.c.timezone, borrowers.c.language, borrowers.c.phone_index.is_not(None),
            borrowers.c.has_email, borrowers.c.has_app,
        )
        .select_from(cases)
        .join(borrowers, borrowers.c.borrower_id == cases.c.borrower_id)
        .where(cases.c.status == "open", borrowers.c.shard.between(shard_from, shard_to))
        .order_by(cases.c.case_id)
    )
    return [
        OpenCase(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]),
                 bool(r[11]), bool(r[12]))
        for r in conn.execute(query)
    ]


def principal_outstanding(conn: Connection, shard_from: int, shard_to: int, day: date
                          ) -> dict[str, int]:
    """Unpaid principal of the loans in arrears (an installment due before `day` unpaid) of
    the shard range's borrowers: the same index range the daily run ages loans by."""
    query = (
        select(loans.c.borrower_id,
               func.sum(installments.c.principal_minor - installments.c.principal_paid_minor))
        .select_from(loans)
        .join(installments, installments.c.loan_id == loans.c.loan_id)
        .where(loans.c.next_unpaid_due_on < day, loans.c.shard.between(shard_from, shard_to))
        .group_by(loans.c.borrower_id)
    )
    return {r[0]: int(r[1] or 0) for r in conn.execute(query)}


#: Borrower ids per IN list: well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 2000


def _rows_for(conn: Connection, table: Any, borrower_ids: Sequence[str], *extra: Any) -> list[Any]:
    """Rows of `table` for these borrowers, by index probes in chunks (never a scan of the
    open cases per table, which grew with every partition)."""
    found: list[Any] = []
    for start in range(0, len(borrower_ids), _CHUNK):
        chunk = list(borrower_ids[start:start + _CHUNK])
        found.extend(conn.execute(
            select(table).where(table.c.borrower_id.in_(chunk), *extra)
        ).mappings())
    return found


def channel_states_of(conn: Connection, borrower_ids: Sequence[str]
                      ) -> dict[str, dict[str, ChannelState]]:
    found: dict[str, dict[str, ChannelState]] = defaultdict(dict)
    for r in _rows_for(conn, channel_states, borrower_ids):
        found[r["borrower_id"]][r["channel"]] = _channel_state(r)
    return found


def _channel_state(r: Any) -> ChannelState:
    return ChannelState(r["last_planned_on"], utc(r["last_attempt_at"]),
                        utc(r["last_success_at"]), r["consecutive_failures"])


def standings_of(conn: Connection, borrower_ids: Sequence[str]) -> dict[str, ContactStanding]:
    return {r["borrower_id"]: _standing(r)
            for r in _rows_for(conn, borrower_contact_facts, borrower_ids)}


def _standing(r: Any) -> ContactStanding:
    return ContactStanding(
        utc(r["last_rpc_at"]), r["failed_in_a_row"], utc(r["unreachable_since"]), r["refusals"],
        r["promises_kept"], r["promises_broken"],
    )


def _restriction_in_force(day: date) -> Any:
    return and_(
        contact_restrictions.c.lifted_at.is_(None),
        or_(contact_restrictions.c.until_on.is_(None), contact_restrictions.c.until_on >= day),
    )


def restrictions_of(conn: Connection, borrower_ids: Sequence[str], day: date
                    ) -> dict[str, list[Restriction]]:
    """Restrictions in force on `day` for these borrowers, oldest first."""
    rows = sorted(_rows_for(conn, contact_restrictions, borrower_ids, _restriction_in_force(day)),
                  key=lambda r: (r["borrower_id"], utc(r["started_at"]) or datetime.min))
    found: dict[str, list[Restriction]] = defaultdict(list)
    for r in rows:
        found[r["borrower_id"]].append(
            Restriction(r["kind"], r["channel"], utc(r["started_at"]) or datetime.min, r["until_on"])
        )
    return found


@dataclass(frozen=True, slots=True)
class Preferences:
    preferred_channels: frozenset[str]
    agreed_from: str | None
    agreed_to: str | None


def preferences_of(conn: Connection, borrower_ids: Sequence[str]) -> dict[str, Preferences]:
    return {
        r["borrower_id"]: Preferences(
            frozenset(c for c in r["preferred_channels"].split(",") if c),
            r["agreed_from"], r["agreed_to"],
        )
        for r in _rows_for(conn, contact_preferences, borrower_ids)
    }


@dataclass(frozen=True, slots=True)
class PastAttempt:
    at: datetime
    channel: str
    party: str
    outcome: str


def recent_attempts(conn: Connection, borrower_ids: Sequence[str], since: datetime
                    ) -> dict[str, list[PastAttempt]]:
    """Attempts since `since` (the guard's look-back), in time order, lawful ones only:
    an attempt the guard found unlawful was refused and counts toward no limit."""
    since = since.astimezone(UTC)
    rows = _rows_for(conn, contact_attempts, borrower_ids, contact_attempts.c.at >= since,
                     contact_attempts.c.violated.is_(None))
    found: dict[str, list[PastAttempt]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: utc(r["at"]) or since):
        at = utc(r["at"])
        assert at is not None
        found[r["borrower_id"]].append(PastAttempt(at, r["channel"], r["party"], r["outcome"]))
    return found


def upsert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] = ()) -> None:
    """INSERT rows; on a key clash update `update` columns (or leave the row as it is)."""
    if not rows:
        return
    # SQLite keeps a datetime as written, offset dropped: store UTC, as everything else does.
    rows = [{k: as_utc(v) if isinstance(v, datetime) else v for k, v in r.items()} for r in rows]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, list(rows))


def register_policy(conn: Connection, *, version: str, name: str, profile: str, source: str,
                    body: str, now: datetime) -> None:
    """Keep the text of every policy that ever decided anything, by its content hash."""
    upsert(conn, policies, [{"version": version, "name": name, "profile": profile,
                             "source": source[:255], "body": body, "first_used_at": now}],
           ["version"])


def assign_variants(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Record a case's variant the first time it is decided; later decisions never move it."""
    upsert(conn, experiment_assignments, list(rows), ["case_id", "experiment"])


def mark_planned(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Remember the day a channel was last planned, for the policy's cadence."""
    upsert(conn, channel_states, rows, ["borrower_id", "channel"], ["last_planned_on"])


def attempts_of(conn: Connection, borrower_id: str, since: datetime) -> list[PastAttempt]:
    """One borrower's lawful attempts since `since`, in time order."""
    rows = conn.execute(
        select(contact_attempts.c.at, contact_attempts.c.channel, contact_attempts.c.party,
               contact_attempts.c.outcome)
        .where(contact_attempts.c.borrower_id == borrower_id, contact_attempts.c.at >= since,
               contact_attempts.c.violated.is_(None))
        .order_by(contact_attempts.c.at)
    )
    return [PastAttempt(utc(r[0]) or since, r[1], r[2], r[3]) for r in rows]


def channel_state_of(conn: Connection, borrower_id: str, channel: str) -> ChannelState:
    row = conn.execute(
        select(channel_states).where(channel_states.c.borrower_id == borrower_id,
                                     channel_states.c.channel == channel)
    ).mappings().first()
    return ChannelState() if row is None else _channel_state(row)


def standing_of(conn: Connection, borrower_id: str) -> ContactStanding:
    row = conn.execute(
        select(borrower_contact_facts).where(borrower_contact_facts.c.borrower_id == borrower_id)
    ).mappings().first()
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
    return conn.execute(
        select(cases.c.case_id).where(cases.c.borrower_id == borrower_id, cases.c.status == "open")
    ).scalar()


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
