"""Appointments for field visits (S8): times offered, the one agreed, the crew, the place,
the letters, and the reminder the day before.

fairdue offers the borrower times by SMS inside the lawful hours of the profile in the
borrower's zone (CN-01 / US-04); the borrower picks one on the portal (`confirm_slot`) or
tells an agent (`book_visit`). Booking chooses a crew from a team covering the borrower's
city with room that day (cn: two or more, CN-06), seals the place with the PII key, issues
each collector a signed letter of authorisation (S9) and queues the confirmation SMS; the
daily run queues a reminder for the next day's appointments (`queue_reminders`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from fairdue.adapters.db.strategy_repo import as_utc, utc
from fairdue.adapters.db.tables import borrowers
from fairdue.adapters.db.tables_visits import visit_credentials, visit_slots, visits
from fairdue.bootstrap import App
from fairdue.domain.contact_schedule import window_rule
from fairdue.domain.field_agents import choose_crew
from fairdue.domain.geo import Point
from fairdue.domain.visits import VisitStatus, check_slot, offer_times
from fairdue.errors import InvalidInput
from fairdue.services.field_agents import agents_of, booked_counts
from fairdue.services.unit_of_work import UnitOfWork
from fairdue.services.verification import issue_credentials
from fairdue.services.visit_store import (
    SEPARATOR,
    load_row,
    min_collectors,
    queue_message,
    save,
    stamp,
    to_visit,
)


def offered_slots(conn: Connection, visit_id: str) -> list[tuple[int, datetime, datetime]]:
    """The times last offered for the visit, numbered as the borrower saw them (UTC)."""
    rows = conn.execute(select(visit_slots).where(visit_slots.c.visit_id == visit_id)
                        .order_by(visit_slots.c.slot_no)).all()
    return [(r.slot_no, utc(r.starts_at) or r.starts_at, utc(r.ends_at) or r.ends_at) for r in rows]

def _borrower(conn: Connection, borrower_id: str) -> Any:
    """What an appointment needs of the borrower: zone, language, city, sealed PII."""
    return conn.execute(select(borrowers.c.borrower_id, borrowers.c.pii, borrowers.c.city,
                               borrowers.c.timezone, borrowers.c.language)
                        .where(borrowers.c.borrower_id == borrower_id)).one()


def offer_slots(app: App, visit_id: str, *, actor: str,
                slots: Sequence[tuple[datetime, datetime]] | None = None
                ) -> list[tuple[int, datetime, datetime]]:
    """Offer the borrower appointment times by SMS: the ones given, or the next days'
    configured start times; every one inside the lawful hours in the borrower's zone."""
    now = app.clock.now()
    strategy = app.strategy
    rule = window_rule(strategy.profile.parameters)
    with app.uow(actor) as uow:
        conn = uow.connection
        uow.write_lock()
        row = load_row(conn, visit_id, lock=True)
        visit = to_visit(row)
        person = _borrower(conn, row["borrower_id"])
        tz = ZoneInfo(person.timezone)
        length = timedelta(minutes=app.settings.visit_slot_minutes)
        chosen = list(slots) if slots else offer_times(
            now, tz, strategy.window, starts=app.settings.visit_slot_starts, length=length, count=3)
        if not chosen:
            raise InvalidInput("no lawful appointment time in the next week; give times yourself")
        for start, end in chosen:
            check_slot(start, end, tz, strategy.window, rule)
            if start <= now:
                raise InvalidInput(f"an appointment at {start.isoformat()} is in the past")
        event = visit.offer_slots(len(chosen))
        conn.execute(visit_slots.delete().where(visit_slots.c.visit_id == visit_id))
        numbered = [(n, s.astimezone(UTC), e.astimezone(UTC)) for n, (s, e) in enumerate(chosen, 1)]
        conn.execute(insert(visit_slots), [
            {"visit_id": visit_id, "slot_no": n, "starts_at": s, "ends_at": e, "offered_at": as_utc(now)}
            for n, s, e in numbered])
        save(conn, visit, now)
        queue_message(conn, row["case_id"], row["borrower_id"], person.language,
                      f"{visit_id}-slots-{stamp(now)}", "visit_slots", now,
                      f"visit {visit_id}: {len(chosen)} appointment times offered")
        uow.record([event])
        uow.commit()
    return numbered


