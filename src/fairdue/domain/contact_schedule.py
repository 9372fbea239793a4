"""When a planned contact may go out: the next moment lawful in every zone the borrower may be in.

The daily run decides at night, but a message written at 00:30 must not leave at 00:30: it
is scheduled for the borrower's preferred hour of that business date, or later if that hour
has already passed, and moved to the next opening of the profile's window when it falls in
a quiet time. Where the borrower's location is uncertain (several zones), the time chosen is
inside the window in every one of them; when no such time exists on a day (zones too far
apart), the next days are tried, and a contact that can never be lawful gets None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fairdue.domain.compliance.profiles import CnParameters, RegfParameters

_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ContactWindow:
    """The local hours contacts are allowed in: from `opens` up to, not including, `closes`
    (`cn`: 08:00 to 22:00; `us-regf`: 08:00 to 21:01, since 21:00 itself is allowed)."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError(f"a contact window must open ({self.opens}) before it closes ({self.closes})")

    def allows(self, local: datetime) -> bool:
        moment = local.time()
        return self.opens <= moment < self.closes


def next_allowed(
    earliest: datetime,
    zones: tuple[ZoneInfo, ...],
    window: ContactWindow,
    *,
    search_days: int = 3,
) -> datetime | None:
    """The first minute at or after `earliest` (aware) that is inside `window` in every zone,
    in UTC; None when there is none within `search_days` days."""
    if earliest.tzinfo is None:
        raise ValueError("earliest must carry a UTC offset")
    start = earliest.astimezone(UTC)
    if start.second or start.microsecond:
        start = start.replace(second=0, microsecond=0) + _MINUTE
    candidate = start
    limit = start + timedelta(days=search_days)
    while candidate <= limit:
        later = _first_opening(candidate, zones, window)
        if later == candidate:
            return candidate
        candidate = later
    return None


def _first_opening(at: datetime, zones: tuple[ZoneInfo, ...], window: ContactWindow) -> datetime:
    """`at` itself if it is allowed everywhere, else the latest of the next openings of the
    zones that forbid it (the earliest moment that could possibly be allowed everywhere)."""
    latest = at
    for zone in zones:
        local = at.astimezone(zone)
        if window.allows(local):
            continue
        opening = datetime.combine(local.date(), window.opens, tzinfo=zone)
        if opening <= local:
            opening = datetime.combine(local.date() + timedelta(days=1), window.opens, tzinfo=zone)
        latest = max(latest, opening.astimezone(UTC))
    return latest


def planned_send_time(
    business_date: date,
    now: datetime,
    zones: tuple[ZoneInfo, ...],
    window: ContactWindow,
    send_at: time,
) -> datetime | None:
    """When a contact decided for `business_date` goes out: at `send_at` on that date in the
    borrower's (first) zone, or now if that has passed, moved into the lawful window."""
    wished = datetime.combine(business_date, send_at, tzinfo=zones[0]).astimezone(UTC)
    return next_allowed(max(wished, now.astimezone(UTC)), zones, window)


def window_rule(parameters: CnParameters | RegfParameters) -> str:
    """The rule id that refuses a contact outside the profile's window."""
    return "CN-01" if isinstance(parameters, CnParameters) else "US-04"


def window_for(parameters: CnParameters | RegfParameters) -> ContactWindow:
    """The lawful daytime window of a profile's parameters."""
    if isinstance(parameters, CnParameters):
        return ContactWindow(parameters.quiet_end, parameters.quiet_start)
    closes = (datetime.combine(date(2000, 1, 1), parameters.latest) + _MINUTE).time()
    return ContactWindow(parameters.earliest, closes)
