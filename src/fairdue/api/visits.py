"""Field visits over HTTP: the field agent's day, check-in and check-out, the record with its
evidence and amendments, and a supervisor's offer of appointment times.

The rules live in the visit services (services/visit_records.py, evidence.py,
visit_appointments.py, field_agents.py); this module decides only who may touch which visit
and turns form or JSON input into their arguments. The pages (api/pages/field.py) call the
same helpers, so a page and its JSON twin cannot disagree.

A field agent works only the visits of the crews their badge is booked on (migration 0007
links the account to the badge); another crew's visit is refused as if it were a case not
assigned to an agent.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from fairdue.adapters.db.strategy_repo import utc
from fairdue.adapters.db.tables_visits import visits
from fairdue.api.auth import require_api
from fairdue.api.deps import AppDep
from fairdue.api.permissions import Principal
from fairdue.api.problems import Problem, problem_responses
from fairdue.bootstrap import App
from fairdue.domain.ledger import business_date
from fairdue.domain.visits import RECORD_FIELDS, RecordContent
from fairdue.errors import FairdueError, InvalidInput, NotFound
from fairdue.services.evidence import KINDS as EVIDENCE_KINDS
from fairdue.services.evidence import add_evidence
from fairdue.services.field_agents import agent, plan_team_routes
from fairdue.services.staff import badge_of
from fairdue.services.visit_appointments import offer_slots, visit_place
from fairdue.services.visit_crews import change_crew
from fairdue.services.visit_records import amend_record, check_in, check_out, submit_record, visit_record
from fairdue.services.visit_store import SEPARATOR, load_row

router = APIRouter(tags=["visits"])

#: Visit statuses that belong on a field agent's day.
_DAY_STATUSES = ("booked", "in_progress", "visited")
#: Largest evidence file taken through the web (a phone's video of a few minutes).
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
#: OR-Tools' search time for one agent's page: a crew makes a handful of visits a day.
ROUTE_SEARCH_S = 0.3
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class NotYourVisit(FairdueError):
    """A field agent asked for a visit their badge is not booked on (or has no badge)."""


@dataclass(frozen=True)
class DayStop:
    """One appointment of the agent's day, in route order (booked) or as it stands."""

    order: int | None            # position on today's route; None once begun or not routed
    visit_id: str
    case_id: str
    status: str
    slot_start: datetime
    slot_end: datetime
    arrive: str | None           # planned arrival, local HH:MM
    distance_m: int | None       # from the previous place
    collectors: list[str]
    place: str | None            # in clear only for a role holding visit.place (audited)


@dataclass
class FieldDay:
    badge: str
    name: str
    team: str
    day: date
    stops: list[DayStop] = field(default_factory=list)
    total_distance_m: int = 0
    unrouted: list[str] = field(default_factory=list)


def my_badge(application: App, principal: Principal) -> str:
    """The signed-in field agent's badge; NotYourVisit when the account has none."""
    with application.engine.connect() as conn:
        badge = badge_of(conn, principal.id)
    if badge is None:
        raise NotYourVisit(f"your account ({principal.id}) is not linked to a badge; ask an "
                           "admin to create it with `fairdue user add ... --badge B`")
    return badge


def crew_visit(application: App, principal: Principal, visit_id: str) -> Any:
    """The visit's row, if this caller may work or read it: a field agent only a visit their
    badge is booked on; supervisors and compliance any visit. NotFound for no such visit."""
    with application.engine.connect() as conn:
        row = load_row(conn, visit_id)
    if principal.role == "field_agent":
        badge = my_badge(application, principal)
        if badge not in (row["collectors"] or "").split(SEPARATOR):
            raise NotYourVisit(f"visit {visit_id} is not booked for your badge {badge}")
    return row


