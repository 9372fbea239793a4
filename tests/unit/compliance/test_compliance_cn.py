"""Worked examples of the `cn` profile (GB/T 45251-2025, CBA 2026 guideline, Civil Code).

The numbers (3 conversations, 6 unanswered dials, 22:00-08:00, 2 collectors) are status S in
the rules document: the tests use the defaults and one test shows they are configurable.
Times are Beijing time unless said otherwise; 13 August 2026 is a Thursday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fairdue.domain.compliance import (
    CN,
    Attempt,
    Cease,
    Channel,
    CnLedger,
    CnParameters,
    Consent,
    DebtorInfo,
    Decision,
    Dispute,
    DisputeAnswered,
    Inbound,
    OptOut,
    Outcome,
    Party,
)
from fairdue.errors import InvalidInput

SH = ZoneInfo("Asia/Shanghai")


def t(hour: int, minute: int = 0, day: int = 13) -> datetime:
    return datetime(2026, 8, day, hour, minute, tzinfo=SH)


def attempt(at: datetime, *, outcome: Outcome = Outcome.NO_ANSWER, channel: Channel = Channel.CALL,
            party: Party = Party.DEBTOR, to: str = "+8613800000001", agency: str = "A1",
            collectors: int | None = None, debts: tuple[str, ...] = ("L1",)) -> Attempt:
    return Attempt(at=at, channel=channel, debtor="C1", debts=debts, party=party, to=to,
                   agency=agency, outcome=outcome, collectors=collectors)


def rec(ledger: CnLedger, event: Attempt) -> Decision:
    decision = ledger.record(event)
    assert decision is not None
    return decision


@pytest.fixture
def guard() -> CnLedger:
    return CnLedger()


# ---- CN-01 quiet window --------------------------------------------------------------------------

@pytest.mark.parametrize(("hour", "minute", "allowed"), [
    (7, 59, False), (8, 0, True), (12, 0, True), (21, 59, True), (22, 0, False), (23, 30, False),
    (3, 0, False),
])
def test_quiet_window_is_ten_at_night_to_eight_in_the_morning(
    guard: CnLedger, hour: int, minute: int, allowed: bool
) -> None:
    """CN-01: no collection contact 22:00-08:00 in the debtor's local time."""
    decision = guard.judge(attempt(t(hour, minute)))
    assert decision.allowed is allowed
    if not allowed:
        assert decision.rules == ("CN-01",)


@pytest.mark.parametrize("channel", [Channel.CALL, Channel.SMS, Channel.EMAIL, Channel.PUSH])
def test_quiet_window_applies_to_messages_too(guard: CnLedger, channel: Channel) -> None:
    assert guard.judge(attempt(t(22, 30), channel=channel, outcome=Outcome.DELIVERED)).rules == (
        "CN-01",
    )


def test_quiet_window_in_the_debtors_own_zone(guard: CnLedger) -> None:
    """Judged in the debtor's local time: 09:30 in Beijing is 07:30 in Urumqi (UTC+6). A debtor
    who may be in either zone cannot be called then; at 10:00 Beijing it is 08:00 in Urumqi."""
    guard.record(DebtorInfo("C1", ("Asia/Shanghai", "Asia/Urumqi")))
    assert guard.judge(attempt(t(9, 30))).rules == ("CN-01",)
    assert guard.judge(attempt(t(10, 0))).allowed


def test_default_zone_is_shanghai(guard: CnLedger) -> None:
    """Replay default: a debtor without a "debtor" line is judged in Asia/Shanghai."""
    assert guard.timezones("C1") == ("Asia/Shanghai",)
    utc_evening = datetime(2026, 8, 13, 14, 30, tzinfo=ZoneInfo("UTC"))  # 22:30 Beijing
    assert not guard.judge(attempt(utc_evening)).allowed


def test_agreed_time_inside_the_quiet_window(guard: CnLedger) -> None:
    """CN-01 "unless the debtor agreed that time": the debtor asks to be called 22:30-23:00
    (after a night shift). Inside that window the call is allowed, outside it is not, and an
    agreement about calls does not open the window to text messages."""
    guard.record(Consent(at=t(15), debtor="C1", scope="call",
                         agreed_window=(t(22, 30), t(23, 0))))
    assert guard.judge(attempt(t(22, 45))).allowed
    assert not guard.judge(attempt(t(22, 15))).allowed
    assert not guard.judge(attempt(t(23, 15))).allowed
    sms = attempt(t(22, 45), channel=Channel.SMS, outcome=Outcome.DELIVERED)
    assert guard.judge(sms).rules == ("CN-01",)


# ---- CN-02 connected conversations -----------------------------------------------------------------

