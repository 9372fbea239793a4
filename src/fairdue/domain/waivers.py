"""A waiver (减免) of penalty or fees: requested, then approved within the approver's limit.

Limits per role are settings: an agent may approve up to a small amount, a supervisor up to
more, and above that only a manager or an administrator. Every decision carries a reason,
which the audit log keeps with the event. An approved waiver is spread over the case's
installments that still owe that component, oldest due first, and settles that much of them
without money (domain/relief.py): the amount due falls by exactly the amount waived.

    requested --approve--> approved
        \\--reject--> rejected
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from fairdue.domain.approvals import Role, at_least, require_reason
from fairdue.domain.events import DomainEvent
from fairdue.domain.ledger import Component
from fairdue.domain.money import Money, format_minor
from fairdue.errors import InvalidInput, InvalidTransition

WAIVABLE: tuple[Component, ...] = (Component.PENALTY, Component.FEE)


class WaiverStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


def component_of(value: str) -> Component:
    """The component a waiver may reduce: penalty or fee (principal and interest are not
    waived here; that is a restructuring)."""
    try:
        component = Component(value.strip().lower())
    except ValueError:
        component = None
    if component not in WAIVABLE:
        raise InvalidInput(f"cannot waive {value!r}; a waiver reduces penalty or fee")
    assert component is not None
    return component


@dataclass(frozen=True, slots=True)
class WaiverLimits:
    """The most each role may approve, in minor units; above the supervisor's, a manager."""

    agent_minor: int
    supervisor_minor: int

    def __post_init__(self) -> None:
        if self.agent_minor < 0 or self.supervisor_minor < self.agent_minor:
            raise InvalidInput("waiver limits must be 0 <= agent <= supervisor")

    def needed_role(self, amount_minor: int) -> Role:
        """The least senior role that may approve a waiver of `amount_minor`."""
        if amount_minor <= self.agent_minor:
            return Role.AGENT
        if amount_minor <= self.supervisor_minor:
            return Role.SUPERVISOR
        return Role.MANAGER


@dataclass(frozen=True, slots=True)
class Owed:
    """What one installment still owes of the waived component."""

    loan_id: str
    seq: int
    due_on: date
    unpaid_minor: int


@dataclass(frozen=True, slots=True)
class WaiverPart:
    """The part of a waiver settled on one installment."""

    loan_id: str
    seq: int
    amount_minor: int


def spread(amount_minor: int, owed: Sequence[Owed]) -> list[WaiverPart]:
    """The waiver over the installments owing the component, oldest due first (then loan,
    seq); refused when they owe less than the amount."""
    available = sum(o.unpaid_minor for o in owed if o.unpaid_minor > 0)
    if amount_minor > available:
        raise InvalidInput(f"only {available} minor units are owed of this component; "
                           f"cannot waive {amount_minor}")
    parts: list[WaiverPart] = []
    left = amount_minor
    for o in sorted(owed, key=lambda o: (o.due_on, o.loan_id, o.seq)):
        if left == 0:
            break
        take = min(left, o.unpaid_minor)
        if take > 0:
            parts.append(WaiverPart(o.loan_id, o.seq, take))
            left -= take
    return parts


@dataclass(frozen=True, slots=True)
class _WaiverEvent(DomainEvent):
    subject_field: ClassVar[str] = "waiver_id"
    waiver_id: str
    case_id: str
    borrower_id: str
    on: date
    component: str
    amount: str
    currency: str


@dataclass(frozen=True, slots=True)
class WaiverRequested(_WaiverEvent):
    name: ClassVar[str] = "WaiverRequested"
    requested_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class WaiverApproved(_WaiverEvent):
    name: ClassVar[str] = "WaiverApproved"
    by: str
    role: str
    reason: str


@dataclass(frozen=True, slots=True)
class WaiverRejected(_WaiverEvent):
    name: ClassVar[str] = "WaiverRejected"
    by: str
    role: str
    reason: str


def waiver_id_for(borrower_id: str, requested_at: datetime, component: str, amount_minor: int) -> str:
    text = f"{borrower_id}|{requested_at.isoformat()}|{component}|{amount_minor}"
    return f"WVR-{hashlib.sha256(text.encode()).hexdigest()[:40]}"