def _place_line(application: App, principal: Principal, rows: list[Any]) -> dict[str, str]:
    """The places of `rows` in clear for a role holding visit.place, one audit entry per
    visit read; nothing for any other role."""
    if not principal.may("visit.place") or not rows:
        return {}
    places = {}
    for row in rows:
        where = visit_place(application, row)
        if where is not None:
            places[row["visit_id"]] = str(where.get("line") or "")
    if places:
        with application.uow(principal.id) as uow:
            for visit_id in places:
                uow.audit("VisitPlaceRead", visit_id, {"role": principal.role})
            uow.commit()
    return places


def _local_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def field_day(application: App, principal: Principal, day: date | None = None) -> FieldDay:
    """The signed-in field agent's day: their crew's route over the booked visits (ordered by
    the routing service, with arrival times and total distance) and the day's visits already
    begun or made. The place of each is shown only as the permission table allows."""
    badge = my_badge(application, principal)
    day = day or business_date(application.clock.now(), application.zone)
    with application.engine.connect() as conn:
        me = agent(conn, badge)
        start = datetime.combine(day, time(0), tzinfo=application.zone).astimezone(UTC)
        rows = [r for r in conn.execute(select(visits).where(
            visits.c.status.in_(_DAY_STATUSES), visits.c.slot_start >= start,
            visits.c.slot_start < start + timedelta(days=1))
            .order_by(visits.c.slot_start, visits.c.visit_id)).mappings()
            if badge in (r["collectors"] or "").split(SEPARATOR)]
    out = FieldDay(badge, me.name, me.team, day)
    legs: dict[str, tuple[int | None, str | None, int | None]] = {}
    if any(r["status"] == "booked" for r in rows):
        planned = plan_team_routes(application, me.team, day, time_limit_s=ROUTE_SEARCH_S)
        mine = {r["visit_id"] for r in rows}
        for route in planned.plan.routes:
            if badge not in route.crew.split("+"):
                continue
            out.total_distance_m += route.distance_m
            for position_no, leg in enumerate(route.legs, 1):
                legs[leg.visit_id] = (position_no, _local_hhmm(leg.arrive), leg.distance_m)
        out.unrouted = sorted(v for v in (*planned.plan.unrouted, *planned.skipped) if v in mine)
    places = _place_line(application, principal, rows)
    for row in rows:
        order, arrive, distance = legs.get(row["visit_id"], (None, None, None))
        slot_start, slot_end = utc(row["slot_start"]), utc(row["slot_end"])
        assert slot_start is not None and slot_end is not None
        out.stops.append(DayStop(
            order, row["visit_id"], row["case_id"], row["status"],
            slot_start.astimezone(application.zone), slot_end.astimezone(application.zone),
            arrive, distance, [b for b in (row["collectors"] or "").split(SEPARATOR) if b],
            places.get(row["visit_id"])))
    out.stops.sort(key=lambda s: (s.order is None, s.order or 0, s.slot_start))
    return out


def visit_view(application: App, principal: Principal, visit_id: str) -> dict[str, Any]:
    """One visit as its crew or a supervisor sees it: status, times, crew, the record as it
    stands (original, amendments, evidence) and, for the crew, the place."""
    row = crew_visit(application, principal, visit_id)
    with application.engine.connect() as conn:
        try:
            record = visit_record(conn, visit_id)
        except NotFound:
            record = None
    slot_start, slot_end = utc(row["slot_start"]), utc(row["slot_end"])
    places = _place_line(application, principal, [row]) if row["place"] is not None else {}
    if record is not None:
        record = {k: (v.isoformat() if isinstance(v, datetime | date) else v)
                  for k, v in record.items()}
        record["amendments"] = [{k: (v.isoformat() if isinstance(v, datetime) else v)
                                 for k, v in a.items()} for a in record["amendments"]]
    return {"visit_id": visit_id, "case_id": row["case_id"], "status": row["status"],
            "grounds": row["grounds"], "team": row["team"],
            "collectors": [b for b in (row["collectors"] or "").split(SEPARATOR) if b],
            "slot_start": slot_start.astimezone(application.zone).isoformat() if slot_start else None,
            "slot_end": slot_end.astimezone(application.zone).isoformat() if slot_end else None,
            "place": places.get(visit_id), "record": record}