def test_three_conversations_a_day_across_all_agencies(guard: CnLedger) -> None:
    """CN-02: at most 3 proactive connected conversations per debtor per day, counted jointly
    across the lender and every agency. The fourth is refused whoever starts it; a call that
    goes unanswered is not a conversation; the next local day starts afresh."""
    for hour, agency in ((9, "LENDER"), (11, "A1"), (14, "A2")):
        assert rec(guard, attempt(t(hour), outcome=Outcome.CONVERSATION, agency=agency)).allowed
    fourth = guard.judge(attempt(t(16), outcome=Outcome.CONVERSATION, agency="A3"))
    assert fourth.rules == ("CN-02",)
    assert "3 collection conversations" in fourth.reasons[0]
    assert guard.judge(attempt(t(16), outcome=Outcome.NO_ANSWER)).allowed
    assert guard.judge(attempt(t(9, day=14), outcome=Outcome.CONVERSATION)).allowed


def test_inbound_conversation_does_not_count(guard: CnLedger) -> None:
    """Doc "Counting in cn": a call the debtor started does not count toward CN-02."""
    guard.record(Inbound(at=t(9), debtor="C1", debts=("L1",)))
    for hour in (10, 11, 12):
        assert rec(guard, attempt(t(hour), outcome=Outcome.CONVERSATION)).allowed


def test_conversations_with_contacts_do_not_use_the_debtors_three(guard: CnLedger) -> None:
    guard.record(DebtorInfo("C1", ("Asia/Shanghai",), unreachable=True))
    for hour in (9, 10, 11):
        rec(guard, attempt(t(hour), outcome=Outcome.CONVERSATION, party=Party.CONTACT,
                           to=f"+861390000000{hour}"))
    assert guard.judge(attempt(t(12), outcome=Outcome.CONVERSATION)).allowed


def test_judge_planned_refuses_a_fourth_dial(guard: CnLedger) -> None:
    """Before dialling the outcome is unknown: after three conversations a planned call is
    refused because it might connect."""
    for hour in (9, 10, 11):
        rec(guard, attempt(t(hour), outcome=Outcome.CONVERSATION))
    assert guard.judge_planned(attempt(t(12))).rules == ("CN-02",)


# ---- CN-03 unanswered dials ------------------------------------------------------------------------

def test_six_unanswered_dials_per_number_per_day(guard: CnLedger) -> None:
    """CN-03: at most 6 unanswered attempts (no answer, busy, not connected) per day to the
    same number; the seventh is refused; another number, a voicemail or the next day is not
    affected."""
    outcomes = [Outcome.NO_ANSWER, Outcome.BUSY, Outcome.NOT_CONNECTED] * 2
    for n, outcome in enumerate(outcomes):
        assert rec(guard, attempt(t(9 + n), outcome=outcome)).allowed
    seventh = guard.judge(attempt(t(16)))
    assert seventh.rules == ("CN-03",)
    assert guard.judge(attempt(t(16), to="+8613800000002")).allowed
    assert guard.judge(attempt(t(16), outcome=Outcome.CONVERSATION)).allowed
    assert guard.judge(attempt(t(9, day=14))).allowed


def test_unanswered_dials_count_per_local_day(guard: CnLedger) -> None:
    """The day is the debtor's local calendar day: 23:59 UTC on the 12th is already the 13th
    in Beijing."""
    utc = ZoneInfo("UTC")
    for minute in range(6):
        rec(guard, attempt(datetime(2026, 8, 13, 1, minute, tzinfo=utc)))  # 09:0x Beijing
    assert not guard.judge(attempt(datetime(2026, 8, 13, 2, 0, tzinfo=utc))).allowed
    assert guard.judge(attempt(datetime(2026, 8, 14, 0, 30, tzinfo=utc))).allowed


# ---- CN-04 third parties --------------------------------------------------------------------------

def test_contacts_only_when_the_debtor_is_unreachable(guard: CnLedger) -> None:
    """CN-04: a contact (紧急联系人) may be called only when the debtor is unreachable."""
    contact = attempt(t(10), party=Party.CONTACT, to="+8613900000009")
    assert guard.judge(contact).rules == ("CN-04",)
    guard.record(DebtorInfo("C1", ("Asia/Shanghai",), unreachable=True))
    assert guard.judge(contact).allowed


def test_unreachable_after_ten_failed_attempts_over_three_days(guard: CnLedger) -> None:
    """The guard's definition (CnParameters): 10 attempts in a row that did not reach the
    debtor, on at least 3 local days, with no conversation since, make them unreachable; a
    call the debtor makes in resets it."""
    schedule = [(d, h) for d in (13, 14, 15) for h in (9, 11, 13)] + [(16, 9)]
    for n, (day, hour) in enumerate(schedule):
        channel = Channel.SMS if n % 3 == 2 else Channel.CALL
        outcome = Outcome.FAILED if channel is Channel.SMS else Outcome.NO_ANSWER
        assert not guard.unreachable("C1")
        rec(guard, attempt(t(hour, day=day), channel=channel, outcome=outcome))
    assert guard.unreachable("C1")
    assert guard.judge(attempt(t(10, day=16), party=Party.CONTACT, to="+86139")).allowed
    guard.record(Inbound(at=t(11, day=16), debtor="C1"))
    assert not guard.unreachable("C1")


