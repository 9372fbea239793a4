"""A borrower's request for a grace period (宽限期), and a supervisor's decision on it.

A grace period pauses every collection contact and may freeze penalty, so it is relief the
lender gives: the borrower (on the portal) or an agent on their behalf may ask, and a
supervisor or above decides. Approving grants the grace (services/grace.py), possibly for
fewer days than asked; rejecting needs the reason the borrower will be shown.

    requested --approve--> approved
    requested --reject---> rejected
    requested --withdraw-> withdrawn   (the borrower changed their mind, or paid)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import ClassVar

from fairdue.domain.approvals import Role, at_least, require_reason
from fairdue.domain.events import DomainEvent
from fairdue.errors import InvalidInput, InvalidTransition


class GraceRequestStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class _GraceRequestEvent(DomainEvent):
    subject_field: ClassVar[str] = "request_id"
    request_id: str
    borrower_id: str
    on: date


@dataclass(frozen=True, slots=True)
class GraceRequested(_GraceRequestEvent):
    name: ClassVar[str] = "GraceRequested"
    days: int
    requested_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class GraceRequestApproved(_GraceRequestEvent):
    name: ClassVar[str] = "GraceRequestApproved"
    by: str
    role: str
    days: int
    reason: str


@dataclass(frozen=True, slots=True)
class GraceRequestRejected(_GraceRequestEvent):
    name: ClassVar[str] = "GraceRequestRejected"
    by: str
    role: str
    reason: str


@dataclass(frozen=True, slots=True)
class GraceRequestWithdrawn(_GraceRequestEvent):
    name: ClassVar[str] = "GraceRequestWithdrawn"
    by: str


@dataclass
class GraceRequest:
    request_id: str
    borrower_id: str
    case_id: str | None
    days: int
    reason: str
    requested_by: str
    status: GraceRequestStatus = GraceRequestStatus.REQUESTED
    decided_by: str | None = None
    decision_reason: str | None = None
    granted_days: int | None = None
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def ask(cls, *, request_id: str, borrower_id: str, case_id: str | None, days: int,
            most_days: int, reason: str | None, requested_by: str, on: date) -> GraceRequest:
        """A new request: 1 to `most_days` days (the grace the lender allows at most), with
        the borrower's reason (what happened: a hospital stay, a lost job...)."""
        if not 1 <= days <= most_days:
            raise InvalidInput(f"a grace period lasts 1 to {most_days} days; asked for {days}")
        why = require_reason(reason, "asking for a grace period")
        if len(why) > 1000:
            raise InvalidInput("the reason is longer than 1,000 characters; shorten it")
        request = cls(request_id, borrower_id, case_id, days, why, requested_by)
        request.events.append(GraceRequested(request_id, borrower_id, on, days, requested_by, why))
        return request

    def _require_open(self, to: str) -> None:
        if self.status is not GraceRequestStatus.REQUESTED:
            raise InvalidTransition(f"grace request {self.request_id} is {self.status.value}; "
                                    f"only a requested one can be {to}")

    @staticmethod
    def _require_authority(role: Role, what: str) -> None:
        if not at_least(role, Role.SUPERVISOR):
            raise InvalidInput(f"a {role.value} cannot {what} a grace request; a supervisor "
                               "or above decides")

    def approve(self, *, by: str, role: Role, on: date, reason: str | None,
                days: int | None = None) -> GraceRequestApproved:
        """requested -> approved, for `days` (at most what was asked; default all of it)."""
        self._require_open("approved")
        self._require_authority(role, "approve")
        granted = self.days if days is None else days
        if not 1 <= granted <= self.days:
            raise InvalidInput(f"grant 1 to {self.days} days (what the borrower asked for), "
                               f"not {granted}")
        text = (reason or "").strip() or f"asked by the borrower: {self.reason}"
        self.status, self.decided_by, self.decision_reason = GraceRequestStatus.APPROVED, by, text
        self.granted_days = granted
        event = GraceRequestApproved(self.request_id, self.borrower_id, on, by, role.value,
                                     granted, text)
        self.events.append(event)
        return event

    def reject(self, *, by: str, role: Role, on: date, reason: str | None) -> GraceRequestRejected:
        """requested -> rejected, with the reason the borrower is shown."""
        self._require_open("rejected")
        self._require_authority(role, "reject")
        text = require_reason(reason, "rejecting a grace request")
        self.status, self.decided_by, self.decision_reason = GraceRequestStatus.REJECTED, by, text
        event = GraceRequestRejected(self.request_id, self.borrower_id, on, by, role.value, text)
        self.events.append(event)
        return event

    def withdraw(self, *, by: str, on: date) -> GraceRequestWithdrawn:
        """requested -> withdrawn: the borrower no longer asks."""
        self._require_open("withdrawn")
        self.status, self.decided_by = GraceRequestStatus.WITHDRAWN, by
        event = GraceRequestWithdrawn(self.request_id, self.borrower_id, on, by)
        self.events.append(event)
        return event