def position(latitude: str | float | None, longitude: str | float | None) -> tuple[float, float]:
    """A position typed or filled by the browser; InvalidInput saying what is wrong."""
    try:
        lat, lon = float(str(latitude).strip()), float(str(longitude).strip())
    except ValueError:
        raise InvalidInput("give the position as decimal latitude and longitude, e.g. 39.9042 "
                           "and 116.4074 (allow the browser to locate you, or type them)") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput(f"latitude {lat} / longitude {lon} is not a place on Earth "
                           "(latitude -90..90, longitude -180..180)")
    return lat, lon


def do_check_in(application: App, principal: Principal, visit_id: str, collectors: list[str],
                latitude: str | float | None, longitude: str | float | None) -> dict[str, Any]:
    """The crew arrived, now: the signed-in agent must be among those present."""
    crew_visit(application, principal, visit_id)
    badge = my_badge(application, principal)
    present = sorted({c.strip().upper() for c in collectors if c.strip()} | {badge})
    lat, lon = position(latitude, longitude)
    return check_in(application, visit_id, collectors=present, at=application.clock.now(),
                    lat=lat, lon=lon, actor=principal.id)


def do_check_out(application: App, principal: Principal, visit_id: str,
                 latitude: str | float | None, longitude: str | float | None) -> None:
    crew_visit(application, principal, visit_id)
    lat, lon = position(latitude, longitude)
    check_out(application, visit_id, at=application.clock.now(), lat=lat, lon=lon,
              actor=principal.id)


def do_record(application: App, principal: Principal, visit_id: str, values: dict[str, str]
              ) -> str:
    """Submit the record (checked for completeness and wording by the service); its hash."""
    crew_visit(application, principal, visit_id)
    content = RecordContent.from_dict({k: (v or "").strip() for k, v in values.items()})
    return submit_record(application, visit_id, content, actor=principal.id,
                         at=application.clock.now())


def do_amend(application: App, principal: Principal, visit_id: str, changes: dict[str, str],
             reason: str) -> int:
    """Add a numbered amendment with the fields that changed (empty ones are left alone)."""
    crew_visit(application, principal, visit_id)
    wanted = {k: v.strip() for k, v in changes.items() if k in RECORD_FIELDS and v and v.strip()}
    return amend_record(application, visit_id, wanted, reason=reason, actor=principal.id,
                        at=application.clock.now())


def evidence_kind(kind: str | None, content_type: str | None) -> str:
    """The kind named, else guessed from the file's type (a phone photo is image/jpeg)."""
    if kind and kind.strip():
        return kind.strip()
    major = (content_type or "").split("/")[0]
    return {"image": "photo", "audio": "audio", "video": "video"}.get(major, "document")


async def do_evidence(application: App, principal: Principal, visit_id: str,
                      upload: UploadFile, kind: str | None) -> str:
    """Keep an uploaded file as evidence (by SHA-256, through services.evidence); the
    upload is spooled to a private temporary folder under its own (sanitised) name so that
    the evidence list names the file the agent chose."""
    crew_visit(application, principal, visit_id)
    chosen = evidence_kind(kind, upload.content_type)
    if chosen not in EVIDENCE_KINDS:
        raise InvalidInput(f"evidence kind {chosen!r} is not one of {', '.join(EVIDENCE_KINDS)}")
    name = _SAFE_NAME.sub("_", Path(upload.filename or "evidence").name).strip("._") or "evidence"
    with tempfile.TemporaryDirectory(prefix="fairdue-upload-") as folder:
        target = Path(folder) / name[:200]
        size = 0
        with target.open("wb") as out:
            while block := await upload.read(1 << 20):
                size += len(block)
                if size > MAX_UPLOAD_BYTES:
                    raise InvalidInput(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MiB; "
                                       "send a shorter recording or a smaller photo")
                out.write(block)
        if size == 0:
            raise InvalidInput("the file sent is empty; choose the file again")
        return add_evidence(application, visit_id, str(target), kind=chosen, actor=principal.id)


