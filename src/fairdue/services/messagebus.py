"""Hands domain events to their handlers, after the transaction that made them commits.

Handlers are for consequences that may lag a moment (re-evaluating a case's contacts,
telling a borrower); anything that must be atomic with the change happens inside the
unit of work instead. A failing handler is logged and does not undo the committed change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from fairdue.domain.events import DomainEvent

log = logging.getLogger(__name__)

Handler = Callable[[DomainEvent], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[DomainEvent], handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def dispatch(self, events: Iterable[DomainEvent]) -> None:
        for event in events:
            for handler in self._handlers.get(type(event), ()):
                try:
                    handler(event)
                except Exception:
                    log.exception("handler %r failed on %s for %s", handler, event.name, event.subject)
