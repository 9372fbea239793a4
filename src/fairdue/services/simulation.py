"""`fairdue simulate`: a strategy lived through N days by simulated borrowers and staff.

Everything that decides, guards, sends and books is fairdue's own: the daily run (books,
promises, the policy's decisions), the outbox dispatcher with the file sink, delivery
receipts (`services.receipts`), agents' call outcomes (`services.contacts.record_contact`,
where the compliance guard judges every attempt), promises (`services.promises`), plans
(`services.plans`), complaints and disputes (`services.contacts.restrict_contact`),
payments (the importer, `services.importer`, which posts them through
`services.payments`). Only the people are simulated, by the documented
behaviours of `domain/simulation/behaviours.py`.

A day, on a fixed clock that lives it:
- 00:30 the daily run; 09:30 the dispatcher sends what is due;
- the gateways' receipts come back (delivered, or failed for the unreachable), and each
  borrower who got a message reacts to it (pays, complains, or nothing);
- 09:00-18:00 the agents work the day's call queue, most urgent first, up to their
  capacity; every conversation's outcome is recorded, promises taken, plans proposed;
- 20:00 the payments borrowers decided on (today's reactions, promises they keep) are
  paid; at the end of the day they are posted with the rest of the book's own payments for
  the day (the generated history, for borrowers not in collection: what they would have
  paid anyway) in one payment file, through the importer, as a gateway's daily file is;
- supervisors close complaints after 10 days, disputes after 14 (the debt validated),
  hardship holds after 21.

Field visits, through fairdue's visit services: the daily run turns the policy's visit
proposals into candidates (`services.visits.sync_candidates`); at 09:00 a simulated
supervisor decides them (`approve_visit`/`reject_visit`, by `decide_visit`, within
`visits_per_day`) and offers the approved ones the configured times (`offer_slots`), and
offers again, or cancels, those whose times passed unanswered; the 09:30 dispatch sends the
SMS; a borrower who reads it may pick a time (`confirm_slot`), which books a crew; on the
booked day the crew checks in at the place (`services.visit_records.check_in`), the visit
ends in a promise (`services.promises`), a plan (`services.plans`, proposed and approved),
a refusal or nobody at home, and the crew checks out and submits the record. The crews are
the simulation's own field agents: two per large city, registered at the start.

Same seed, same result: the portfolio comes from the seeded generator, each borrower's
segment from a generator seeded by the seed and their id, each day's draws from one seeded
by the seed and the date, and everything is visited in a fixed order.
"""

from __future__ import annotations

import csv
import random
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from fairdue.adapters.channels import sender_for
from fairdue.adapters.crypto import create_key_file
from fairdue.adapters.db.migrate import upgrade
from fairdue.adapters.db.tables import (
    borrowers,
    cases,
    contact_restrictions,
    contacts,
    loans,
)
from fairdue.adapters.db.tables_plans import plans
from fairdue.adapters.db.tables_visits import visit_records, visits
from fairdue.bootstrap import App
from fairdue.clock import FixedClock
from fairdue.domain.field_agents import FieldAgent
from fairdue.domain.geo import Point
from fairdue.domain.messages import Receipt
from fairdue.domain.money import format_minor
from fairdue.domain.simulation.behaviours import (
    ARREARS_REASON,
    PERMANENT_FAILURE,
    VISIT_OFFERS,
    CallOutcome,
    Segment,
    answer_call,
    answer_visit_offer,
    decide_visit,
    pick_segment,
    react_to_message,
    visit_outcome,
)
from fairdue.domain.visits import Reaction, RecordContent, Solution
from fairdue.errors import FairdueError, InvalidInput
from fairdue.portfolio.cities import CITIES
from fairdue.portfolio.generate import generate_portfolio
from fairdue.services.contacts import lift_restriction, record_contact, restrict_contact
from fairdue.services.daily_run import run_days
from fairdue.services.dispatch import Dispatcher
from fairdue.services.field_agents import add_agent, agent
from fairdue.services.importer import import_portfolio
from fairdue.services.plans import approve_plan, propose_plan
from fairdue.services.promises import make_promise
from fairdue.services.receipts import apply_receipt
from fairdue.services.visit_records import check_in, check_out, submit_record
from fairdue.services.visits import (
    approve_visit,
    cancel_visit,
    confirm_slot,
    offer_slots,
    offered_slots,
    place_point,
    reject_visit,
)

Progress = Callable[[str, int, int], None]