@dataclass(frozen=True)
class Booking:
    visit_id: str
    starts_at: datetime
    ends_at: datetime
    team: str
    collectors: tuple[str, ...]
    credentials: tuple[Any, ...]   # services.verification.IssuedCredential


def confirm_slot(app: App, visit_id: str, slot_no: int) -> Booking:
    """The borrower chose offered time `slot_no` (the web portal calls this)."""
    return book_visit(app, visit_id, slot_no=slot_no, via="portal", actor="borrower")


def book_visit(app: App, visit_id: str, *, actor: str, via: str = "phone", slot_no: int | None = None,
               starts: datetime | None = None, ends: datetime | None = None,
               place: str | None = None, lat: float | None = None, lon: float | None = None) -> Booking:
    """Book the appointment the borrower agreed to (an offered slot, or a time agreed by
    phone): lawful hours, a crew from a team covering the borrower's city with room that
    day, the place (the borrower's address unless another is given), letters of
    authorisation issued, and a confirmation SMS queued."""
    now = app.clock.now()
    strategy = app.strategy
    with app.uow(actor) as uow:
        conn = uow.connection
        uow.write_lock()
        row = load_row(conn, visit_id, lock=True)
        visit = to_visit(row)
        person = _borrower(conn, row["borrower_id"])
        tz = ZoneInfo(person.timezone)
        if slot_no is not None:
            found = {n: (s, e) for n, s, e in offered_slots(conn, visit_id)}
            if slot_no not in found:
                raise InvalidInput(f"visit {visit_id} has no offered time {slot_no}; offered: "
                                   f"{', '.join(map(str, found)) or 'none'}")
            starts, ends = found[slot_no]
        if starts is None:
            raise InvalidInput("give the offered time's number (--slot) or the agreed start (--at)")
        ends = ends or starts + timedelta(minutes=app.settings.visit_slot_minutes)
        check_slot(starts, ends, tz, strategy.window, window_rule(strategy.profile.parameters))
        if starts <= now:
            raise InvalidInput(f"the appointment at {starts.isoformat()} is in the past")
        where = _place(app, person, place, lat, lon)
        local_start, local_end = starts.astimezone(tz), ends.astimezone(tz)
        crew = choose_crew(agents_of(conn), city=str(where.get("city") or person.city),
                           starts=local_start.time(), ends=local_end.time(),
                           booked=booked_counts(conn, local_start.date(), tz),
                           size=min_collectors(app), near=_point(where))
        badges = sorted(a.badge for a in crew)  # one spelling per crew (its route key)
        moved = visit.status is VisitStatus.BOOKED
        event = visit.book(starts, ends, via, badges, min_collectors(app))
        if moved:  # the letters of the old time must not verify any more
            conn.execute(update(visit_credentials)
                         .where(visit_credentials.c.visit_id == visit_id,
                                visit_credentials.c.revoked_at.is_(None))
                         .values(revoked_at=as_utc(now),
                                 revoked_reason=f"visit moved to {local_start.isoformat()}"))
        save(conn, visit, now, team=crew[0].team, collectors=SEPARATOR.join(badges),
              slot_start=as_utc(starts), slot_end=as_utc(ends), booked_via=via,
              place=app.keys.cipher.seal(where, aad=visit_id))
        issued = issue_credentials(conn, app, visit_id=visit_id, case_id=row["case_id"],
                                   agents=crew, starts=starts, ends=ends, now=now)
        queue_message(conn, row["case_id"], row["borrower_id"], person.language,
                      f"{visit_id}-booked-{stamp(now)}", "visit_booked", now,
                      f"visit {visit_id}: appointment confirmed")
        uow.record([event])
        uow.commit()
    return Booking(visit_id, starts, ends, crew[0].team, tuple(badges), tuple(issued))


