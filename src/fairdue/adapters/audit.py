"""The append-only, hash-chained audit log: who saw or did what to whom, and when.

Every unmasked read of personal data and every decision about a borrower is appended
here. Each entry's hash covers its content and the previous entry's hash, so changing,
removing or reordering any entry breaks the chain from that point, which `verify_audit`
reports; database triggers (migration 0001) refuse UPDATE and DELETE outright.

The hash is SHA-256 of this UTF-8 JSON text, which anyone can recompute without fairdue:
`{"action":..,"actor":..,"at":..,"details":{..},"prev_hash":..,"seq":..,"subject":..}`,
i.e. `json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`,
where `at` is `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, `details` is exactly the stored
`details` column and `prev_hash` of entry 1 is 64 zeros.

A chain cannot show that its newest entries were cut off; to detect that, record the
latest (seq, hash) somewhere else from time to time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring  # what the encoder below does with a str
from typing import Any, Protocol

from sqlalchemy import Connection, insert, select, text

from fairdue.adapters.db.bulk import bulk_insert
from fairdue.adapters.db.tables import audit_log
from fairdue.errors import InvalidInput

GENESIS_HASH = "0" * 64

# Appenders on PostgreSQL queue on this transaction-scoped advisory lock before reading
# the head of the chain ("fdaudit"), so two transactions never both extend entry N.
AUDIT_LOCK_KEY = 0x66_64_61_75_64_69_74

_TEXT_LIMIT = 64  # actor, action and subject are String(64) columns
_VERIFY_CHUNK = 2_000
_COLUMNS = ("seq", "at", "actor", "action", "subject", "details", "prev_hash", "hash")

# One encoder made once: json.dumps with these options would build a new one per call,
# which costs more than the encoding itself for the short texts of the chain.
_CANONICAL_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


class AuditEntryLike(Protocol):
    """Anything with the fields of an audit entry, such as `AuditEntry`."""

    @property
    def at(self) -> datetime: ...

    @property
    def actor(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def details(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class AuditEntry:
    """One entry to append; seq and hashes are assigned when it is written."""

    at: datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of checking the chain: ok, or the first entry found wrong and why.

    `entries_checked` counts the entries read, including the bad one when there is one.
    """

    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


def append_audit(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any],
) -> int:
    """Append one entry inside the caller's transaction and return its seq.

    The entry is part of the caller's unit of work: it commits or rolls back with the
    action it records. Concurrent appenders wait for each other until commit.
    """
    entry = AuditEntry(at=at, actor=actor, action=action, subject=subject, details=details)
    seq, prev_hash = _lock_and_read_head(conn)
    row = _row(entry, seq + 1, prev_hash, {})
    conn.execute(insert(audit_log), [dict(zip(_COLUMNS, row, strict=True))])
    return seq + 1


def append_audit_many(conn: Connection, entries: Sequence[AuditEntryLike]) -> None:
    """Append entries in order with one read of the head and one batched insert."""
    if not entries:
        return
    seq, prev_hash = _lock_and_read_head(conn)
    rows = []
    times: dict[datetime, tuple[datetime, str]] = {}  # entries of one commit share a time
    for entry in entries:
        seq += 1
        row = _row(entry, seq, prev_hash, times)
        prev_hash = row[-1]
        rows.append(row)
    bulk_insert(conn, audit_log, _COLUMNS, rows)


