"""A grace request's life as worked examples: asked, then approved (maybe for fewer days),
rejected with a reason, or withdrawn; only a supervisor or above decides."""

from __future__ import annotations

from datetime import date

import pytest

from fairdue.domain.approvals import Role
from fairdue.domain.grace_requests import (
    GraceRequest,
    GraceRequestApproved,
    GraceRequested,
    GraceRequestStatus,
)
from fairdue.errors import InvalidInput, InvalidTransition

ON = date(2026, 7, 1)


def _asked(days: int = 7) -> GraceRequest:
    return GraceRequest.ask(request_id="GRQ-1", borrower_id="B1", case_id="C-B1", days=days,
                            most_days=30, reason=" in hospital until 8 July ",
                            requested_by="B1", on=ON)


def test_asking_records_the_reason_and_an_event() -> None:
    request = _asked()
    assert request.status is GraceRequestStatus.REQUESTED
    assert request.reason == "in hospital until 8 July"
    assert request.events == [GraceRequested("GRQ-1", "B1", ON, 7, "B1", "in hospital until 8 July")]


@pytest.mark.parametrize("days", [0, 31])
def test_a_request_asks_for_1_to_the_most_days_allowed(days: int) -> None:
    with pytest.raises(InvalidInput, match="1 to 30 days"):
        _asked(days)


def test_a_request_needs_a_reason() -> None:
    with pytest.raises(InvalidInput, match="needs a reason"):
        GraceRequest.ask(request_id="GRQ-1", borrower_id="B1", case_id=None, days=3,
                         most_days=30, reason="  ", requested_by="B1", on=ON)


def test_a_supervisor_grants_fewer_days_than_asked() -> None:
    request = _asked(7)
    event = request.approve(by="sue", role=Role.SUPERVISOR, on=ON, reason="5 days is enough",
                            days=5)
    assert (request.status, request.granted_days) == (GraceRequestStatus.APPROVED, 5)
    assert event == GraceRequestApproved("GRQ-1", "B1", ON, "sue", "supervisor", 5,
                                         "5 days is enough")


def test_a_supervisor_cannot_grant_more_than_asked() -> None:
    with pytest.raises(InvalidInput, match="grant 1 to 7 days"):
        _asked(7).approve(by="sue", role=Role.SUPERVISOR, on=ON, reason=None, days=8)


def test_an_agent_does_not_decide() -> None:
    with pytest.raises(InvalidInput, match="a supervisor or above decides"):
        _asked().approve(by="ann", role=Role.AGENT, on=ON, reason=None)


def test_a_rejection_needs_the_reason_the_borrower_will_read() -> None:
    request = _asked()
    with pytest.raises(InvalidInput, match="needs a reason"):
        request.reject(by="sue", role=Role.SUPERVISOR, on=ON, reason="")
    request.reject(by="sue", role=Role.ADMIN, on=ON, reason="a plan fits better: call us")
    assert request.status is GraceRequestStatus.REJECTED


def test_a_decided_request_is_not_decided_again() -> None:
    request = _asked()
    request.withdraw(by="B1", on=ON)
    with pytest.raises(InvalidTransition, match="is withdrawn"):
        request.approve(by="sue", role=Role.SUPERVISOR, on=ON, reason=None)
