"""A field visit (外访), from the policy's proposal to the record of what happened.

A visit is the exception (S5 large and long, S6 unreachable, S7 negative attitude). Its life:

    proposed --approve--> approved --offer_slots--> slots_offered --book--> booked
        |                     |  \\------------------book----------------------/  |
        +--reject--> rejected  +--cancel--> cancelled <--cancel-- (any open state) |
                                                                 booked --check_in--> in_progress
                                                                 in_progress --submit--> visited

A supervisor approves or rejects with a reason; a payment, a plan or a closed case that
removes the reason cancels a visit not yet begun. An appointment is only booked inside the
profile's lawful hours in the borrower's zone (CN-01 / US-04) and, under `cn`, with at least
two collectors (CN-06). Each transition returns the event it records; the status is never
set from outside. Pure: times are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import ClassVar
from zoneinfo import ZoneInfo

from fairdue.domain.contact_schedule import ContactWindow
from fairdue.domain.events import DomainEvent
from fairdue.errors import InvalidInput, InvalidTransition

GROUNDS = ("S5", "S6", "S7")


class VisitStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    SLOTS_OFFERED = "slots_offered"
    BOOKED = "booked"
    IN_PROGRESS = "in_progress"
    VISITED = "visited"
    CANCELLED = "cancelled"


OPEN = frozenset({VisitStatus.PROPOSED, VisitStatus.APPROVED, VisitStatus.SLOTS_OFFERED,
                  VisitStatus.BOOKED, VisitStatus.IN_PROGRESS})
#: A visit may be called off until the collectors arrive.
CANCELLABLE = frozenset({VisitStatus.PROPOSED, VisitStatus.APPROVED, VisitStatus.SLOTS_OFFERED,
                         VisitStatus.BOOKED})


def grounds_of(reason: str) -> str:
    """The seed ground a policy's visit reason names first (S5, S6 or S7)."""
    head = reason.strip()[:2].upper()
    if head not in GROUNDS:
        raise InvalidInput(f"a visit's reason must start with S5, S6 or S7, not {reason!r}")
    return head


def visit_id_for(case_id: str, proposed_on: date) -> str:
    return f"V-{case_id}-{proposed_on:%Y%m%d}"


@dataclass(frozen=True, slots=True)
class _VisitEvent(DomainEvent):
    subject_field: ClassVar[str] = "visit_id"
    visit_id: str
    case_id: str


@dataclass(frozen=True, slots=True)
class VisitProposed(_VisitEvent):
    name: ClassVar[str] = "VisitProposed"
    grounds: str
    reason: str
    on: date


@dataclass(frozen=True, slots=True)
class VisitApproved(_VisitEvent):
    name: ClassVar[str] = "VisitApproved"
    by: str
    note: str


@dataclass(frozen=True, slots=True)
class VisitRejected(_VisitEvent):
    name: ClassVar[str] = "VisitRejected"
    by: str
    note: str


@dataclass(frozen=True, slots=True)
class VisitSlotsOffered(_VisitEvent):
    name: ClassVar[str] = "VisitSlotsOffered"
    slots: int


@dataclass(frozen=True, slots=True)
class VisitBooked(_VisitEvent):
    name: ClassVar[str] = "VisitBooked"
    starts_at: str
    ends_at: str
    via: str
    collectors: str


@dataclass(frozen=True, slots=True)
class VisitCrewChanged(_VisitEvent):
    name: ClassVar[str] = "VisitCrewChanged"
    before: str
    after: str
    reason: str


@dataclass(frozen=True, slots=True)
class VisitCancelled(_VisitEvent):
    name: ClassVar[str] = "VisitCancelled"
    reason: str


@dataclass(frozen=True, slots=True)
class VisitCheckedIn(_VisitEvent):
    name: ClassVar[str] = "VisitCheckedIn"
    collectors: str
    distance_m: int | None
    flagged: bool