MESSAGE_CHANNELS = ("sms", "email", "push")
#: Kinds of hold that keep agents off a borrower, and the days a supervisor takes to close
#: each of those the simulation opens.
RESOLVE_AFTER_DAYS = {"complaint": 10, "dispute": 14, "hardship": 21}
HOLDS = ("cease", "dispute", "complaint", "hardship", "grace", "do_not_contact")
#: Cities of at least this population (in 10,000s, as `portfolio.cities` counts: ten
#: million people) have a field team; a visit elsewhere has no crew and is rejected.
LARGE_CITY_POPULATION = 1000
#: Agents in each large city's crew (`cn` wants two collectors at a visit, CN-06).
CREW_SIZE = 2
#: Minutes from the appointment's start to the check-in, and spent at the door.
ARRIVE_AFTER_MINUTES = 5
VISIT_MINUTES = 40


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate: how many loans, days and agents, from which seed."""

    days: int
    seed: int
    loans: int = 2000
    end: date = date(2026, 6, 30)
    agents: int = 10
    calls_per_agent: int = 40
    workday: tuple[time, time] = (time(9, 0), time(18, 0))
    #: Whether the simulated gateways confirm deliveries too, or (False) report only the
    #: failures, as many SMS gateways do by default; failures are what the policy reads (S6),
    #: and leaving out the confirmations saves one transaction per message in a large demo.
    delivery_receipts: bool = True
    #: Proposed visits the supervisor approves a day at most (the field teams' capacity to
    #: take on new work); the rest wait, most urgent first.
    visits_per_day: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 366:
            raise InvalidInput(f"days must be 1 to 366, not {self.days}")
        if self.agents < 0 or self.calls_per_agent < 0 or self.visits_per_day < 0:
            raise InvalidInput("agents, calls per agent and visits per day must be zero or more")

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days)


@dataclass
class SimulationSummary:
    start: date
    end: date
    loans: int
    segments: dict[str, int] = field(default_factory=dict)
    messages_sent: int = 0
    receipts: int = 0
    calls: int = 0
    calls_unlawful: int = 0
    conversations: int = 0
    promises: int = 0
    plans: int = 0
    complaints: int = 0
    disputes: int = 0
    lifted: int = 0
    payments_by_borrowers: int = 0
    payments_from_history: int = 0
    rejected_rows: int = 0
    cases_opened: int = 0
    cases_cured: int = 0
    open_by_bucket: list[tuple[str, int, str]] = field(default_factory=list)
    contacts_by_status: list[tuple[str, str, int]] = field(default_factory=list)
    #: Field visits: candidates the daily runs made of the policy's proposals, the
    #: supervisor's decisions, times offered (re-offers included), visits booked by the
    #: borrower, made (recorded), cancelled (by anyone), and the records' solutions.
    visits_proposed: int = 0
    visits_approved: int = 0
    visits_rejected: int = 0
    visit_offers: int = 0
    visits_booked: int = 0
    visits_made: int = 0
    visits_cancelled: int = 0
    visit_outcomes: dict[str, int] = field(default_factory=dict)


def split_payments(portfolio: Path, start: date, days_dir: Path) -> dict[date, Path]:
    """Keep payments up to `start` in the portfolio; write later ones into one folder a day."""
    source = portfolio / "payments.csv"
    later: dict[date, list[list[str]]] = defaultdict(list)
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        early: list[list[str]] = []
        for row in reader:
            paid_on = date.fromisoformat(row[2][:10])
            (early if paid_on <= start else later[paid_on]).append(row)
    _write_rows(source, header, early)
    if days_dir.exists():
        shutil.rmtree(days_dir)  # an earlier simulation's days, in the same folder
    folders = {}
    for day, rows in later.items():
        folder = days_dir / day.isoformat()
        folder.mkdir(parents=True)
        _write_rows(folder / "payments.csv", header, rows)
        folders[day] = folder
    return folders


def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@dataclass
class _Payment:
    borrower_id: str
    share: float = 0.0       # of what is overdue when it is paid
    amount_minor: int = 0    # or a fixed amount (a promise)


class Simulation:
    """One simulated run on an empty database: `run()` does it all and sums it up."""

    def __init__(self, app: App, folder: Path, config: SimulationConfig,
                 progress: Progress | None = None) -> None:
        self.app = app
        self.folder = folder
        self.config = config
        self.progress = progress or (lambda stage, done, total: None)
        self.segments: dict[str, Segment] = {}
        self.agenda: dict[date, list[_Payment]] = defaultdict(list)
        self.clock = FixedClock(self._at(config.start, time(0, 30)))
        self.summary = SimulationSummary(start=config.start, end=config.end, loans=config.loans)
        self._paid = 0
        self._offers: dict[str, int] = defaultdict(int)   # visit -> times offered so far
        self._crew_cities: set[str] = set()

    # --- set-up -------------------------------------------------------------------------

    def _at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.app.zone)

    def segment_of(self, borrower_id: str) -> Segment:
        """A borrower's segment: drawn once, from the seed and their id alone."""
        found = self.segments.get(borrower_id)
        if found is None:
            found = pick_segment(random.Random(f"{self.config.seed}:segment:{borrower_id}"))
            self.segments[borrower_id] = found
        return found

    def _prepare(self) -> dict[date, Path]:
        app, config = self.app, self.config
        upgrade(app.engine)
        with app.engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(loans)).scalar_one():
                raise InvalidInput(f"{app.db_label} already holds a book; a simulation makes its "
                                   "own: give it an empty database (--db)")
        key = app.settings.resolved_key_file()
        if not key.exists():
            create_key_file(key)
        portfolio = self.folder / "portfolio"
        generate_portfolio(portfolio, loans=config.loans, seed=config.seed, as_of=config.end,
                           progress=self.progress)
        per_day = split_payments(portfolio, config.start, self.folder / "days")
        imported = import_portfolio(app, portfolio, progress=self.progress)
        self.summary.rejected_rows += len(imported.errors)
        app.clock = self.clock
        self._register_crews()
        run_days(app, through=config.start)
        return per_day

    def _register_crews(self) -> None:
        """Two field agents (`CREW_SIZE`) for each large city, living at its centre, one team
        a city: the simulation's own staff (badges SIM-0001...; the demo's are FA-...)."""
        number = 0
        for city in CITIES:
            if city.population < LARGE_CITY_POPULATION:
                continue
            home = Point(city.lat_micro / 1e6, city.lon_micro / 1e6)
            for _ in range(CREW_SIZE):
                number += 1
                add_agent(self.app, FieldAgent(f"SIM-{number:04d}", f"模拟外访员{number}",
                                               f"sim-{city.name}", (city.name,), home),
                          actor="simulation")
            self._crew_cities.add(city.name)

    # --- the run ------------------------------------------------------------------------

    def run(self) -> SimulationSummary:
        per_day = self._prepare()
        sink = f"file://{self.folder / 'outbox'}"
        dispatcher = Dispatcher(self.app, {c: sender_for(sink) for c in MESSAGE_CHANNELS},
                                self.app.templates,
                                worker="simulation", jitter=lambda: 0.5)
        try:
            day = self.config.start + timedelta(days=1)
            n = 0
            while day <= self.config.end:
                self.live(day, dispatcher, per_day.get(day))
                n += 1
                self.progress("simulated days", n, self.config.days)
                day += timedelta(days=1)
        finally:
            dispatcher.close()
        self._sum_up()
        return self.summary

    def live(self, day: date, dispatcher: Dispatcher, history: Path | None) -> None:
        """One business day, in the order described in the module docstring."""
        rng = random.Random(f"{self.config.seed}:{day.isoformat()}")
        self.clock.moment = self._at(day, time(0, 30))
        run_days(self.app, through=day)
        self.clock.moment = self._at(day, time(9, 0))
        self._supervise_visits(day)
        self.clock.moment = self._at(day, time(9, 30))
        sent = dispatcher.run_once()
        self.summary.messages_sent += sent.sent
        self._messages_read(day, rng)
        self._make_visits(day, rng)
        self._work_call_queue(day, rng)
        self.clock.moment = self._at(day, time(23, 59, 59))
        self._post_payments(day, self._borrowers_payments(day), history)
        self._resolve(day)

    # --- borrowers reading messages -----------------------------------------------------

    def _messages_read(self, day: date, rng: random.Random) -> None:
        """Receipts for today's messages, then each reader's reaction."""
        begin, end = self._at(day, time(0)).astimezone(UTC), self._at(day + timedelta(days=1),
                                                                      time(0)).astimezone(UTC)
        with self.app.engine.connect() as conn:
            rows = conn.execute(
                select(contacts.c.contact_id, contacts.c.borrower_id, contacts.c.channel,
                       contacts.c.template, contacts.c.provider_id, contacts.c.sent_at,
                       borrowers.c.timezone)
                .join(borrowers, borrowers.c.borrower_id == contacts.c.borrower_id)
                .where(contacts.c.channel.in_(MESSAGE_CHANNELS), contacts.c.status == "sent",
                       contacts.c.sent_at >= begin, contacts.c.sent_at < end,
                       contacts.c.provider_id.is_not(None))
                .order_by(contacts.c.contact_id)
            ).all()
        reacted: set[str] = set()
        offers: list[str] = []
        for _contact, borrower_id, channel, template, provider_id, sent_at, tz in rows:
            segment = self.segment_of(borrower_id)
            if segment is Segment.UNREACHABLE:
                permanent = rng.random() < PERMANENT_FAILURE
                apply_receipt(self.app, Receipt(provider_id, "failed", permanent,
                                                "simulated: not delivered"), channel=channel)
                self.summary.receipts += 1
                continue
            if self.config.delivery_receipts:
                apply_receipt(self.app, Receipt(provider_id, "delivered"), channel=channel)
                self.summary.receipts += 1
            if template == "visit_slots":
                offers.append(borrower_id)  # answered below, after the day's receipts
                continue
            if borrower_id in reacted:
                continue  # one reaction a day, to the first message read
            sent_moment = sent_at.replace(tzinfo=UTC) if sent_at.tzinfo is None else sent_at
            hour = sent_moment.astimezone(ZoneInfo(tz)).hour
            reaction = react_to_message(rng, segment, channel,
                                        first_notice=(template or "").startswith("first_"),
                                        local_hour=hour)
            if reaction.complain:
                reacted.add(borrower_id)
                self._complain(borrower_id, self._at(day, time(12, 0)), "about a message")
            elif reaction.pay_share > 0:
                reacted.add(borrower_id)
                self.agenda[day].append(_Payment(borrower_id, share=reaction.pay_share))
        self._answer_offers(day, rng, offers)

    def _complain(self, borrower_id: str, at: datetime, what: str) -> None:
        restrict_contact(self.app, borrower_id=borrower_id, kind="complaint", at=at,
                         note=f"simulated borrower complained {what}", actor="simulation")
        self.summary.complaints += 1

    # --- field visits -------------------------------------------------------------------

    def _supervise_visits(self, day: date) -> None:
        """09:00: the supervisor offers new times for offers that passed unanswered (or
        cancels after `VISIT_OFFERS`), then decides the proposals, most urgent first, by
        `decide_visit`, and offers the approved ones the configured times at once."""
        app, now = self.app, self.clock.now()
        with app.engine.connect() as conn:
            offered = conn.execute(select(visits.c.visit_id).where(
                visits.c.status == "slots_offered").order_by(visits.c.visit_id)).scalars().all()
            expired = [v for v in offered
                       if all(start <= now for _, start, _ in offered_slots(conn, v))]
            proposed = conn.execute(
                select(visits.c.visit_id, visits.c.case_id, visits.c.borrower_id,
                       visits.c.grounds, visits.c.reason, cases.c.status,
                       cases.c.amount_due_minor, borrowers.c.city)
                .join(cases, cases.c.case_id == visits.c.case_id)
                .join(borrowers, borrowers.c.borrower_id == visits.c.borrower_id)
                .where(visits.c.status == "proposed")
                .order_by(visits.c.priority.desc(), visits.c.proposed_on, visits.c.visit_id)
            ).all()
            ids = sorted({r.borrower_id for r in proposed})
            held: dict[str, str] = {}
            planned: set[str] = set()
            if ids:
                for borrower_id, kind in conn.execute(
                    select(contact_restrictions.c.borrower_id, contact_restrictions.c.kind)
                    .where(contact_restrictions.c.borrower_id.in_(ids),
                           contact_restrictions.c.lifted_at.is_(None),
                           contact_restrictions.c.kind.in_(HOLDS),
                           contact_restrictions.c.channel.is_(None))
                    .order_by(contact_restrictions.c.borrower_id, contact_restrictions.c.kind)
                ):
                    held.setdefault(borrower_id, kind)
                planned = set(conn.execute(select(plans.c.case_id).where(
                    plans.c.status == "active",
                    plans.c.case_id.in_({r.case_id for r in proposed}))).scalars())
        for visit_id in expired:
            if self._offers[visit_id] >= VISIT_OFFERS:
                cancel_visit(app, visit_id, actor="supervisor",
                             reason=f"the borrower answered none of {VISIT_OFFERS} offers of times")
            else:
                self._offer(visit_id)
        threshold = app.strategy.policy.thresholds.get("visit_amount_minor")
        left = self.config.visits_per_day
        for row in proposed:
            decision = decide_visit(
                grounds=row.grounds, reason=row.reason, case_open=row.status == "open",
                hold=held.get(row.borrower_id), plan_active=row.case_id in planned,
                amount_due_minor=int(row.amount_due_minor or 0),
                large_amount_minor=None if threshold is None else int(threshold),
                crew_in_city=row.city in self._crew_cities, approvals_left=left)
            if decision.approve is None:
                continue
            if not decision.approve:
                reject_visit(app, row.visit_id, actor="supervisor", note=decision.note)
                self.summary.visits_rejected += 1
                continue
            approve_visit(app, row.visit_id, actor="supervisor", note=decision.note)
            self.summary.visits_approved += 1
            left -= 1
            self._offer(row.visit_id)

    def _offer(self, visit_id: str) -> None:
        """Offer the next day's configured times (`FAIRDUE_VISIT_SLOT_TIMES`) by SMS."""
        try:
            offer_slots(self.app, visit_id, actor="supervisor")
        except FairdueError:
            cancel_visit(self.app, visit_id, actor="supervisor",
                         reason="no lawful appointment time to offer")
            return
        self._offers[visit_id] += 1
        self.summary.visit_offers += 1

    def _answer_offers(self, day: date, rng: random.Random, readers: list[str]) -> None:
        """09:45: borrowers who got today's SMS with visit times answer it on the portal
        (`answer_visit_offer`), picking a time still ahead; one no crew can take is passed
        over for the next offered time."""
        self.clock.moment = self._at(day, time(9, 45))
        now = self.clock.now()
        for borrower_id in dict.fromkeys(readers):
            with self.app.engine.connect() as conn:
                visit_id = conn.execute(select(visits.c.visit_id).where(
                    visits.c.borrower_id == borrower_id, visits.c.status == "slots_offered")
                ).scalar()
                if visit_id is None:
                    continue
                ahead = [n for n, start, _ in offered_slots(conn, visit_id) if start > now]
            pick = answer_visit_offer(rng, self.segment_of(borrower_id), len(ahead))
            if pick is None:
                continue
            for slot_no in ahead[pick - 1:] + ahead[:pick - 1]:
                try:
                    confirm_slot(self.app, visit_id, slot_no)
                except FairdueError:
                    continue  # e.g. no crew free then: the borrower takes another time
                self.summary.visits_booked += 1
                break

    def _make_visits(self, day: date, rng: random.Random) -> None:
        """The day's booked visits, in time order: the crew checks in at the place, the
        visit ends as `visit_outcome` draws, the crew checks out and submits the record;
        a promise is taken, or a plan proposed and approved, through their services."""
        begin = self._at(day, time(0)).astimezone(UTC)
        end = self._at(day + timedelta(days=1), time(0)).astimezone(UTC)
        with self.app.engine.connect() as conn:
            rows = conn.execute(select(visits).where(
                visits.c.status == "booked", visits.c.slot_start >= begin,
                visits.c.slot_start < end).order_by(visits.c.slot_start, visits.c.visit_id)
            ).mappings().all()
            owed = self._amount_due(conn, sorted({r["borrower_id"] for r in rows}))
        for row in rows:
            self._make_visit(day, rng, row, owed.get(row["borrower_id"], 0))

    def _make_visit(self, day: date, rng: random.Random, row: Any, owed: int) -> None:
        visit_id, borrower_id = row["visit_id"], row["borrower_id"]
        crew = [b for b in (row["collectors"] or "").split("|") if b]
        starts = row["slot_start"]
        starts = starts.replace(tzinfo=UTC) if starts.tzinfo is None else starts
        place = place_point(self.app, row)
        if place is None:  # no coordinates on file: the crew reports from its own base
            with self.app.engine.connect() as conn:
                place = agent(conn, crew[0]).home
        arrived = starts + timedelta(minutes=ARRIVE_AFTER_MINUTES)
        left = arrived + timedelta(minutes=VISIT_MINUTES)
        self.clock.moment = arrived
        check_in(self.app, visit_id, collectors=crew, at=arrived, lat=place.lat, lon=place.lon,
                 actor=crew[0])
        segment = self.segment_of(borrower_id)
        outcome = visit_outcome(rng, segment)
        self.clock.moment = left
        check_out(self.app, visit_id, at=left, lat=place.lat, lon=place.lon, actor=crew[0])
        solution = Solution(outcome.solution)
        follow_up = day + timedelta(days=outcome.promise_days or 7)
        plan_text = {
            Solution.PROMISE: "check the promised payment on its date",
            Solution.PLAN: "check the plan's first instalment is paid",
            Solution.REFUSAL: "call again in a week to talk about options",
            Solution.NOT_AT_HOME: "offer new times by SMS",
        }[solution]
        submit_record(self.app, visit_id, RecordContent(
            Reaction(outcome.reaction),
            "" if solution is Solution.NOT_AT_HOME else ARREARS_REASON[segment],
            solution, follow_up, plan_text), actor=crew[0], at=left)
        self.summary.visits_made += 1
        if solution is Solution.PROMISE and owed > 0:
            amount = max(1, int(owed * outcome.promise_share))
            try:
                make_promise(self.app, borrower_id=borrower_id,
                             amount=format_minor(amount, self.app.settings.currency),
                             due_on=follow_up, actor=crew[0], made_at=left)
            except FairdueError:
                return
            self.summary.promises += 1
            if outcome.keeps_promise:
                pay_on = day + timedelta(days=int(outcome.promise_days
                                                  * self._fraction(borrower_id, day)))
                self.agenda[pay_on].append(_Payment(borrower_id, amount_minor=amount))
        elif solution is Solution.PLAN:
            try:
                plan = propose_plan(self.app, borrower_id=borrower_id, installments=3,
                                    first_on=follow_up, actor=crew[0], at=left)
                approve_plan(self.app, plan_id=plan.plan_id, actor="supervisor",
                             role="supervisor", reason="agreed with the borrower at a field visit",
                             at=left)
            except FairdueError:
                return
            self.summary.plans += 1

    # --- agents working the call queue --------------------------------------------------

    def _call_queue(self, conn: Connection, day: date) -> list[tuple[str, str, datetime]]:
        """Today's call tasks for open cases with no hold in force, most urgent first, up to
        the agents' capacity: (borrower_id, borrower's time zone, the task's time)."""
        begin = self._at(day, time(0)).astimezone(UTC)
        end = self._at(day + timedelta(days=1), time(0)).astimezone(UTC)
        held = select(contact_restrictions.c.borrower_id).where(
            contact_restrictions.c.lifted_at.is_(None), contact_restrictions.c.kind.in_(HOLDS),
            contact_restrictions.c.channel.is_(None))
        capacity = self.config.agents * self.config.calls_per_agent
        rows = conn.execute(
            select(contacts.c.borrower_id, borrowers.c.timezone, contacts.c.scheduled_at)
            .join(borrowers, borrowers.c.borrower_id == contacts.c.borrower_id)
            .join(cases, cases.c.case_id == contacts.c.case_id)
            .where(contacts.c.channel == "call", contacts.c.status == "queued",
                   contacts.c.scheduled_at >= begin, contacts.c.scheduled_at < end,
                   cases.c.status == "open", contacts.c.borrower_id.not_in(held))
            .order_by(contacts.c.priority.desc(), contacts.c.scheduled_at, contacts.c.contact_id)
            .limit(capacity)
        ).all()
        return [(b, tz, at if at.tzinfo else at.replace(tzinfo=UTC)) for b, tz, at in rows]

    def _work_call_queue(self, day: date, rng: random.Random) -> None:
        with self.app.engine.connect() as conn:
            queue = self._call_queue(conn, day)
            owed = self._amount_due(conn, sorted({b for b, _, _ in queue}))
        if not queue:
            return
        first, last = self.config.workday
        minutes = (datetime.combine(day, last) - datetime.combine(day, first)).seconds // 60
        per_agent = max(1, -(-len(queue) // max(1, self.config.agents)))
        self.clock.moment = self._at(day, last)
        for i, (borrower_id, tz, scheduled) in enumerate(queue):
            agent = i % max(1, self.config.agents)
            slot = i // max(1, self.config.agents)
            at = self._at(day, first) + timedelta(minutes=slot * minutes // per_agent, seconds=agent)
            at = max(at, scheduled)  # not before the task's time (the borrower's morning)
            local_hour = at.astimezone(ZoneInfo(tz)).hour
            answer = answer_call(rng, self.segment_of(borrower_id), local_hour=local_hour)
            self._record_call(day, borrower_id, f"agent-{agent + 1:02d}", at, answer,
                              owed.get(borrower_id, 0))

    def _record_call(self, day: date, borrower_id: str, agent: str, at: datetime,
                     answer: CallOutcome, owed: int) -> None:
        recorded = record_contact(self.app, borrower_id=borrower_id, channel="call",
                                  outcome=answer.outcome, at=at, party=answer.party, actor=agent)
        self.summary.calls += 1
        if not recorded.lawful:
            self.summary.calls_unlawful += 1
            return  # the guard found it unlawful: it is evidence, not a conversation to act on
        if answer.outcome in ("no_answer", "busy", "voicemail", "not_connected", "wrong_party"):
            return
        self.summary.conversations += 1
        if answer.outcome == "dispute":
            self.summary.disputes += 1
        if answer.complain:
            self._complain(borrower_id, at + timedelta(minutes=5), "during a call")
        if answer.pay_share > 0:
            self.agenda[day].append(_Payment(borrower_id, share=answer.pay_share))
        if answer.promise_share > 0 and owed > 0:
            amount = max(1, int(owed * answer.promise_share))
            due_on = day + timedelta(days=answer.promise_days)
            try:
                make_promise(self.app, borrower_id=borrower_id,
                             amount=format_minor(amount, self.app.settings.currency),
                             due_on=due_on, attempt_id=recorded.attempt_id, actor=agent, made_at=at)
            except FairdueError:
                return  # e.g. the case was cured by a payment earlier today
            self.summary.promises += 1
            if answer.keeps_promise:
                pay_on = day + timedelta(days=int(answer.promise_days * self._fraction(borrower_id, day)))
                self.agenda[pay_on].append(_Payment(borrower_id, amount_minor=amount))
        if answer.wants_plan:
            try:
                propose_plan(self.app, borrower_id=borrower_id, installments=3,
                             first_on=day + timedelta(days=7), actor=agent, at=at)
            except FairdueError:
                return
            self.summary.plans += 1

    def _fraction(self, borrower_id: str, day: date) -> float:
        """How far towards its date a kept promise is paid (its own seeded draw)."""
        return random.Random(f"{self.config.seed}:keep:{borrower_id}:{day.isoformat()}").random()

    # --- payments -----------------------------------------------------------------------

    @staticmethod
    def _amount_due(conn: Connection, borrower_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for i in range(0, len(borrower_ids), 2000):
            chunk = borrower_ids[i:i + 2000]
            for borrower_id, due in conn.execute(
                select(cases.c.borrower_id, cases.c.amount_due_minor)
                .where(cases.c.status == "open", cases.c.borrower_id.in_(chunk))
            ):
                found[borrower_id] = int(due)
        return found

    def _borrowers_payments(self, day: date) -> list[list[str]]:
        """The payments borrowers decided on for today (reactions, promises kept), as rows of
        the day's payment file: a share of what each overdue loan owes, or a promised amount
        spread over the borrower's overdue loans in order."""
        due = self.agenda.pop(day, [])
        if not due:
            return []
        ids = sorted({p.borrower_id for p in due})
        owing: dict[str, list[tuple[str, int]]] = defaultdict(list)
        with self.app.engine.connect() as conn:
            for i in range(0, len(ids), 2000):
                for borrower_id, loan_id, amount in conn.execute(
                    select(loans.c.borrower_id, loans.c.loan_id, loans.c.amount_due_minor)
                    .where(loans.c.borrower_id.in_(ids[i:i + 2000]), loans.c.amount_due_minor > 0)
                    .order_by(loans.c.borrower_id, loans.c.loan_id)
                ):
                    owing[borrower_id].append((loan_id, int(amount)))
        paid_at = self._at(day, time(20, 0)).isoformat()
        currency = self.app.settings.currency
        rows: list[list[str]] = []
        for payment in due:
            loans_due = owing.pop(payment.borrower_id, [])  # one decision a borrower a day
            remaining = payment.amount_minor
            for n, (loan_id, amount) in enumerate(loans_due):
                if payment.amount_minor:
                    last = n == len(loans_due) - 1
                    part = remaining if last else min(amount, remaining)
                    remaining -= part
                else:
                    part = max(1, round(amount * payment.share))
                if part <= 0:
                    continue
                self._paid += 1
                rows.append([f"S{self.config.seed}-{day:%Y%m%d}-{self._paid:07d}", loan_id,
                             paid_at, format_minor(part, currency), "app"])
        return rows

    def _post_payments(self, day: date, decided: list[list[str]], history: Path | None) -> None:
        """Post the day's payments in one payment file through the importer, as the day's
        gateway and bank files arrive: what the simulated borrowers decided, and the book's
        own payments from the generated history, except for borrowers with an open case,
        whose payments are the simulation's."""
        header = ["payment_id", "loan_id", "paid_at", "amount", "channel"]
        from_history: list[list[str]] = []
        if history is not None:
            with self.app.engine.connect() as conn:
                in_collection = set(conn.execute(
                    select(loans.c.loan_id)
                    .join(cases, cases.c.borrower_id == loans.c.borrower_id)
                    .where(cases.c.status == "open")
                ).scalars())
            with (history / "payments.csv").open(encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                header = next(reader)
                from_history = [r for r in reader if r[1] not in in_collection]
        if not decided and not from_history:
            return
        folder = self.folder / "days" / day.isoformat() / "posted"
        folder.mkdir(parents=True, exist_ok=True)
        _write_rows(folder / "payments.csv", header, decided + from_history)
        posted = import_portfolio(self.app, folder)
        self.summary.rejected_rows += len(posted.errors)
        self.summary.payments_by_borrowers += len(decided)
        self.summary.payments_from_history += len(from_history)

    # --- staff closing holds ------------------------------------------------------------

    def _resolve(self, day: date) -> None:
        """Supervisors close the complaints, disputes and hardship holds that have run their
        course (the simulation's own; an operator's holds stay)."""
        for kind, after in RESOLVE_AFTER_DAYS.items():
            cutoff = self._at(day - timedelta(days=after), time(23, 59, 59)).astimezone(UTC)
            with self.app.engine.connect() as conn:
                due = sorted(set(conn.execute(
                    select(contact_restrictions.c.borrower_id)
                    .where(contact_restrictions.c.kind == kind,
                           contact_restrictions.c.lifted_at.is_(None),
                           contact_restrictions.c.started_at <= cutoff)
                ).scalars()))
            for borrower_id in due:
                lift_restriction(self.app, borrower_id=borrower_id, kind=kind,
                                 at=self._at(day, time(23, 59, 59)), actor="supervisor")
                self.summary.lifted += 1

    # --- the summary --------------------------------------------------------------------

    def _sum_up(self) -> None:
        summary = self.summary
        counts: dict[str, int] = defaultdict(int)
        for segment in self.segments.values():
            counts[segment.value] += 1
        summary.segments = dict(sorted(counts.items()))
        with self.app.engine.connect() as conn:
            summary.contacts_by_status = [
                (channel, status, int(count)) for channel, status, count in conn.execute(
                    select(contacts.c.channel, contacts.c.status, func.count())
                    .group_by(contacts.c.channel, contacts.c.status)
                    .order_by(contacts.c.channel, contacts.c.status))
            ]
            summary.cases_opened = int(conn.execute(
                select(func.count()).select_from(cases)).scalar_one())
            summary.visits_proposed = int(conn.execute(
                select(func.count()).select_from(visits)).scalar_one())
            summary.visits_cancelled = int(conn.execute(
                select(func.count()).select_from(visits).where(visits.c.status == "cancelled")
            ).scalar_one())
            summary.visit_outcomes = {
                str(solution): int(n) for solution, n in conn.execute(
                    select(visit_records.c.solution, func.count())
                    .where(visit_records.c.submitted_at.is_not(None))
                    .group_by(visit_records.c.solution).order_by(visit_records.c.solution))}
            summary.cases_cured = int(conn.execute(
                select(func.count()).select_from(cases).where(cases.c.status == "cured")
            ).scalar_one())
            rows = conn.execute(
                select(cases.c.bucket, func.count(), func.sum(cases.c.amount_due_minor))
                .where(cases.c.status == "open").group_by(cases.c.bucket)
            ).all()
        order = self.app.buckets.names
        summary.open_by_bucket = sorted(
            ((bucket, int(count), format_minor(int(total or 0), self.app.settings.currency))
             for bucket, count, total in rows),
            key=lambda r: order.index(r[0]) if r[0] in order else len(order),
        )


def simulate(app: App, folder: Path, config: SimulationConfig,
             progress: Progress | None = None) -> SimulationSummary:
    """Generate a book into `folder`, import it into the (empty) database, live it."""
    folder.mkdir(parents=True, exist_ok=True)
    return Simulation(app, folder, config, progress).run()
