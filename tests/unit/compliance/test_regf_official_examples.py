"""The official interpretation's own examples for 12 CFR 1006.14(b), with its own dates.

Supplement I to Part 1006 (the CFPB's official interpretation) illustrates the call-frequency
presumptions with dated stories (in 2020, when 1 April was a Wednesday). Each test below
replays one of them through the `us-regf` guard and checks the outcome the comment states.
A call the comment presumes a violation is refused (US-01); one it presumes compliant is
allowed. Times are New York time.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fairdue.domain.compliance import (
    Attempt,
    Channel,
    Consent,
    DebtorInfo,
    Decision,
    Outcome,
    RegfLedger,
)

NY = ZoneInfo("America/New_York")


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2020, month, day, hour, minute, tzinfo=NY)


def call(when: datetime, outcome: Outcome = Outcome.NO_ANSWER, debts: tuple[str, ...] = ("CARD",),
         channel: Channel = Channel.CALL) -> Attempt:
    return Attempt(at=when, channel=channel, debtor="C1", debts=debts, to="+12125550100",
                   agency="A1", outcome=outcome)


def rec(guard: RegfLedger, attempt: Attempt) -> Decision:
    decision = guard.record(attempt)
    assert decision is not None
    return decision


@pytest.fixture
def guard() -> RegfLedger:
    ledger = RegfLedger()
    ledger.record(DebtorInfo("C1", ("America/New_York",)))
    return ledger


def test_comment_14b2ii_1i_eight_calls_in_seven_days(guard: RegfLedger) -> None:
    """Comment 14(b)(2)(ii)-1.i: a call with a limited-content message on Wednesday 1 April,
    two unanswered calls on each of Thursday 2, Friday 3 and Monday 6 April, then a call on
    Tuesday 7 April: eight calls in the seven days from 1 April, presumed a violation."""
    assert rec(guard, call(at(4, 1), Outcome.VOICEMAIL, ("MORTGAGE",))).allowed
    for day in (2, 3, 6):
        for hour in (10, 15):
            assert rec(guard, call(at(4, day, hour), debts=("MORTGAGE",))).allowed
    eighth = guard.judge(call(at(4, 7), debts=("MORTGAGE",)))
    assert not eighth.allowed and eighth.rules == ("US-01",)
    # On Wednesday 8 April the window is 2-8 April and holds six calls: allowed again.
    assert guard.judge(call(at(4, 8), debts=("MORTGAGE",))).allowed


def test_comment_14b2ii_1ii_no_call_for_seven_days_after_a_conversation(guard: RegfLedger) -> None:
    """Comment 14(b)(2)(ii)-1.ii: an unanswered call on Tuesday 11 August, a conversation on
    Friday 14 August: another call about that debt before Friday 21 August is presumed a
    violation."""
    assert rec(guard, call(at(8, 11))).allowed
    assert rec(guard, call(at(8, 14), Outcome.CONVERSATION)).allowed
    for day in range(14, 21):
        refused = guard.judge(call(at(8, day, 16)))
        assert not refused.allowed and refused.rules == ("US-01",), day
    assert guard.judge(call(at(8, 21, 9))).allowed


def test_comment_14b3i_3i_call_back_on_monday(guard: RegfLedger) -> None:
    """Comment 14(b)(3)(i)-3.i: in a conversation on Friday 3 April the consumer says "call
    back on Monday": the call on Monday 6 April, otherwise presumed a violation, is made with
    prior consent and does not count."""
    assert rec(guard, call(at(4, 3), Outcome.CONVERSATION)).allowed
    assert not guard.judge(call(at(4, 6))).allowed  # without the consent
    guard.record(Consent(at=at(4, 3, 10, 5), debtor="C1", debts=("CARD",), scope="call"))
    assert rec(guard, call(at(4, 6))).allowed


def test_comment_14b3i_3ii_a_conversation_ends_the_consent(guard: RegfLedger) -> None:
    """Comment 14(b)(3)(i)-3.ii: the consumer consents without naming a day; the collector
    calls back on Monday 6 April and they talk. A call on Wednesday 8 April without new
    consent counts, and is presumed a violation."""
    assert rec(guard, call(at(4, 3), Outcome.CONVERSATION)).allowed
    guard.record(Consent(at=at(4, 3, 10, 5), debtor="C1", debts=("CARD",), scope="call"))
    assert rec(guard, call(at(4, 6), Outcome.CONVERSATION)).allowed
    wednesday = guard.judge(call(at(4, 8)))
    assert not wednesday.allowed and wednesday.rules == ("US-01",)


def test_comment_14b3i_3iii_consent_by_email_covers_seven_days(guard: RegfLedger) -> None:
    """Comment 14(b)(3)(i)-3.iii: three unanswered calls 1-3 June and an email on 3 June;
    the consumer's emailed consent on Thursday 4 June; eight unanswered calls 8-10 June do not
    count; calls from Thursday 11 June count again."""
    for day in (1, 2, 3):
        assert rec(guard, call(at(6, day))).allowed
    assert rec(guard, call(at(6, 3, 11), Outcome.DELIVERED, channel=Channel.EMAIL)).allowed
    guard.record(Consent(at=at(6, 4, 9), debtor="C1", debts=("CARD",), scope="call"))
    eight = [(8, 9), (8, 11), (8, 14), (9, 9), (9, 11), (9, 14), (10, 9), (10, 11)]
    for day, hour in eight:
        assert rec(guard, call(at(6, day, hour))).allowed, (day, hour)
    # From 11 June the calls count: seven fit in 11-17 June, an eighth does not.
    for hour in range(9, 16):
        assert rec(guard, call(at(6, 11, hour))).allowed, hour
    eighth = guard.judge(call(at(6, 11, 17)))
    assert not eighth.allowed and eighth.rules == ("US-01",)


def test_comment_14b4_2i_twenty_one_unanswered_calls_about_three_debts(guard: RegfLedger) -> None:
    """Comment 14(b)(4)-2.i: a medical debt and card debts A and B; 21 unanswered calls in
    seven days, each counted toward one debt (seven each), are presumed to comply; a 22nd
    call cannot be counted toward any debt with room left."""
    debts = ("MEDICAL", "A", "B")
    for n in range(21):
        assert rec(guard, call(at(11, 9 + n // 3, 9 + n % 3), debts=debts)).allowed, n
    refused = guard.judge(call(at(11, 15, 12), debts=debts))
    assert not refused.allowed and refused.rules == ("US-01",)


def test_comment_14b4_2v_a_general_conversation_counts_toward_either_debt(guard: RegfLedger) -> None:
    """Comment 14(b)(4)-2.v: 9-11 November, two unanswered calls counted toward the medical
    debt and four toward the card; on Thursday 12 November a general conversation about
    neither debt, which may be counted toward either, and then toward one of them."""
    plan = [(9, 10, "MEDICAL"), (9, 11, "CARD"), (10, 10, "MEDICAL"), (10, 11, "CARD"),
            (11, 10, "CARD"), (11, 11, "CARD")]
    for day, hour, debt in plan:
        assert rec(guard, call(at(11, day, hour), debts=(debt,))).allowed
    assert rec(guard, call(at(11, 12), Outcome.CONVERSATION, debts=())).allowed
    # The engine keeps the choice open until a later call needs it: a call about the medical
    # debt is allowed (the conversation is then counted toward the card), and from then on a
    # call about the card falls in the card's seven-day wait.
    assert rec(guard, call(at(11, 13), debts=("MEDICAL",))).allowed
    card = guard.judge(call(at(11, 13, 11), debts=("CARD",)))
    assert not card.allowed and card.rules == ("US-01",)
    assert guard.judge(call(at(11, 19, 9), debts=("CARD",))).allowed


def test_comment_14b3ii_1_unconnected_calls_do_not_count_voicemail_does(guard: RegfLedger) -> None:
    """Comment 14(b)(3)(ii)-1: a busy signal or a number not in service does not connect and
    does not count; a call that reaches voicemail connects and counts."""
    for hour in range(9, 16):
        assert rec(guard, call(at(4, 1, hour), Outcome.VOICEMAIL)).allowed
    assert guard.judge(call(at(4, 1, 17), Outcome.BUSY)).allowed
    assert guard.judge(call(at(4, 1, 17), Outcome.NOT_CONNECTED)).allowed
    assert not guard.judge(call(at(4, 1, 17), Outcome.VOICEMAIL)).allowed
