"""The record of a visit (S11): check-in, check-out, what was said and agreed, amendments.

Check-in needs the collectors present (cn: two or more, CN-06) and their position; one
farther from the appointment's place than FAIRDUE_VISIT_CHECKIN_MAX_M is flagged. The record
(the borrower's reaction, the reason for the arrears, the solution proposed, the follow-up
plan and date, notes) is checked against the prohibited-content lexicon and, once submitted,
is frozen: its SHA-256 goes to the audit log, and corrections are amendments kept in order.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, insert, select, update

from fairdue.adapters.db.strategy_repo import as_utc, utc
from fairdue.adapters.db.tables import borrowers
from fairdue.adapters.db.tables_visits import visit_evidence, visit_record_amendments, visit_records, visits
from fairdue.bootstrap import App
from fairdue.domain.compliance import check_text
from fairdue.domain.field_agents import normalise_badge
from fairdue.domain.geo import Point, haversine_m
from fairdue.domain.visits import FREE_TEXT, RecordContent, VisitCheckedOut, VisitRecordAmended
from fairdue.errors import InvalidInput, NotFound
from fairdue.services.visit_appointments import place_point
from fairdue.services.visit_store import load_row, min_collectors, save, to_visit


def check_in(app: App, visit_id: str, *, collectors: list[str], at: datetime, lat: float,
             lon: float, actor: str) -> dict[str, Any]:
    """The crew arrived: who is there, when, where (flagged when far from the place)."""
    here = Point(lat, lon)
    with app.uow(actor) as uow:
        conn = uow.connection
        uow.write_lock()
        row = load_row(conn, visit_id, lock=True)
        visit = to_visit(row)
        place = place_point(app, row)
        distance = None if place is None else round(haversine_m(here, place))
        event = visit.check_in([normalise_badge(b) for b in collectors], min_collectors(app),
                               distance, app.settings.visit_checkin_max_m)
        positions = {"check_in": [here.lat, here.lon], "check_out": None}
        conn.execute(insert(visit_records).values(
            visit_id=visit_id, checked_in_at=as_utc(at), checked_in_by=actor,
            check_in_distance_m=distance, check_in_flagged=event.flagged,
            positions=app.keys.cipher.seal(positions, aad=visit_id), collectors=event.collectors))
        save(conn, visit, at)
        uow.record([event])
        uow.commit()
    return {"visit_id": visit_id, "distance_m": distance, "flagged": event.flagged,
            "collectors": event.collectors.split("|")}


def _open_record(conn: Connection, visit_id: str) -> Any:
    record = conn.execute(select(visit_records).where(visit_records.c.visit_id == visit_id)
                          .with_for_update()).mappings().first()
    if record is None:
        raise InvalidInput(f"visit {visit_id} has no check-in yet; check in first")
    return record


def check_out(app: App, visit_id: str, *, at: datetime, lat: float, lon: float, actor: str) -> None:
    """The crew left: when and from where."""
    here = Point(lat, lon)
    with app.uow(actor) as uow:
        conn = uow.connection
        uow.write_lock()
        row = load_row(conn, visit_id)
        record = _open_record(conn, visit_id)
        if record["checked_out_at"] is not None:
            raise InvalidInput(f"visit {visit_id} was checked out already")
        if at < (utc(record["checked_in_at"]) or at):
            raise InvalidInput("check-out cannot be before check-in")
        positions = app.keys.cipher.open(record["positions"], aad=visit_id)
        positions["check_out"] = [here.lat, here.lon]
        conn.execute(update(visit_records).where(visit_records.c.visit_id == visit_id).values(
            checked_out_at=as_utc(at), positions=app.keys.cipher.seal(positions, aad=visit_id)))
        uow.record([VisitCheckedOut(visit_id, row["case_id"], at.isoformat())])
        uow.commit()


def check_wording(content: RecordContent) -> None:
    """Free text must pass the prohibited-content lexicon (zh-CN and en)."""
    found = []
    for name in FREE_TEXT:
        text = getattr(content, name)
        for lang in ("zh-CN", "en"):
            found += [f"{name}: {f.category.value} ({', '.join(f.phrases)})"
                      for f in check_text(text, lang)]
    if found:
        raise InvalidInput("the record uses prohibited wording (CN-05 / S16); rephrase: "
                           + "; ".join(dict.fromkeys(found)))


def record_hash(visit_id: str, record: Any, content: RecordContent) -> str:
    """SHA-256 of the submitted record's canonical JSON (what the audit log keeps)."""
    document = {"visit_id": visit_id, "checked_in_at": _iso(record["checked_in_at"]),
                "checked_out_at": _iso(record["checked_out_at"]), "collectors": record["collectors"],
                **content.as_dict()}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(value: datetime | None) -> str | None:
    moment = utc(value)
    return moment.isoformat() if moment is not None else None


