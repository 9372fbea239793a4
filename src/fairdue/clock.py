"""The one place that reads the wall clock, so everything else can be handed a fixed time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


class Clock:
    def now(self) -> datetime:
        """The current moment, aware, in UTC."""
        return datetime.now(UTC)

    def today(self, zone: ZoneInfo) -> date:
        """The business date in a zone (the lender's, for runs)."""
        return self.now().astimezone(zone).date()


@dataclass
class FixedClock(Clock):
    """A clock that says what it is told: simulations, tests and `--now`."""

    moment: datetime

    def __post_init__(self) -> None:
        if self.moment.tzinfo is None:
            raise ValueError("a fixed clock needs an aware datetime")

    def now(self) -> datetime:
        return self.moment.astimezone(UTC)