@dataclass(slots=True)
class Waiver:
    waiver_id: str
    case_id: str
    borrower_id: str
    component: Component
    amount: Money
    reason: str
    requested_by: str
    requested_at: datetime
    status: WaiverStatus = WaiverStatus.REQUESTED
    decided_by: str | None = None
    decided_role: str | None = None
    decision_reason: str | None = None
    decided_on: date | None = None
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def request(cls, *, case_id: str, borrower_id: str, component: Component, amount: Money,
                owed_minor: int, reason: str | None, requested_by: str, requested_at: datetime,
                requested_on: date) -> Waiver:
        """A requested waiver, checked: penalty or fee, a positive amount no more than the case
        owes of it now, and a reason."""
        if component not in WAIVABLE:
            raise InvalidInput(f"cannot waive {component.value}; a waiver reduces penalty or fee")
        if requested_at.tzinfo is None:
            raise InvalidInput(f"request time {requested_at.isoformat()} has no UTC offset; give one")
        if not amount.is_positive:
            raise InvalidInput(f"a waiver's amount must be positive, got {amount.amount}")
        if amount.minor > owed_minor:
            raise InvalidInput(
                f"the case owes {format_minor(owed_minor, amount.currency)} {amount.currency} of "
                f"{component.value}; cannot waive {amount.amount}")
        text = require_reason(reason, "a waiver request")
        waiver = cls(waiver_id_for(borrower_id, requested_at, component.value, amount.minor),
                     case_id, borrower_id, component, amount, text, requested_by, requested_at)
        waiver.events.append(WaiverRequested(
            waiver.waiver_id, case_id, borrower_id, requested_on, component.value,
            str(amount.amount), amount.currency, requested_by, text))
        return waiver

    def _fields(self) -> tuple[str, str, str, str, str, str]:
        return (self.waiver_id, self.case_id, self.borrower_id, self.component.value,
                str(self.amount.amount), self.amount.currency)

    def _require_requested(self, to: str) -> None:
        if self.status is not WaiverStatus.REQUESTED:
            raise InvalidTransition(f"waiver {self.waiver_id} is {self.status.value}; only a "
                                    f"requested waiver can be {to}")

    def approve(self, *, by: str, role: Role, on: date, reason: str | None, limits: WaiverLimits,
                owed_minor: int) -> WaiverApproved:
        """requested -> approved, by a role whose limit covers the amount, with a reason, while
        the case still owes at least the amount of the component."""
        self._require_requested("approved")
        needed = limits.needed_role(self.amount.minor)
        if not at_least(role, needed) or role is Role.COMPLIANCE:
            raise InvalidInput(
                f"a waiver of {self.amount.amount} {self.amount.currency} needs a "
                f"{needed.value} or above to approve it, not a {role.value} (limits: agent "
                f"{format_minor(limits.agent_minor, self.amount.currency)}, supervisor "
                f"{format_minor(limits.supervisor_minor, self.amount.currency)})")
        if self.amount.minor > owed_minor:
            raise InvalidInput(
                f"the case now owes only {format_minor(owed_minor, self.amount.currency)} of "
                f"{self.component.value}; reject this waiver and request a smaller one")
        text = require_reason(reason, "approving a waiver")
        self.status = WaiverStatus.APPROVED
        self.decided_by, self.decided_role, self.decision_reason, self.decided_on = by, role.value, text, on
        w, c, b, comp, amt, cur = self._fields()
        event = WaiverApproved(w, c, b, on, comp, amt, cur, by, role.value, text)
        self.events.append(event)
        return event

    def reject(self, *, by: str, role: Role, on: date, reason: str | None) -> WaiverRejected:
        """requested -> rejected, with a reason."""
        self._require_requested("rejected")
        if not at_least(role, Role.AGENT):
            raise InvalidInput(f"a {role.value} cannot decide waivers; an agent or above can")
        text = require_reason(reason, "rejecting a waiver")
        self.status = WaiverStatus.REJECTED
        self.decided_by, self.decided_role, self.decision_reason, self.decided_on = by, role.value, text, on
        w, c, b, comp, amt, cur = self._fields()
        event = WaiverRejected(w, c, b, on, comp, amt, cur, by, role.value, text)
        self.events.append(event)
        return event