def submit_record(app: App, visit_id: str, content: RecordContent, *, actor: str,
                  at: datetime) -> str:
    """Submit the record; the visit becomes `visited`. Returns the record's hash."""
    check_wording(content)
    with app.uow(actor) as uow:
        conn = uow.connection
        uow.write_lock()
        row = load_row(conn, visit_id, lock=True)
        visit = to_visit(row)
        record = _open_record(conn, visit_id)
        if record["checked_out_at"] is None:
            raise InvalidInput(f"visit {visit_id}: check out before submitting the record")
        zone = ZoneInfo(conn.execute(select(borrowers.c.timezone)
                                     .where(borrowers.c.borrower_id == row["borrower_id"])).scalar_one())
        checked_in = utc(record["checked_in_at"])
        assert checked_in is not None
        content.check(checked_in.astimezone(zone).date())
        digest = record_hash(visit_id, record, content)
        event = visit.finish(content.solution.value, content.follow_up_on, digest)
        conn.execute(update(visit_records).where(visit_records.c.visit_id == visit_id).values(
            reaction=content.reaction.value, arrears_reason=content.arrears_reason,
            solution=content.solution.value, follow_up_on=content.follow_up_on,
            follow_up_plan=content.follow_up_plan, notes=content.notes,
            submitted_at=as_utc(at), submitted_by=actor, record_hash=digest))
        save(conn, visit, at)
        uow.record([event])
        uow.commit()
    return digest


def amend_record(app: App, visit_id: str, changes: dict[str, str], *, reason: str, actor: str,
                 at: datetime) -> int:
    """Correct a submitted record by adding an amendment (the original stays as it was)."""
    if not reason.strip():
        raise InvalidInput("say why the record is amended")
    with app.uow(actor) as uow:
        conn = uow.connection
        uow.write_lock()
        row = load_row(conn, visit_id, lock=True)
        current = _content(conn, visit_id)
        if current is None:
            raise InvalidInput(f"visit {visit_id} has no submitted record to amend")
        amended = current.amended(changes)
        check_wording(amended)
        number = int(conn.execute(select(func.coalesce(func.max(visit_record_amendments.c.amendment_no), 0))
                                  .where(visit_record_amendments.c.visit_id == visit_id)).scalar_one()) + 1
        conn.execute(insert(visit_record_amendments).values(
            visit_id=visit_id, amendment_no=number, amended_at=as_utc(at), amended_by=actor,
            reason=reason.strip(), changes=json.dumps(changes, ensure_ascii=False, sort_keys=True)))
        uow.record([VisitRecordAmended(visit_id, row["case_id"], number, ",".join(sorted(changes)),
                                       reason.strip())])
        uow.commit()
    return number


def _content(conn: Connection, visit_id: str) -> RecordContent | None:
    """The record as amended: the submitted content with every amendment applied in order."""
    record = conn.execute(select(visit_records)
                          .where(visit_records.c.visit_id == visit_id)).mappings().first()
    if record is None or record["submitted_at"] is None:
        return None
    content = RecordContent.from_dict({
        "reaction": record["reaction"], "arrears_reason": record["arrears_reason"] or "",
        "solution": record["solution"], "follow_up_on": record["follow_up_on"].isoformat(),
        "follow_up_plan": record["follow_up_plan"] or "", "notes": record["notes"] or ""})
    for amendment in conn.execute(select(visit_record_amendments.c.changes)
                                  .where(visit_record_amendments.c.visit_id == visit_id)
                                  .order_by(visit_record_amendments.c.amendment_no)).scalars():
        content = content.amended(json.loads(amendment))
    return content


def visit_record(conn: Connection, visit_id: str) -> dict[str, Any]:
    """The record as it stands (original, amendments, current content), positions left out."""
    record = conn.execute(select(visit_records)
                          .where(visit_records.c.visit_id == visit_id)).mappings().first()
    if record is None:
        raise NotFound(f"visit {visit_id!r} has no record")
    current = _content(conn, visit_id)
    amendments = [dict(r) for r in conn.execute(
        select(visit_record_amendments).where(visit_record_amendments.c.visit_id == visit_id)
        .order_by(visit_record_amendments.c.amendment_no)).mappings()]
    evidence = [dict(r) for r in conn.execute(
        select(visit_evidence.c.sha256, visit_evidence.c.kind, visit_evidence.c.file_name,
               visit_evidence.c.size_bytes).where(visit_evidence.c.visit_id == visit_id)).mappings()]
    out = {k: v for k, v in dict(record).items() if k != "positions"}
    out["current"] = current.as_dict() if current else None
    out["amendments"] = [{**a, "changes": json.loads(a["changes"])} for a in amendments]
    out["evidence"] = evidence
    status = conn.execute(select(visits.c.status).where(visits.c.visit_id == visit_id)).scalar_one()
    out["visit_status"] = status
    return out