def do_offer(application: App, principal: Principal, visit_id: str,
             slots: list[tuple[datetime, datetime]]) -> list[tuple[int, datetime, datetime]]:
    """Offer the borrower times for an approved visit (none given: the configured ones)."""
    crew_visit(application, principal, visit_id)
    return offer_slots(application, visit_id, actor=principal.id, slots=slots or None)


# ----- the JSON API -----------------------------------------------------------------------

FieldAgentDep = Annotated[Principal, Depends(require_api("visit.field"))]


def _refused(exc: NotYourVisit) -> Problem:
    return Problem(403, "forbidden", "Not your visit", str(exc))


class StopOut(BaseModel):
    order: int | None
    visit_id: str
    case_id: str
    status: str
    slot_start: datetime
    slot_end: datetime
    arrive: str | None = Field(description="planned arrival, local HH:MM")
    distance_m: int | None
    collectors: list[str]
    place: str | None = Field(description="the place, for the visit's crew only (audited)")


class FieldDayOut(BaseModel):
    badge: str
    name: str
    team: str
    day: date
    total_distance_m: int
    unrouted: list[str]
    stops: list[StopOut]


@router.get("/visits/mine", responses=problem_responses(401, 403),
            summary="The signed-in field agent's route and appointments of a day")
def get_my_day(application: AppDep, principal: FieldAgentDep,
               day: Annotated[date | None, Query(description="default: today")] = None
               ) -> FieldDayOut:
    try:
        found = field_day(application, principal, day)
    except NotYourVisit as exc:
        raise _refused(exc) from None
    return FieldDayOut(badge=found.badge, name=found.name, team=found.team, day=found.day,
                       total_distance_m=found.total_distance_m, unrouted=found.unrouted,
                       stops=[StopOut(**s.__dict__) for s in found.stops])


@router.get("/visits/{visit_id}", responses=problem_responses(401, 403, 404),
            summary="A visit with its record, amendments and evidence")
def get_visit(visit_id: str, application: AppDep,
              principal: Annotated[Principal, Depends(require_api("visit.read"))]
              ) -> dict[str, Any]:
    try:
        return visit_view(application, principal, visit_id)
    except NotYourVisit as exc:
        raise _refused(exc) from None


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class CheckIn(Position):
    collectors: list[str] = Field(default_factory=list, max_length=10,
                                  description="badges present besides yours")


@router.post("/visits/{visit_id}/check-in", responses=problem_responses(401, 403, 404, 409, 422),
             summary="The crew arrived: who is present and where (now)")
def post_check_in(visit_id: str, payload: CheckIn, application: AppDep,
                  principal: FieldAgentDep) -> dict[str, Any]:
    try:
        return do_check_in(application, principal, visit_id, payload.collectors,
                           payload.latitude, payload.longitude)
    except NotYourVisit as exc:
        raise _refused(exc) from None


@router.post("/visits/{visit_id}/check-out", responses=problem_responses(401, 403, 404, 409, 422),
             summary="The crew left: where from (now)")
def post_check_out(visit_id: str, payload: Position, application: AppDep,
                   principal: FieldAgentDep) -> dict[str, str]:
    try:
        do_check_out(application, principal, visit_id, payload.latitude, payload.longitude)
    except NotYourVisit as exc:
        raise _refused(exc) from None
    return {"visit_id": visit_id, "checked_out": "yes"}


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reaction: Literal["cooperative", "hesitant", "upset", "hostile", "absent"]
    arrears_reason: str = Field(default="", max_length=2000)
    solution: Literal["promise", "plan", "refusal", "not_at_home"]
    follow_up_on: date
    follow_up_plan: str = Field(max_length=2000)
    notes: str = Field(default="", max_length=4000)


@router.post("/visits/{visit_id}/record", responses=problem_responses(401, 403, 404, 409, 422),
             summary="Submit the visit's record (checked against the prohibited-content lexicon)")