def verify_audit(conn: Connection) -> AuditVerification:
    """Walk the whole chain in seq order, streaming, and report the first problem found.

    Per entry, in this order: a gap in seq (an entry deleted), a prev_hash that is not
    the previous entry's hash (the chain relinked or reordered), and a hash that does
    not match the entry's content (the entry altered).
    """
    query = select(
        audit_log.c.seq,
        audit_log.c.at,
        audit_log.c.actor,
        audit_log.c.action,
        audit_log.c.subject,
        audit_log.c.details,
        audit_log.c.prev_hash,
        audit_log.c.hash,
    ).order_by(audit_log.c.seq)
    # yield_per streams in chunks (a server-side cursor on PostgreSQL), so memory stays
    # flat however long the log grows.
    result = conn.execute(query, execution_options={"yield_per": _VERIFY_CHUNK})
    checked = 0
    expected_seq = 1
    prev_hash = GENESIS_HASH
    try:
        for row in result:
            checked += 1
            if row.seq != expected_seq:
                missing = (
                    f"entry {expected_seq} is missing"
                    if row.seq - expected_seq == 1
                    else f"entries {expected_seq} to {row.seq - 1} are missing"
                )
                return _bad(checked, expected_seq, f"{missing} (next entry is {row.seq})")
            if row.prev_hash != prev_hash:
                return _bad(
                    checked,
                    row.seq,
                    f"entry {row.seq} does not link to entry {row.seq - 1}: its prev_hash "
                    "differs from that entry's hash (entries replaced or reordered)",
                )
            digest = _digest(
                seq=row.seq,
                at_text=_at_text(_as_utc(row.at)),
                actor=row.actor,
                action=row.action,
                subject=row.subject,
                details_text=row.details,
                prev_hash=row.prev_hash,
            )
            if digest != row.hash:
                return _bad(
                    checked,
                    row.seq,
                    f"entry {row.seq} was altered: its content no longer matches its hash",
                )
            prev_hash = row.hash
            expected_seq += 1
    finally:
        result.close()
    return AuditVerification(ok=True, entries_checked=checked)


def _bad(checked: int, seq: int, problem: str) -> AuditVerification:
    return AuditVerification(ok=False, entries_checked=checked, first_bad_seq=seq, problem=problem)


#: The newest entry: read before every append, so made once.
_HEAD = select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)


def _lock_and_read_head(conn: Connection) -> tuple[int, str]:
    """Serialise appenders, then return the newest (seq, hash), or (0, 64 zeros)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    elif dialect == "sqlite":
        # pysqlite starts a transaction only at the first INSERT, so reading the head
        # first would not hold SQLite's write lock. Take it now if nothing has yet.
        dbapi = conn.connection.dbapi_connection
        if dbapi is not None and not dbapi.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    head = conn.execute(_HEAD).first()
    if head is None:
        return 0, GENESIS_HASH
    return int(head.seq), str(head.hash)


def _row(
    entry: AuditEntryLike, seq: int, prev_hash: str, times: dict[datetime, tuple[datetime, str]]
) -> tuple[Any, ...]:
    """The entry's column values in `_COLUMNS` order, its hash last."""
    known = times.get(entry.at)
    if known is None:
        at = _require_utc(entry.at)
        known = times[entry.at] = (at, _at_text(at))
    at, at_text = known
    for value, name in ((entry.actor, "actor"), (entry.action, "action"),
                        (entry.subject, "subject")):
        if not value or len(value) > _TEXT_LIMIT:
            raise InvalidInput(
                f"audit {name} must be 1 to {_TEXT_LIMIT} characters, got {value!r}"
            )
    details = entry.details
    details_text = _canonical(details if details.__class__ is dict else dict(details))
    digest = _digest(
        seq=seq,
        at_text=at_text,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        details_text=details_text,
        prev_hash=prev_hash,
    )
    return (seq, at, entry.actor, entry.action, entry.subject, details_text, prev_hash, digest)


def _canonical(value: Any) -> str:
    try:
        return _CANONICAL_ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"audit details must be JSON (str, numbers, bool, None, lists, dicts): {exc}"
        ) from None


def _text(value: Any) -> str:
    """`_canonical` of a value that is almost always a str, at the C encoder's speed."""
    return encode_basestring(value) if value.__class__ is str else _canonical(value)


def _digest(
    *,
    seq: int,
    at_text: str,
    actor: str,
    action: str,
    subject: str,
    details_text: str,
    prev_hash: str,
) -> str:
    # Keys in sorted order, with the stored details text spliced in as it is: the same
    # bytes as json.dumps(entry, sort_keys=True, ...) of the whole entry, but verify
    # checks exactly what is stored, without re-encoding it.
    payload = (
        '{"action":' + _text(action)
        + ',"actor":' + _text(actor)
        + ',"at":' + _text(at_text)
        + ',"details":' + details_text
        + ',"prev_hash":' + _text(prev_hash)
        + ',"seq":' + str(seq)
        + ',"subject":' + _text(subject)
        + "}"
    )  # fmt: skip
    return hashlib.sha256(payload.encode()).hexdigest()


def _require_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"audit time {at.isoformat()} has no time zone; pass an aware UTC time")
    return at.astimezone(UTC)


def _as_utc(at: datetime) -> datetime:
    # SQLite returns stored times without their zone; they were written in UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _at_text(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
