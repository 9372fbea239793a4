"""What an outcome does to the facts the policy escalates on (S6, S7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fairdue.domain.compliance.model import Outcome
from fairdue.domain.contact_outcomes import (
    ChannelState,
    ContactStanding,
    apply_outcome,
    available_channels,
    days_since_last,
    days_unreachable,
    interpret,
)
from fairdue.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_dispositions_imply_a_conversation_except_a_wrong_party() -> None:
    refused = interpret("refused")
    assert refused.outcome is Outcome.CONVERSATION and refused.refused and refused.reached_borrower
    wrong = interpret("wrong_party")
    assert wrong.outcome is Outcome.CONVERSATION and not wrong.reached_borrower
    assert not wrong.channel_worked
    third = interpret("third_party")
    assert third.channel_worked and not third.reached_borrower
    assert interpret("no_answer").outcome is Outcome.NO_ANSWER


def test_an_unknown_outcome_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match=r"unknown outcome 'shouted'.*no_answer.*refused"):
        interpret("shouted")


def test_failures_in_a_row_and_a_conversation_that_resets_them() -> None:
    call, standing = ChannelState(), ContactStanding()
    for hour in range(3):
        apply_outcome(call, standing, T0 + timedelta(hours=hour), interpret("no_answer"),
                      to_borrower=True)
    assert call.consecutive_failures == 3 and standing.failed_in_a_row == 3
    assert standing.unreachable_since == T0 and standing.last_rpc_at is None
    talked = T0 + timedelta(days=1)
    apply_outcome(call, standing, talked, interpret("ptp"), to_borrower=True)
    assert call.consecutive_failures == 0 and standing.failed_in_a_row == 0
    assert standing.unreachable_since is None and standing.last_rpc_at == talked


def test_a_refusal_counts_the_day_it_is_recorded() -> None:
    call, standing = ChannelState(), ContactStanding()
    apply_outcome(call, standing, T0, interpret("refused"), to_borrower=True)
    apply_outcome(call, standing, T0 + timedelta(days=2), interpret("refused"), to_borrower=True)
    assert standing.refusals == 2


def test_a_late_record_never_moves_the_last_contact_backwards() -> None:
    call, standing = ChannelState(), ContactStanding()
    apply_outcome(call, standing, T0, interpret("conversation"), to_borrower=True)
    apply_outcome(call, standing, T0 - timedelta(days=3), interpret("conversation"), to_borrower=True)
    assert call.last_attempt_at == T0 and standing.last_rpc_at == T0


def test_unreachable_only_when_every_channel_the_borrower_has_failed() -> None:
    available = available_channels(has_phone=True, has_email=True, has_app=False)
    assert available == ("call", "sms", "email")
    standing = ContactStanding()
    states = {name: ChannelState() for name in available}
    for name in ("call", "sms"):
        apply_outcome(states[name], standing, T0, interpret("failed" if name == "sms" else "no_answer"),
                      to_borrower=True)
    day = date(2026, 7, 11)
    assert days_unreachable(day, SHANGHAI, standing, states, available) is None  # email untried
    apply_outcome(states["email"], standing, T0 + timedelta(days=1), interpret("failed"),
                  to_borrower=True)
    assert days_unreachable(day, SHANGHAI, standing, states, available) == 10
    apply_outcome(states["email"], standing, T0 + timedelta(days=2), interpret("delivered"),
                  to_borrower=True)
    assert days_unreachable(day, SHANGHAI, standing, states, available) is None


def test_days_since_last_reads_the_plan_or_the_attempt_whichever_is_later() -> None:
    state = ChannelState(last_planned_on=date(2026, 7, 3), last_attempt_at=T0)
    assert days_since_last(date(2026, 7, 5), SHANGHAI, state) == 2
    assert days_since_last(date(2026, 7, 5), SHANGHAI, None) is None
