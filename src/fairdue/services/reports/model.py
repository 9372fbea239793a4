"""What a report is made of: figures (a table of numbers, optionally drawn as a chart).

Every figure is computed once, by SQL, into rows of plain values; the HTML page, its chart
and its CSV file are then three renderings of the same rows, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

Cell = str | int | float | Decimal | date | None
ChartKind = Literal["bar", "heatmap", "interval", "none"]


@dataclass(frozen=True, slots=True)
class Chart:
    """How a figure is drawn: `bar` (one bar per row, `label` against `value`), `heatmap`
    (a matrix: rows by `label`, columns the remaining numeric columns), `interval` (a point
    estimate `value` with `low`-`high` whiskers, one per row)."""

    kind: ChartKind
    label: str
    value: str = ""
    low: str = ""
    high: str = ""
    percent: bool = False
    series: str = ""  # a second column naming the bar with the label ("group · measure")


@dataclass
class Figure:
    """One measure: a stable `name` (the CSV file's stem), a title, what it means, rows."""

    name: str
    title: str
    explanation: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    chart: Chart | None = None
    flagged: list[str] = field(default_factory=list)  # sentences to show in red


@dataclass(frozen=True, slots=True)
class Window:
    """The business dates a report covers, both ends included, in the lender's zone."""

    start: date
    end: date
    zone: ZoneInfo

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=self.zone).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """The first moment after the window (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time(0),
                                tzinfo=self.zone).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class Report:
    window: Window
    currency: str
    generated_at: datetime
    sections: list[tuple[str, list[Figure]]] = field(default_factory=list)

    def figures(self) -> list[Figure]:
        return [f for _, figures in self.sections for f in figures]
