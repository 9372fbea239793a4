"""One transaction per use case, and the domain events it produced.

Events are stored in the event log and the audit log inside the transaction, so the
record of a change can never be missing from a committed change; handlers see them only
after commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, insert

from fairdue.adapters.audit import AuditEntry, append_audit_many
from fairdue.adapters.db.tables import domain_events
from fairdue.clock import Clock
from fairdue.domain.events import DomainEvent
from fairdue.services.messagebus import EventBus


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

    def record(self, events: Iterable[DomainEvent]) -> None:
        """Take events from domain objects; they are saved and audited at commit."""
        self._events.extend(events)

    def audit(self, action: str, subject: str, details: dict[str, Any]) -> None:
        """An audit entry for a change that is not a domain event (an import, a run)."""
        self._audits.append((action, subject, details))

    def commit(self) -> None:
        conn = self.connection
        now = self._clock.now()
        if self._events:
            conn.execute(
                insert(domain_events),
                [
                    {
                        "name": e.name,
                        "subject": e.subject,
                        "occurred_on": getattr(e, "on", None),
                        "recorded_at": now,
                        "payload": json.dumps(e.payload(), ensure_ascii=False, sort_keys=True),
                    }
                    for e in self._events
                ],
            )
        entries = [
            AuditEntry(now, self.actor, e.name, e.subject, e.payload()) for e in self._events
        ] + [AuditEntry(now, self.actor, a, s, d) for a, s, d in self._audits]
        if entries:
            append_audit_many(conn, entries)
        conn.commit()
        self._committed = True
        events, self._events, self._audits = self._events, [], []
        self._bus.dispatch(events)