@dataclass(frozen=True, slots=True)
class VisitCheckedOut(_VisitEvent):
    name: ClassVar[str] = "VisitCheckedOut"
    at: str


@dataclass(frozen=True, slots=True)
class VisitRecorded(_VisitEvent):
    name: ClassVar[str] = "VisitRecorded"
    solution: str
    follow_up_on: date
    record_hash: str


@dataclass(frozen=True, slots=True)
class VisitRecordAmended(_VisitEvent):
    name: ClassVar[str] = "VisitRecordAmended"
    amendment_no: int
    fields: str
    reason: str


@dataclass(frozen=True, slots=True)
class EvidenceAdded(_VisitEvent):
    name: ClassVar[str] = "EvidenceAdded"
    sha256: str
    kind: str
    size_bytes: int


@dataclass(slots=True)
class Visit:
    visit_id: str
    case_id: str
    grounds: str
    reason: str
    status: VisitStatus = VisitStatus.PROPOSED
    slot_start: datetime | None = None
    slot_end: datetime | None = None
    collectors: tuple[str, ...] = field(default=())

    @classmethod
    def propose(cls, *, case_id: str, reason: str, on: date) -> tuple[Visit, VisitProposed]:
        visit = cls(visit_id_for(case_id, on), case_id, grounds_of(reason), reason.strip())
        return visit, VisitProposed(visit.visit_id, case_id, visit.grounds, visit.reason, on)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def _move(self, allowed: frozenset[VisitStatus], to: VisitStatus, verb: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(
                f"visit {self.visit_id} is {self.status.value}; it cannot be {verb} "
                f"(only when {' or '.join(sorted(s.value for s in allowed))})")
        self.status = to

    def approve(self, by: str, note: str) -> VisitApproved:
        """proposed -> approved, by a supervisor, with the reason."""
        _need_note(note, "approving")
        self._move(frozenset({VisitStatus.PROPOSED}), VisitStatus.APPROVED, "approved")
        return VisitApproved(self.visit_id, self.case_id, by, note.strip())

    def reject(self, by: str, note: str) -> VisitRejected:
        """proposed -> rejected, by a supervisor, with the reason."""
        _need_note(note, "rejecting")
        self._move(frozenset({VisitStatus.PROPOSED}), VisitStatus.REJECTED, "rejected")
        return VisitRejected(self.visit_id, self.case_id, by, note.strip())

    def offer_slots(self, count: int) -> VisitSlotsOffered:
        """approved (or slots_offered again) -> slots_offered."""
        if count < 1:
            raise InvalidInput("offer at least one time slot")
        self._move(frozenset({VisitStatus.APPROVED, VisitStatus.SLOTS_OFFERED}),
                   VisitStatus.SLOTS_OFFERED, "offered times")
        return VisitSlotsOffered(self.visit_id, self.case_id, count)

    def book(self, starts: datetime, ends: datetime, via: str, collectors: Sequence[str],
             min_collectors: int) -> VisitBooked:
        """approved or slots_offered -> booked, at a lawful time with enough collectors; or
        booked -> booked at another time (the borrower moved it: the service revokes the
        letters of the old time)."""
        if len(set(collectors)) < min_collectors:
            raise InvalidInput(f"a visit needs at least {min_collectors} collectors (CN-06); "
                               f"got {len(set(collectors))}")
        self._move(frozenset({VisitStatus.APPROVED, VisitStatus.SLOTS_OFFERED, VisitStatus.BOOKED}),
                   VisitStatus.BOOKED, "booked")
        self.slot_start, self.slot_end, self.collectors = starts, ends, tuple(collectors)
        return VisitBooked(self.visit_id, self.case_id, starts.isoformat(), ends.isoformat(),
                           via, "|".join(collectors))

    def change_crew(self, collectors: Sequence[str], min_collectors: int,
                    reason: str) -> VisitCrewChanged:
        """booked -> booked with other collectors (one is ill, a crew is needed elsewhere):
        still enough of them (CN-06), the time unchanged; the service revokes the old
        collectors' letters and signs new ones."""
        _need_note(reason, "changing the crew of")
        if len(set(collectors)) < min_collectors:
            raise InvalidInput(f"a visit needs at least {min_collectors} collectors (CN-06); "
                               f"got {len(set(collectors))}")
        if sorted(set(collectors)) == sorted(self.collectors):
            raise InvalidInput(f"{', '.join(sorted(collectors))} are already the crew of visit "
                               f"{self.visit_id}")
        self._move(frozenset({VisitStatus.BOOKED}), VisitStatus.BOOKED, "given another crew")
        before, self.collectors = self.collectors, tuple(collectors)
        return VisitCrewChanged(self.visit_id, self.case_id, "|".join(before),
                                "|".join(collectors), reason.strip())

    def cancel(self, reason: str) -> VisitCancelled:
        """Any state before the collectors arrive -> cancelled."""
        _need_note(reason, "cancelling")
        self._move(CANCELLABLE, VisitStatus.CANCELLED, "cancelled")
        return VisitCancelled(self.visit_id, self.case_id, reason.strip())

    def check_in(self, collectors: Sequence[str], min_collectors: int, distance_m: int | None,
                 flag_beyond_m: int) -> VisitCheckedIn:
        """booked -> in_progress, when the collectors present are enough (CN-06); a check-in
        farther than `flag_beyond_m` from the appointment's place is flagged."""
        present = sorted(set(collectors))
        if len(present) < min_collectors:
            raise InvalidInput(f"check-in refused: a visit needs at least {min_collectors} "
                               f"collectors present (CN-06), {len(present)} given")
        strangers = [b for b in present if b not in self.collectors]
        if strangers:
            raise InvalidInput(f"check-in refused: {', '.join(strangers)} not booked for "
                               f"visit {self.visit_id} (booked: {', '.join(self.collectors)})")
        self._move(frozenset({VisitStatus.BOOKED}), VisitStatus.IN_PROGRESS, "checked in")
        flagged = distance_m is not None and distance_m > flag_beyond_m
        return VisitCheckedIn(self.visit_id, self.case_id, "|".join(present), distance_m, flagged)

    def finish(self, solution: str, follow_up_on: date, record_hash: str) -> VisitRecorded:
        """in_progress -> visited, when the record is submitted."""
        self._move(frozenset({VisitStatus.IN_PROGRESS}), VisitStatus.VISITED, "recorded")
        return VisitRecorded(self.visit_id, self.case_id, solution, follow_up_on, record_hash)


def _need_note(note: str, doing: str) -> None:
    if not note or not note.strip():
        raise InvalidInput(f"give a reason when {doing} a visit")


# ----- appointments ---------------------------------------------------------------------

def check_slot(starts: datetime, ends: datetime, tz: ZoneInfo, window: ContactWindow,
               rule: str) -> None:
    """An appointment from `starts` to `ends` must fall, in the borrower's zone `tz`, on one
    local day inside the profile's lawful window; InvalidInput with the rule otherwise."""
    if starts.tzinfo is None or ends.tzinfo is None:
        raise InvalidInput("appointment times need a UTC offset")
    if not starts < ends:
        raise InvalidInput("an appointment must start before it ends")
    local_start, local_end = starts.astimezone(tz), ends.astimezone(tz)
    last_minute = (local_end - timedelta(minutes=1))
    if (local_start.date() != last_minute.date() or not window.allows(local_start)
            or not window.allows(last_minute)):
        raise InvalidInput(
            f"an appointment from {local_start:%Y-%m-%d %H:%M} to {local_end:%H:%M} ({tz.key}) "
            f"is outside the lawful hours {window.opens:%H:%M}-{window.closes:%H:%M} ({rule}); "
            "choose a time inside them")


def offer_times(after: datetime, tz: ZoneInfo, window: ContactWindow, *, starts: Sequence[time],
                length: timedelta, count: int, days_ahead: int = 7) -> list[tuple[datetime, datetime]]:
    """`count` appointment times to offer: from the day after `after` (local), at each of
    `starts` per day, skipping any not inside the lawful window, within `days_ahead` days."""
    first = after.astimezone(tz).date() + timedelta(days=1)
    found: list[tuple[datetime, datetime]] = []
    for offset in range(days_ahead):
        day = first + timedelta(days=offset)
        for at in starts:
            start = datetime.combine(day, at, tzinfo=tz)
            end = start + length
            try:
                check_slot(start, end, tz, window, "")
            except InvalidInput:
                continue
            found.append((start, end))
            if len(found) == count:
                return found
    return found


# ----- the visit record (S11, S14) --------------------------------------------------------

class Reaction(StrEnum):
    COOPERATIVE = "cooperative"
    HESITANT = "hesitant"
    UPSET = "upset"
    HOSTILE = "hostile"
    ABSENT = "absent"


class Solution(StrEnum):
    PROMISE = "promise"
    PLAN = "plan"
    REFUSAL = "refusal"
    NOT_AT_HOME = "not_at_home"


#: Fields of the record an amendment may change, and the free-text ones among them.
RECORD_FIELDS = ("reaction", "arrears_reason", "solution", "follow_up_on", "follow_up_plan", "notes")
FREE_TEXT = ("arrears_reason", "follow_up_plan", "notes")


@dataclass(frozen=True, slots=True)
class RecordContent:
    """What the collectors write down after a visit."""

    reaction: Reaction
    arrears_reason: str
    solution: Solution
    follow_up_on: date
    follow_up_plan: str
    notes: str = ""

    def check(self, visited_on: date) -> None:
        """Complete and sensible: a reason for the arrears unless nobody was met, a follow-up
        plan dated on or after the visit."""
        if self.solution is not Solution.NOT_AT_HOME and not self.arrears_reason.strip():
            raise InvalidInput("record the borrower's reason for the arrears (S10)")
        if not self.follow_up_plan.strip():
            raise InvalidInput("record the follow-up plan (S11)")
        if self.follow_up_on < visited_on:
            raise InvalidInput(f"the follow-up date {self.follow_up_on} is before the visit "
                               f"({visited_on})")
        if (self.solution is Solution.NOT_AT_HOME) != (self.reaction is Reaction.ABSENT):
            raise InvalidInput("'not_at_home' goes with the reaction 'absent', and only with it")

    def as_dict(self) -> dict[str, str]:
        return {"reaction": self.reaction.value, "arrears_reason": self.arrears_reason,
                "solution": self.solution.value, "follow_up_on": self.follow_up_on.isoformat(),
                "follow_up_plan": self.follow_up_plan, "notes": self.notes}

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> RecordContent:
        try:
            return cls(Reaction(values["reaction"]), values.get("arrears_reason") or "",
                       Solution(values["solution"]), date.fromisoformat(values["follow_up_on"]),
                       values.get("follow_up_plan") or "", values.get("notes") or "")
        except KeyError as exc:
            raise InvalidInput(f"the record lacks {exc.args[0]}") from None
        except ValueError as exc:
            raise InvalidInput(f"the record has a bad value: {exc}; reactions: "
                               f"{', '.join(Reaction)}; solutions: {', '.join(Solution)}") from None

    def amended(self, changes: dict[str, str]) -> RecordContent:
        """This content with `changes` (field -> new text) applied."""
        unknown = set(changes) - set(RECORD_FIELDS)
        if unknown:
            raise InvalidInput(f"cannot amend {', '.join(sorted(unknown))}; fields: "
                               f"{', '.join(RECORD_FIELDS)}")
        if not changes:
            raise InvalidInput("an amendment changes at least one field")
        return RecordContent.from_dict({**self.as_dict(), **changes})
