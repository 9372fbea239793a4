"""A supervisor gives a booked visit another crew: one collector is ill, a team is needed
elsewhere. The time the borrower agreed stays; the new crew must be able to go exactly as a
crew chosen at booking (one team covering the city, at work then, with room that day, at
least the profile's minimum: CN-06). The old collectors' letters stop verifying at once and
each new collector gets a signed letter, so a borrower who checks the badge at the door is
told the truth (S9, S12).
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import update

from fairdue.adapters.db.strategy_repo import as_utc
from fairdue.adapters.db.tables_visits import visit_credentials
from fairdue.bootstrap import App
from fairdue.domain.field_agents import FieldAgent, choose_crew
from fairdue.errors import InvalidInput, NotFound
from fairdue.services.field_agents import agents_of, booked_counts
from fairdue.services.verification import issue_credentials
from fairdue.services.visit_appointments import Booking, _borrower, _point, visit_place
from fairdue.services.visit_store import SEPARATOR, load_row, min_collectors, save, to_visit


def change_crew(app: App, visit_id: str, *, actor: str, reason: str,
                badges: Sequence[str] | None = None) -> Booking:
    """Give the booked visit the crew `badges` (checked), or, without badges, the crew the
    booking rules choose from everyone but the present collectors."""
    now = app.clock.now()
    with app.uow(actor) as uow:
        conn = uow.connection
        uow.write_lock()
        row = load_row(conn, visit_id, lock=True)
        visit = to_visit(row)
        if visit.slot_start is None or visit.slot_end is None:
            raise InvalidInput(f"visit {visit_id} is {visit.status.value}: only a booked visit "
                               "has a crew to change")
        person = _borrower(conn, row["borrower_id"])
        tz = ZoneInfo(person.timezone)
        where = visit_place(app, row) or {}
        start, end = visit.slot_start.astimezone(tz), visit.slot_end.astimezone(tz)
        everyone = agents_of(conn)
        # This visit's own collectors have it counted among their visits that day: without
        # it, a collector kept in the new crew is not short of room because of this visit.
        booked = booked_counts(conn, start.date(), tz)
        for badge in visit.collectors:
            booked[badge] = booked.get(badge, 1) - 1
        if badges:
            wanted = sorted(set(badges))
            known = {a.badge for a in everyone}
            unknown = [b for b in wanted if b not in known]
            if unknown:
                raise NotFound(f"no field agent with badge {', '.join(unknown)}")
            pool: list[FieldAgent] = [a for a in everyone if a.badge in wanted]
            size = len(wanted)
        else:
            pool = [a for a in everyone if a.badge not in visit.collectors]
            size = min_collectors(app)
        crew = choose_crew(pool, city=str(where.get("city") or person.city),
                           starts=start.time(), ends=end.time(), booked=booked, size=size,
                           near=_point(where))
        chosen = sorted(a.badge for a in crew)
        event = visit.change_crew(chosen, min_collectors(app), reason)
        conn.execute(update(visit_credentials)
                     .where(visit_credentials.c.visit_id == visit_id,
                            visit_credentials.c.revoked_at.is_(None))
                     .values(revoked_at=as_utc(now),
                             revoked_reason=f"crew changed: {reason.strip()}"))
        save(conn, visit, now, team=crew[0].team, collectors=SEPARATOR.join(chosen))
        issued = issue_credentials(conn, app, visit_id=visit_id, case_id=row["case_id"],
                                   agents=crew, starts=visit.slot_start, ends=visit.slot_end,
                                   now=now)
        uow.record([event])
        uow.commit()
    return Booking(visit_id, visit.slot_start, visit.slot_end, crew[0].team, tuple(chosen),
                   tuple(issued))