def post_record(visit_id: str, payload: RecordIn, application: AppDep,
                principal: FieldAgentDep) -> dict[str, str]:
    values = {k: (v.isoformat() if isinstance(v, date) else v)
              for k, v in payload.model_dump().items()}
    try:
        digest = do_record(application, principal, visit_id, values)
    except NotYourVisit as exc:
        raise _refused(exc) from None
    return {"visit_id": visit_id, "record_sha256": digest}


class AmendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: dict[str, str] = Field(description=f"fields to change: {', '.join(RECORD_FIELDS)}")
    reason: str = Field(min_length=1, max_length=1000)


@router.post("/visits/{visit_id}/amend", responses=problem_responses(401, 403, 404, 409, 422),
             summary="Correct a submitted record with a numbered amendment")
def post_amend(visit_id: str, payload: AmendIn, application: AppDep,
               principal: FieldAgentDep) -> dict[str, Any]:
    unknown = sorted(set(payload.changes) - set(RECORD_FIELDS))
    if unknown:
        raise Problem(422, "invalid-input", "Invalid input",
                      f"cannot amend {', '.join(unknown)}; fields: {', '.join(RECORD_FIELDS)}")
    try:
        number = do_amend(application, principal, visit_id, payload.changes, payload.reason)
    except NotYourVisit as exc:
        raise _refused(exc) from None
    return {"visit_id": visit_id, "amendment_no": number}


@router.post("/visits/{visit_id}/evidence", responses=problem_responses(401, 403, 404, 422),
             summary="Upload an evidence file (multipart); kept by its SHA-256")
async def post_evidence(visit_id: str, application: AppDep, principal: FieldAgentDep,
                        file: Annotated[UploadFile, File()],
                        kind: Annotated[str | None, Form()] = None) -> dict[str, str]:
    try:
        sha = await do_evidence(application, principal, visit_id, file, kind)
    except NotYourVisit as exc:
        raise _refused(exc) from None
    return {"visit_id": visit_id, "sha256": sha}


class Slot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slots: list[Slot] = Field(default_factory=list, max_length=6,
                              description="times to offer; none: the configured slot times")


@router.post("/visits/{visit_id}/slots", responses=problem_responses(401, 403, 404, 409, 422),
             summary="Offer the borrower appointment times for an approved visit (by SMS)")
def post_slots(visit_id: str, payload: OfferIn, application: AppDep,
               principal: Annotated[Principal, Depends(require_api("visit.schedule"))]
               ) -> dict[str, Any]:
    for slot in payload.slots:
        if slot.start.tzinfo is None or slot.end.tzinfo is None:
            raise Problem(422, "invalid-input", "Invalid input",
                          "give each time with its offset, e.g. 2026-08-03T10:00:00+08:00")
    offered = do_offer(application, principal, visit_id,
                       [(s.start, s.end) for s in payload.slots])
    return {"visit_id": visit_id,
            "slots": [{"slot_no": n, "start": s.isoformat(), "end": e.isoformat()}
                      for n, s, e in offered]}


class CrewChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, description="why the crew changes")
    badges: list[str] = Field(default_factory=list, max_length=6,
                              description="the new crew; none: chosen as at booking, from "
                                          "everyone but the present collectors")


@router.post("/visits/{visit_id}/crew", responses=problem_responses(401, 403, 404, 409, 422),
             summary="Give a booked visit another crew (the old letters stop verifying)")
def post_crew(visit_id: str, payload: CrewChange, application: AppDep,
              principal: Annotated[Principal, Depends(require_api("visit.schedule"))]
              ) -> dict[str, Any]:
    booking = change_crew(application, visit_id, actor=principal.id, reason=payload.reason,
                          badges=payload.badges or None)
    return {"visit_id": visit_id, "team": booking.team, "collectors": list(booking.collectors),
            "starts_at": booking.starts_at.isoformat(), "ends_at": booking.ends_at.isoformat()}
