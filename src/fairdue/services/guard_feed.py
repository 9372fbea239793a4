"""Tell a compliance guard what it must know of a borrower before it judges a contact.

The guard is an in-memory ledger; the database holds the history. Both the daily run and
a recorded attempt build the same picture: where the borrower is, which cease, dispute
and opt-out requests are in force, a contact time they agreed, and the attempts of the
guard's look-back, fed in time order as the guard requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from fairdue.adapters.db import strategy_repo as repo
from fairdue.adapters.db.strategy_repo import PastAttempt, Preferences
from fairdue.domain.compliance.guard import new_ledger
from fairdue.domain.compliance.model import Attempt, Channel, Consent, DebtorInfo, Outcome, Party
from fairdue.domain.compliance.profiles import CnParameters, Profile
from fairdue.domain.contact_holds import Restriction, guard_event

#: How far back the guard reads a borrower's attempts: the longest window any profile counts.
LOOK_BACK = timedelta(days=8)


def history_since(profile: Profile, day: date) -> datetime:
    """The oldest attempt that can change a verdict on a debtor contact on `day`: `cn` counts
    per local day only, `us-regf` over seven days and its waits."""
    # Midnight starting `day` in the easternmost zone (UTC+14): anything earlier is on an
    # earlier local day wherever the borrower is.
    start = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=14)
    if isinstance(profile.parameters, CnParameters):
        return start
    return start - LOOK_BACK


def guard_at(conn: Connection, profile: Profile, borrower_id: str, tz: ZoneInfo, at: datetime
             ) -> tuple[Any, list[Restriction]]:
    """A guard that knows one borrower as they stood at `at`, and the restrictions then in
    force: a complaint filed this afternoon does not make this morning's call unlawful, and
    the guard reads events in time order, so nothing after `at` is fed."""
    day = at.astimezone(tz).date()
    in_force = [r for r in repo.restrictions_of(conn, [borrower_id], day).get(borrower_id, [])
                if r.started_at <= at]
    guard = new_ledger(profile)
    feed_guard(guard, borrower_id, tz, in_force,
               [a for a in repo.attempts_of(conn, borrower_id, repo.as_utc(at) - LOOK_BACK)
                if a.at <= at],
               repo.preferences_of(conn, [borrower_id]).get(borrower_id), day)
    return guard, in_force


def number_key(borrower: str, channel: str) -> str:
    """Who was dialled or written to, as the guard counts it (per number and per day in `cn`).
    Contact points are not stored per attempt, so each channel of a borrower is one point."""
    return f"{borrower}:{channel}"


def feed_guard(guard: Any, borrower: str, tz: ZoneInfo, in_force: Iterable[Restriction],
               past: Iterable[PastAttempt], prefs: Preferences | None, day: date
               ) -> datetime | None:
    """Tell the guard what it must know of this borrower: where they are, what stops are in
    force, an agreed contact time, and the attempts of the look-back, in time order."""
    guard.record(DebtorInfo(borrower, (tz.key,)))
    events: list[tuple[datetime, Any]] = []
    for restriction in in_force:
        event = guard_event(restriction, borrower)
        if event is not None:
            events.append((restriction.started_at, event))
    if prefs is not None and prefs.agreed_from and prefs.agreed_to:
        start = datetime.combine(day, time.fromisoformat(prefs.agreed_from), tzinfo=tz)
        end = datetime.combine(day, time.fromisoformat(prefs.agreed_to), tzinfo=tz)
        if end > start:
            midnight = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
            events.append((midnight, Consent(at=midnight, debtor=borrower, scope="all",
                                             agreed_window=(start, end))))
    for attempt in past:
        events.append((attempt.at, Attempt(
            at=attempt.at, channel=Channel(attempt.channel), debtor=borrower,
            party=Party(attempt.party), to=number_key(borrower, attempt.channel),
            outcome=Outcome(attempt.outcome),
        )))
    events.sort(key=lambda pair: pair[0])
    for _, event in events:
        guard.record(event)
    return events[-1][0] if events else None
