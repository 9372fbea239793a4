"""One transaction per use case, and the domain events it produced.

Events are stored in the event log and the audit log inside the transaction, so the
record of a change can never be missing from a committed change; handlers see them only
after commit.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Callable, Iterable
from datetime import date, datetime
from types import TracebackType
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine

from fairdue.adapters.audit import append_audit_many
from fairdue.adapters.db.bulk import bulk_insert
from fairdue.adapters.db.tables import domain_events
from fairdue.clock import Clock
from fairdue.domain.events import DomainEvent
from fairdue.services.messagebus import EventBus

_EVENT_COLUMNS = ("name", "subject", "occurred_on", "recorded_at", "payload")
_PAYLOAD_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_PLAIN = (str, int, float, bool, type(None))
_FIELDS: dict[type[DomainEvent], tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}


def event_payload(event: DomainEvent) -> dict[str, Any]:
    """`event.payload()`, without `dataclasses.asdict`'s deep copy where every field is a
    plain value or a date (all events so far): a daily run stores hundreds of thousands."""
    kind = type(event)
    if kind.payload is not DomainEvent.payload:
        return event.payload()
    known = _FIELDS.get(kind)
    if known is None:
        names = tuple(f.name for f in dataclasses.fields(kind))
        getter = operator.attrgetter(*names)
        known = _FIELDS[kind] = (names, (lambda e: (getter(e),)) if len(names) == 1 else getter)
    names, values = known
    payload = dict(zip(names, values(event), strict=True))
    for name, value in payload.items():
        if value.__class__ is date:
            payload[name] = value.isoformat()
        elif not isinstance(value, _PLAIN):
            return event.payload()
    return payload


class _Entry(NamedTuple):
    """An audit entry for `append_audit_many` (an `AuditEntryLike`), cheaper to make."""

    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


class UnitOfWork:
    def __init__(self, engine: Engine, *, bus: EventBus, clock: Clock, actor: str) -> None:
        self._engine = engine
        self._bus = bus
        self._clock = clock
        self.actor = actor
        self._events: list[DomainEvent] = []
        self._audits: list[tuple[str, str, dict[str, Any]]] = []
        self._connection: Connection | None = None
        self._committed = False

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open; use it in a with-block")
        return self._connection

    def __enter__(self) -> UnitOfWork:
        self._connection = self._engine.connect()
        self._connection.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._connection is not None
        try:
            if not self._committed:
                self._connection.rollback()
        finally:
            self._connection.close()
            self._connection = None

    def write_lock(self) -> None:
        """On SQLite, take the database's write lock now rather than at the first write,
        so that what this transaction reads next cannot change before it writes (and two
        processes cannot both read, then both write). PostgreSQL locks rows instead
        (`SELECT ... FOR UPDATE`); there this does nothing."""
        conn = self.connection
        if conn.dialect.name == "sqlite":
            dbapi = conn.connection.dbapi_connection
            if dbapi is not None and not dbapi.in_transaction:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    def record(self, events: Iterable[DomainEvent]) -> None:
        """Take events from domain objects; they are saved and audited at commit."""
        self._events.extend(events)

    def audit(self, action: str, subject: str, details: dict[str, Any]) -> None:
        """An audit entry for a change that is not a domain event (an import, a run)."""
        self._audits.append((action, subject, details))

    def commit(self) -> None:
        conn = self.connection
        now = self._clock.now()
        payloads = [event_payload(e) for e in self._events]
        if self._events:
            bulk_insert(conn, domain_events, _EVENT_COLUMNS, [
                (e.name, e.subject, getattr(e, "on", None), now, _PAYLOAD_ENCODER.encode(p))
                for e, p in zip(self._events, payloads, strict=True)
            ])
        actor = self.actor
        entries = [
            _Entry(now, actor, e.name, e.subject, p)
            for e, p in zip(self._events, payloads, strict=True)
        ] + [_Entry(now, actor, a, s, d) for a, s, d in self._audits]
        if entries:
            append_audit_many(conn, entries)
        conn.commit()
        self._committed = True
        events, self._events, self._audits = self._events, [], []
        self._bus.dispatch(events)
