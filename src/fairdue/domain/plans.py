"""A repayment plan (分期): the case's amount due spread over N installments.

A plan is drawn up with the borrower (equal installments, or amounts they chose), shown to
them, then decided by staff:

    proposed --approve--> approved --activate--> active --complete--> completed
        \\--reject--> rejected                      \\--break_--> broken

An approval needs an agent or above, and a supervisor or above with a reason when an
installment is more than the borrower can afford (domain/affordability.py) or what they can
afford is unknown. Approval activates the plan at once in the service (the borrower agreed
to the schedule shown when it was proposed), so `approved` is the state in between.

While active, every payment the borrower makes from the moment of activation counts toward
the plan's installments, oldest first (the loans' own allocation is unchanged). An
installment not fully paid by the end of its due date is missed; a later payment that
catches up makes it paid again. The plan completes when every installment is paid and is
broken once `missed_limit` installments are missed at the same time. A plan is on track
while active with nothing missed: only then does collection hold back to reminders of plan
dates.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from fairdue.domain.approvals import Role, at_least, require_reason
from fairdue.domain.events import DomainEvent
from fairdue.domain.money import Money, format_minor
from fairdue.errors import InvalidInput, InvalidTransition

CADENCES: tuple[str, ...] = ("monthly", "biweekly", "weekly")


class PlanStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"


class InstallmentStatus(StrEnum):
    DUE = "due"  # not yet due, or due today and not yet fully paid
    PAID = "paid"
    MISSED = "missed"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan + 1
    month is 28 or 29 Feb): a borrower paid on the 31st pays at each month's end."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def plan_dates(first_on: date, count: int, cadence: str) -> list[date]:
    """The due dates of `count` installments from `first_on` at `cadence`."""
    if cadence == "monthly":
        return [add_months(first_on, i) for i in range(count)]
    if cadence == "biweekly":
        return [first_on + timedelta(days=14 * i) for i in range(count)]
    if cadence == "weekly":
        return [first_on + timedelta(days=7 * i) for i in range(count)]
    raise InvalidInput(f"unknown cadence {cadence!r}; use one of: {', '.join(CADENCES)}")


def plan_amounts(total: Money, count: int, custom: Sequence[Money] | None = None) -> list[Money]:
    """Installment amounts adding up exactly to `total`: equal shares by largest remainder
    (the earlier installments take the odd minor units), or the borrower's own amounts,
    which must be positive and add up to the total."""
    if count < 1:
        raise InvalidInput(f"a plan needs at least one installment, got {count}")
    if not total.is_positive:
        raise InvalidInput(f"a plan spreads a positive amount, got {total}")
    if custom is None:
        return total.split(count)
    if len(custom) != count:
        raise InvalidInput(f"{len(custom)} amounts given for {count} installments; give one each")
    for i, amount in enumerate(custom, 1):
        if amount.currency != total.currency:
            raise InvalidInput(f"installment {i} is in {amount.currency}, the case in {total.currency}")
        if not amount.is_positive:
            raise InvalidInput(f"installment {i} must be positive, got {amount.amount}")
    given = sum(a.minor for a in custom)
    if given != total.minor:
        raise InvalidInput(
            f"the amounts add up to {format_minor(given, total.currency)}, not the "
            f"{total.amount} {total.currency} due; change them so they add up exactly"
        )
    return list(custom)


@dataclass(slots=True)
class PlanInstallment:
    seq: int
    due_on: date
    amount_minor: int
    paid_minor: int = 0
    status: InstallmentStatus = InstallmentStatus.DUE


# ----- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PlanEvent(DomainEvent):
    subject_field: ClassVar[str] = "plan_id"
    plan_id: str
    case_id: str
    borrower_id: str
    on: date


@dataclass(frozen=True, slots=True)
class PlanProposed(_PlanEvent):
    name: ClassVar[str] = "PlanProposed"
    total: str
    currency: str
    installments: int
    cadence: str
    first_due_on: date
    penalty_continues: bool
    proposed_by: str
    needs_supervisor: bool


@dataclass(frozen=True, slots=True)
class _PlanDecided(_PlanEvent):
    by: str
    role: str
    reason: str


@dataclass(frozen=True, slots=True)
class PlanApproved(_PlanDecided):
    name: ClassVar[str] = "PlanApproved"


@dataclass(frozen=True, slots=True)
class PlanRejected(_PlanDecided):
    name: ClassVar[str] = "PlanRejected"


@dataclass(frozen=True, slots=True)
class PlanActivated(_PlanEvent):
    name: ClassVar[str] = "PlanActivated"


@dataclass(frozen=True, slots=True)
class PlanInstallmentPaid(_PlanEvent):
    name: ClassVar[str] = "PlanInstallmentPaid"
    seq: int
    due_on: date


@dataclass(frozen=True, slots=True)
class PlanInstallmentMissed(_PlanEvent):
    name: ClassVar[str] = "PlanInstallmentMissed"
    seq: int
    due_on: date
    unpaid: str


@dataclass(frozen=True, slots=True)
class PlanCompleted(_PlanEvent):
    name: ClassVar[str] = "PlanCompleted"
    paid: str


@dataclass(frozen=True, slots=True)
class PlanBroken(_PlanEvent):
    name: ClassVar[str] = "PlanBroken"
    missed: int
    paid: str


def plan_id_for(borrower_id: str, proposed_at: datetime, amounts: Sequence[int], first_on: date) -> str:
    """The same proposal recorded twice (a retried request) is one plan."""
    text = f"{borrower_id}|{proposed_at.isoformat()}|{','.join(map(str, amounts))}|{first_on.isoformat()}"
    return f"PLN-{hashlib.sha256(text.encode()).hexdigest()[:40]}"


@dataclass(slots=True)
class Plan:
    plan_id: str
    case_id: str
    borrower_id: str
    currency: str
    cadence: str
    penalty_continues: bool
    installments: list[PlanInstallment]
    proposed_by: str
    proposed_at: datetime
    proposed_on: date
    #: The largest installment the borrower can carry, None when they stated no finances.
    max_installment_minor: int | None = None
    status: PlanStatus = PlanStatus.PROPOSED
    decided_by: str | None = None
    decided_role: str | None = None
    decision_reason: str | None = None
    decided_on: date | None = None
    activated_at: datetime | None = None
    activated_on: date | None = None
    ended_on: date | None = None
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def propose(
        cls, *, case_id: str, borrower_id: str, total: Money, count: int, first_on: date,
        cadence: str, proposed_at: datetime, proposed_on: date, proposed_by: str,
        custom: Sequence[Money] | None = None, penalty_continues: bool = True,
        max_installment_minor: int | None = None, max_installments: int = 24,
    ) -> Plan:
        """A proposed plan over `total`, checked: 1..`max_installments` installments, the first
        due on or after the day it is proposed, amounts adding up exactly."""
        if proposed_at.tzinfo is None:
            raise InvalidInput(f"plan time {proposed_at.isoformat()} has no UTC offset; give one")
        if not 1 <= count <= max_installments:
            raise InvalidInput(f"a plan has 1 to {max_installments} installments, got {count}")
        if first_on < proposed_on:
            raise InvalidInput(f"first installment date {first_on.isoformat()} is before today "
                               f"{proposed_on.isoformat()}; give today or a later date")
        if cadence not in CADENCES:
            raise InvalidInput(f"unknown cadence {cadence!r}; use one of: {', '.join(CADENCES)}")
        amounts = plan_amounts(total, count, custom)
        dates = plan_dates(first_on, count, cadence)
        rows = [PlanInstallment(i, d, a.minor)
                for i, (d, a) in enumerate(zip(dates, amounts, strict=True), 1)]
        plan = cls(plan_id_for(borrower_id, proposed_at, [r.amount_minor for r in rows], first_on),
                   case_id, borrower_id, total.currency, cadence, penalty_continues, rows,
                   proposed_by, proposed_at, proposed_on, max_installment_minor)
        plan.events.append(PlanProposed(
            plan.plan_id, case_id, borrower_id, proposed_on, str(total.amount), total.currency,
            count, cadence, first_on, penalty_continues, proposed_by, plan.needs_supervisor))
        return plan

    # ----- reading ------------------------------------------------------------------------

    @property
    def total_minor(self) -> int:
        return sum(i.amount_minor for i in self.installments)

    @property
    def paid_minor(self) -> int:
        return sum(i.paid_minor for i in self.installments)

    @property
    def largest_installment_minor(self) -> int:
        return max(i.amount_minor for i in self.installments)

    @property
    def needs_supervisor(self) -> bool:
        """Above what the borrower can afford, or affordability unknown."""
        return (self.max_installment_minor is None
                or self.largest_installment_minor > self.max_installment_minor)

    @property
    def missed(self) -> int:
        return sum(1 for i in self.installments if i.status is InstallmentStatus.MISSED)

    def on_track(self) -> bool:
        """Active with no installment missed: collection holds back to plan reminders."""
        return self.status is PlanStatus.ACTIVE and self.missed == 0

    def next_due(self) -> PlanInstallment | None:
        """The oldest installment not yet paid."""
        return next((i for i in self.installments if i.status is not InstallmentStatus.PAID), None)

    def penalty_frozen_through(self) -> tuple[date, date | None] | None:
        """The days penalty does not accrue because of this plan (first, last; None: open),
        or None. Only a plan agreed with penalty stopped freezes it, from activation to its end."""
        if self.penalty_continues or self.activated_on is None:
            return None
        return self.activated_on, self.ended_on

    # ----- transitions --------------------------------------------------------------------

    def _require(self, *allowed: PlanStatus, to: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(
                f"plan {self.plan_id} is {self.status.value}; only a "
                f"{' or '.join(s.value for s in allowed)} plan can be {to}"
            )

    def approve(self, *, by: str, role: Role, on: date, reason: str | None) -> PlanApproved:
        """proposed -> approved. An agent or above; a supervisor or above, with a reason, for a
        plan above what the borrower can afford (or with affordability unknown)."""
        self._require(PlanStatus.PROPOSED, to="approved")
        if not at_least(role, Role.AGENT):
            raise InvalidInput(f"a {role.value} cannot approve plans; an agent or above can")
        if self.needs_supervisor:
            if not at_least(role, Role.SUPERVISOR):
                largest = format_minor(self.largest_installment_minor, self.currency)
                why = ("what the borrower can afford is unknown" if self.max_installment_minor is None
                       else f"its largest installment {largest} is above the "
                       f"{format_minor(self.max_installment_minor, self.currency)} the borrower can afford")
                raise InvalidInput(f"plan {self.plan_id} needs a supervisor's approval: {why}")
            text = require_reason(reason, "approving a plan above what the borrower can afford")
        else:
            text = (reason or "").strip()
        self.status = PlanStatus.APPROVED
        self.decided_by, self.decided_role, self.decision_reason, self.decided_on = by, role.value, text, on
        event = PlanApproved(self.plan_id, self.case_id, self.borrower_id, on, by, role.value, text)
        self.events.append(event)
        return event

    def reject(self, *, by: str, role: Role, on: date, reason: str | None) -> PlanRejected:
        """proposed -> rejected, with the reason the borrower will be told."""
        self._require(PlanStatus.PROPOSED, to="rejected")
        if not at_least(role, Role.AGENT):
            raise InvalidInput(f"a {role.value} cannot reject plans; an agent or above can")
        text = require_reason(reason, "rejecting a plan")
        self.status = PlanStatus.REJECTED
        self.decided_by, self.decided_role, self.decision_reason, self.decided_on = by, role.value, text, on
        self.ended_on = on
        event = PlanRejected(self.plan_id, self.case_id, self.borrower_id, on, by, role.value, text)
        self.events.append(event)
        return event

    def activate(self, *, at: datetime, on: date) -> PlanActivated:
        """approved -> active: payments from `at` count toward the plan."""
        self._require(PlanStatus.APPROVED, to="activated")
        if at.tzinfo is None:
            raise InvalidInput(f"activation time {at.isoformat()} has no UTC offset; give one")
        self.status = PlanStatus.ACTIVE
        self.activated_at, self.activated_on = at, on
        event = PlanActivated(self.plan_id, self.case_id, self.borrower_id, on)
        self.events.append(event)
        return event

    def count_payments(self, paid_minor: int, today: date) -> list[DomainEvent]:
        """Apply what the borrower paid since activation (in total) to the installments,
        oldest first, and mark each paid, missed (its due date passed before `today`) or due.
        Returns the installment events of this change; the plan's own status is `assess`'s."""
        self._require(PlanStatus.ACTIVE, to="paid toward")
        if paid_minor < 0:
            raise InvalidInput(f"paid amount cannot be negative, got {paid_minor}")
        left = paid_minor
        events: list[DomainEvent] = []
        for inst in self.installments:
            inst.paid_minor = min(inst.amount_minor, left)
            left -= inst.paid_minor
            before = inst.status
            if inst.paid_minor == inst.amount_minor:
                inst.status = InstallmentStatus.PAID
            elif inst.due_on < today:
                inst.status = InstallmentStatus.MISSED
            else:
                inst.status = InstallmentStatus.DUE
            if inst.status is before:
                continue
            if inst.status is InstallmentStatus.PAID:
                events.append(PlanInstallmentPaid(self.plan_id, self.case_id, self.borrower_id,
                                                  today, inst.seq, inst.due_on))
            elif inst.status is InstallmentStatus.MISSED:
                events.append(PlanInstallmentMissed(
                    self.plan_id, self.case_id, self.borrower_id, today, inst.seq, inst.due_on,
                    format_minor(inst.amount_minor - inst.paid_minor, self.currency)))
        self.events.extend(events)
        return events

    def assess(self, paid_minor: int, today: date, missed_limit: int) -> list[DomainEvent]:
        """The daily judgement of an active plan on business date `today`: count the payments,
        then complete it (everything paid) or break it (`missed_limit` installments missed)."""
        if missed_limit < 1:
            raise InvalidInput(f"the missed-installment limit must be at least 1, got {missed_limit}")
        events = self.count_payments(paid_minor, today)
        if all(i.status is InstallmentStatus.PAID for i in self.installments):
            events.append(self.complete(today))
        elif self.missed >= missed_limit:
            events.append(self.break_(today))
        return events

    def complete(self, on: date) -> PlanCompleted:
        """active -> completed: every installment paid."""
        self._require(PlanStatus.ACTIVE, to="completed")
        if any(i.status is not InstallmentStatus.PAID for i in self.installments):
            raise InvalidTransition(f"plan {self.plan_id} has unpaid installments; it cannot complete")
        self.status, self.ended_on = PlanStatus.COMPLETED, on
        event = PlanCompleted(self.plan_id, self.case_id, self.borrower_id, on,
                              format_minor(self.paid_minor, self.currency))
        self.events.append(event)
        return event

    def close_with_case(self, paid_minor: int, on: date) -> list[DomainEvent]:
        """active -> completed because the case closed (nothing overdue is left: paid, or
        partly waived), so the plan has nothing left to collect whatever its schedule shows.
        The payments are counted first, so the record says what was paid toward it."""
        self._require(PlanStatus.ACTIVE, to="completed")
        events = self.count_payments(paid_minor, on)
        self.status, self.ended_on = PlanStatus.COMPLETED, on
        event = PlanCompleted(self.plan_id, self.case_id, self.borrower_id, on,
                              format_minor(self.paid_minor, self.currency))
        self.events.append(event)
        return [*events, event]

    def break_(self, on: date) -> PlanBroken:
        """active -> broken: too many installments missed; normal collection resumes."""
        self._require(PlanStatus.ACTIVE, to="broken")
        self.status, self.ended_on = PlanStatus.BROKEN, on
        event = PlanBroken(self.plan_id, self.case_id, self.borrower_id, on, self.missed,
                           format_minor(self.paid_minor, self.currency))
        self.events.append(event)
        return event