def _place(app: App, person: Any, place: str | None, lat: float | None, lon: float | None
           ) -> dict[str, Any]:
    """Where the visit happens: the given place, else the borrower's first address."""
    if place is not None or lat is not None or lon is not None:
        if place is None or lat is None or lon is None:
            raise InvalidInput("a place other than the borrower's address needs --place, --lat and --lon")
        point = Point(lat, lon)
        return {"line": place, "city": person.city, "latitude": point.lat, "longitude": point.lon}
    pii = app.keys.cipher.open(person.pii, aad=person.borrower_id)
    address = (pii.get("addresses") or [{}])[0]
    if not address.get("line"):
        raise InvalidInput(f"borrower {person.borrower_id} has no address on file; give the place")
    return {"line": address["line"], "city": address.get("city") or person.city,
            "latitude": address.get("latitude"), "longitude": address.get("longitude")}


def _point(where: dict[str, Any]) -> Point | None:
    if where.get("latitude") in (None, "") or where.get("longitude") in (None, ""):
        return None
    return Point(float(where["latitude"]), float(where["longitude"]))


def visit_place(app: App, row: Any) -> dict[str, Any] | None:
    """The sealed place of a booked visit, opened (a system read for routing and check-in)."""
    if row["place"] is None:
        return None
    return app.keys.cipher.open(row["place"], aad=row["visit_id"])


def place_point(app: App, row: Any) -> Point | None:
    where = visit_place(app, row)
    return None if where is None else _point(where)



def queue_reminders(uow: UnitOfWork, day: date, shard_from: int, shard_to: int, *, now: datetime) -> int:
    """The daily run for `day`: a reminder SMS for each booked visit of the partition whose
    appointment is on the next local day. Idempotent (one reminder per visit)."""
    conn = uow.connection
    start = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(days=1)
    rows = conn.execute(
        select(visits.c.visit_id, visits.c.case_id, visits.c.borrower_id, visits.c.slot_start,
               borrowers.c.timezone, borrowers.c.language)
        .select_from(visits).join(borrowers, borrowers.c.borrower_id == visits.c.borrower_id)
        .where(visits.c.status == "booked", visits.c.slot_start >= start,
               visits.c.slot_start < start + timedelta(days=4),
               borrowers.c.shard.between(shard_from, shard_to))
    ).all()
    queued = 0
    for r in rows:
        slot = utc(r.slot_start)
        assert slot is not None
        if slot.astimezone(ZoneInfo(r.timezone)).date() != day + timedelta(days=1):
            continue
        if queue_message(conn, r.case_id, r.borrower_id, r.language, f"{r.visit_id}-reminder",
                         "visit_reminder", now, f"visit {r.visit_id}: reminder the day before"):
            queued += 1
    return queued


@dataclass(frozen=True)
class BorrowerVisit:
    """The borrower's own view of their visit: its state, the time booked and the times
    offered, in their zone. No collector names or case data: the portal shows only this."""

    visit_id: str
    status: str
    booked: tuple[datetime, datetime] | None
    offered: tuple[tuple[int, datetime, datetime], ...]


def borrower_visit(conn: Connection, borrower_id: str) -> BorrowerVisit | None:
    """The borrower's visit with times offered or booked (S8), or None."""
    row = conn.execute(
        select(visits.c.visit_id, visits.c.status, visits.c.slot_start, visits.c.slot_end,
               borrowers.c.timezone)
        .join(borrowers, borrowers.c.borrower_id == visits.c.borrower_id)
        .where(visits.c.borrower_id == borrower_id,
               visits.c.status.in_((VisitStatus.SLOTS_OFFERED.value, VisitStatus.BOOKED.value)))
        .order_by(visits.c.created_at.desc())).first()
    if row is None:
        return None
    tz = ZoneInfo(row.timezone)
    start, end = utc(row.slot_start), utc(row.slot_end)
    booked = (start.astimezone(tz), end.astimezone(tz)) if start and end else None
    offered = tuple((n, s.astimezone(tz), e.astimezone(tz))
                    for n, s, e in offered_slots(conn, row.visit_id))
    return BorrowerVisit(row.visit_id, row.status, booked if row.status == "booked" else None, offered)