def test_a_contact_who_refuses_is_not_called_again(guard: CnLedger) -> None:
    """CN-04 "stop when the contact refuses": a cease on the contact's number."""
    guard.record(DebtorInfo("C1", ("Asia/Shanghai",), unreachable=True))
    guard.record(Cease(at=t(9), debtor="C1", to="+8613900000009"))
    decision = guard.judge(attempt(t(10), party=Party.CONTACT, to="+8613900000009"))
    assert decision.rules == ("CN-11",)


# ---- CN-06 visits ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("collectors", "allowed"), [(None, False), (1, False), (2, True), (3, True)])
def test_visits_need_two_collectors(guard: CnLedger, collectors: int | None, allowed: bool) -> None:
    """CN-06 (CBA 2026 guideline art. 22): field visits by at least two collectors."""
    visit = attempt(t(10), channel=Channel.VISIT, outcome=Outcome.CONVERSATION,
                    collectors=collectors)
    decision = guard.judge(visit)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.rules == ("CN-06",)


def test_visit_at_night_breaks_two_rules(guard: CnLedger) -> None:
    decision = guard.judge(attempt(t(23), channel=Channel.VISIT, collectors=1))
    assert decision.rules == ("CN-01", "CN-06") and len(decision.reasons) == 2


# ---- CN-11 and CN-05: opt-out, cease, dispute ------------------------------------------------------

def test_opt_out_of_sms_stops_sms_only(guard: CnLedger) -> None:
    """CN-11: no disturbing by a medium the debtor refused."""
    guard.record(OptOut(at=t(9), debtor="C1", channel=Channel.SMS))
    assert guard.judge(attempt(t(10), channel=Channel.SMS)).rules == ("CN-11",)
    assert guard.judge(attempt(t(10))).allowed


def test_cease_names_a_channel_or_stops_all(guard: CnLedger) -> None:
    guard.record(Cease(at=t(9), debtor="C1", channel=Channel.CALL))
    assert guard.judge(attempt(t(10))).rules == ("CN-11",)
    assert guard.judge(attempt(t(10), channel=Channel.EMAIL, outcome=Outcome.DELIVERED)).allowed
    guard.record(Cease(at=t(11), debtor="C1"))
    assert guard.judge(attempt(t(12), channel=Channel.EMAIL)).rules == ("CN-11",)


def test_dispute_pauses_collection_until_answered(guard: CnLedger) -> None:
    guard.record(Dispute(at=t(9), debtor="C1", debts=("L1",)))
    assert guard.judge(attempt(t(10))).rules == ("CN-05",)
    assert guard.judge(attempt(t(10), debts=("L2",))).allowed
    guard.record(DisputeAnswered(at=t(11), debtor="C1"))
    assert guard.judge(attempt(t(12))).allowed


# ---- parameters and profile ----------------------------------------------------------------------

def test_numbers_are_configurable() -> None:
    """Status S numbers live in CnParameters, so a profile with 2 conversations a day is one
    line away."""
    strict = CnLedger(replace(CN, parameters=CnParameters(max_conversations_per_day=2,
                                                          dispute_halts=False)))
    for hour in (9, 10):
        rec(strict, attempt(t(hour), outcome=Outcome.CONVERSATION))
    assert strict.judge(attempt(t(11), outcome=Outcome.CONVERSATION)).rules == ("CN-02",)
    strict.record(Dispute(at=t(12), debtor="C1"))
    assert strict.judge(attempt(t(13))).allowed


def test_profile_records_status_of_every_rule() -> None:
    assert [r.id for r in CN.rules] == [f"CN-{n:02d}" for n in range(1, 13)]
    assert CN.rule("CN-01").status == "S" and CN.rule("CN-11").status == "V"
    assert {r.enforced_by for r in CN.rules} <= {"guard", "text", "records", "process"}


def test_refused_attempt_never_counts(guard: CnLedger) -> None:
    """Doc: an attempt judged not allowed is treated as not made."""
    for hour in (9, 10):
        assert rec(guard, attempt(t(hour), outcome=Outcome.CONVERSATION)).allowed
    lone_visit = attempt(t(11), channel=Channel.VISIT, outcome=Outcome.CONVERSATION)
    assert not rec(guard, lone_visit).allowed  # CN-06: one collector
    assert rec(guard, attempt(t(12), outcome=Outcome.CONVERSATION)).allowed


def test_time_travels_forward_only(guard: CnLedger) -> None:
    rec(guard, attempt(t(12)))
    with pytest.raises(InvalidInput, match="time order"):
        rec(guard, attempt(t(11) - timedelta(minutes=1)))
