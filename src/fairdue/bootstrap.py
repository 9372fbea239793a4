"""The composition root: settings in, wired adapters and services out.

Nothing is connected at import time; each entry point (CLI, server, worker, tests) calls
`build_app` once with the settings it was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from fairdue.adapters.crypto import KeyRing, load_key_file
from fairdue.adapters.db.engine import make_engine, redact
from fairdue.adapters.db.migrate import ensure_current
from fairdue.clock import Clock
from fairdue.domain.delinquency import BucketTable
from fairdue.domain.ledger import Component, parse_allocation_order
from fairdue.services.messagebus import EventBus
from fairdue.services.unit_of_work import UnitOfWork
from fairdue.settings import Settings

if TYPE_CHECKING:
    from fairdue.adapters.templates import TemplateSet
    from fairdue.services.strategy import Strategy


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    bus: EventBus = field(default_factory=EventBus)

    @cached_property
    def keys(self) -> KeyRing:
        return load_key_file(self.settings.resolved_key_file())

    @cached_property
    def strategy(self) -> Strategy:
        """The policy in force and its profile, read once per process."""
        from fairdue.services.strategy import load_strategy

        return load_strategy(self.settings)

    @cached_property
    def templates(self) -> TemplateSet:
        """The message templates, loaded and checked once per process (about 0.1 s)."""
        from fairdue.adapters.templates import templates_from_settings

        return templates_from_settings(self.settings)

    @property
    def buckets(self) -> BucketTable:
        return self.settings.bucket_table

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    @property
    def allocation_order(self) -> tuple[Component, ...]:
        return parse_allocation_order(self.settings.allocation_order)

    @property
    def db_label(self) -> str:
        return redact(self.settings.database_url)

    def uow(self, actor: str = "system") -> UnitOfWork:
        return UnitOfWork(self.engine, bus=self.bus, clock=self.clock, actor=actor)

    def close(self) -> None:
        self.engine.dispose()


def build_app(settings: Settings, *, clock: Clock | None = None, check_schema: bool = True) -> App:
    """Connect to the configured database; refuse one whose schema is behind."""
    engine = make_engine(settings.database_url)
    if check_schema:
        try:
            ensure_current(engine, settings.database_url)
        except Exception:
            engine.dispose()
            raise
    return App(settings=settings, engine=engine, clock=clock or Clock())
