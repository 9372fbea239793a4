"""Worked examples of the `us-regf` profile (Regulation F, 12 CFR 1006).

Examples marked "comment ..." follow the official interpretation (Supplement I to Part 1006)
of the section named; the dates are ours. Day 1 is Monday 3 August 2026, New York time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fairdue.domain.compliance import (
    US_REGF,
    Attempt,
    Cease,
    Channel,
    Consent,
    DebtorInfo,
    Decision,
    Dispute,
    DisputeAnswered,
    Inbound,
    OptOut,
    Outcome,
    Party,
    RegfLedger,
)
from fairdue.errors import InvalidInput

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")


def t(day: int, hour: int = 10, minute: int = 0, tz: ZoneInfo = NY) -> datetime:
    return datetime(2026, 8, 2, hour, minute, tzinfo=tz) + timedelta(days=day)


def call(day: int, hour: int = 10, minute: int = 0, *, debts: tuple[str, ...] = ("D1",),
         outcome: Outcome = Outcome.NO_ANSWER, channel: Channel = Channel.CALL,
         party: Party = Party.DEBTOR, to: str = "+12125550100", debtor: str = "C1") -> Attempt:
    return Attempt(at=t(day, hour, minute), channel=channel, debtor=debtor, debts=debts,
                   party=party, to=to, agency="A1", outcome=outcome)


def rec(ledger: RegfLedger, attempt: Attempt) -> Decision:
    """Record an attempt and return the guard's decision on it."""
    decision = ledger.record(attempt)
    assert decision is not None
    return decision


@pytest.fixture
def guard() -> RegfLedger:
    ledger = RegfLedger()
    ledger.record(DebtorInfo("C1", ("America/New_York",)))
    return ledger


def test_day_one_is_a_monday() -> None:
    assert t(1).strftime("%A") == "Monday"


# ---- US-01: 7 calls in 7 days --------------------------------------------------------------

def test_seven_calls_monday_to_sunday(guard: RegfLedger) -> None:
    """1006.14(b)(2)(i)(A): more than seven calls within seven consecutive days is presumed a
    violation: calls 1-7 (one a day, days 1-7) are allowed, an eighth on day 7 is not, and on
    day 8 (window days 2-8 holds six calls) a call is allowed again."""
    for day in range(1, 8):
        assert rec(guard, call(day)).allowed
    refused = guard.judge(call(7, 15))
    assert not refused.allowed and refused.rules == ("US-01",)
    assert "7 times" in refused.reasons[0]
    assert guard.judge(call(8)).allowed


def test_seven_calls_on_one_day_block_the_next_six(guard: RegfLedger) -> None:
    """Seven calls on Monday: no call about that debt until the following Monday (day 8)."""
    for hour in range(9, 16):
        assert rec(guard, call(1, hour)).allowed
    for day in range(1, 8):
        assert not guard.judge(call(day, 17)).allowed
    assert guard.judge(call(8, 9)).allowed


def test_refused_call_never_counts(guard: RegfLedger) -> None:
    """An attempt judged not allowed is treated as not made (doc, "Precise semantics")."""
    for day in range(1, 8):
        rec(guard, call(day))
    assert not rec(guard, call(7, 16)).allowed
    # Had the refused call counted, day 8 would see seven calls in days 2-8.
    assert rec(guard, call(8)).allowed


def test_limits_are_per_debt(guard: RegfLedger) -> None:
    """Comment 14(b)(2)-1 ("particular debt"): the limits apply to each debt separately."""
    for hour in range(9, 16):
        rec(guard, call(1, hour, debts=("D1",)))
    assert not guard.judge(call(1, 17, debts=("D1",))).allowed
    assert guard.judge(call(1, 17, debts=("D2",))).allowed


def test_limits_are_per_person_across_numbers(guard: RegfLedger) -> None:
    """Calls to a person count together whatever number is dialled."""
    for hour in range(9, 16):
        rec(guard, call(1, hour, to=f"+1212555010{hour % 10}"))
    assert not guard.judge(call(2, to="+13135550000")).allowed


# ---- US-01: the wait after a telephone conversation ------------------------------------------

def test_conversation_day_is_day_one_next_call_on_day_eight(guard: RegfLedger) -> None:
    """1006.14(b)(2)(i)(B): the date of the conversation is the first day of the seven; a
    conversation on Tuesday (day 2) bars calls through Monday (day 8); Tuesday (day 9) is
    fine. A call later on the day of the conversation is barred too."""
    assert rec(guard, call(2, 10, outcome=Outcome.CONVERSATION)).allowed
    later_that_day = guard.judge(call(2, 15))
    assert not later_that_day.allowed and later_that_day.rules == ("US-01",)
    assert "spoke with you" in later_that_day.reasons[0]
    assert not guard.judge(call(8, 20)).allowed
    assert guard.judge(call(9, 8)).allowed


def test_conversation_the_consumer_started_counts(guard: RegfLedger) -> None:
    """US-01: a conversation the consumer started (they called in) also starts the wait."""
    guard.record(Inbound(at=t(3, 12), debtor="C1", debts=("D1",)))
    assert not guard.judge(call(4)).allowed
    assert guard.judge(call(10)).allowed


def test_conversation_about_two_debts_counts_for_each(guard: RegfLedger) -> None:
    """Comment 14(b)(4)-1.ii: the collector calls about a medical debt, the consumer turns the
    conversation to a credit-card debt: there was a conversation about both, and a call about
    either within the seven days is presumed a violation."""
    rec(guard, call(1, debts=("MEDICAL", "CARD"), outcome=Outcome.CONVERSATION))
    assert not guard.judge(call(3, debts=("MEDICAL",))).allowed
    assert not guard.judge(call(3, debts=("CARD",))).allowed
    assert guard.judge(call(3, debts=("OTHER",))).allowed


# ---- US-03: several debts on one unanswered call ------------------------------------------------

def test_unanswered_call_about_two_debts_counts_for_one(guard: RegfLedger) -> None:
    """Comment 14(b)(4)-2.ii: a call that reaches no one, or a limited-content voicemail, about
    two debts counts toward either of them, not both: fourteen such calls fit in seven days
    (seven per debt), the fifteenth does not."""
    for n in range(14):
        decision = rec(guard, call(1 + n // 2, 9 + n % 2, debts=("A", "B"),
                                   outcome=Outcome.VOICEMAIL))
        assert decision.allowed, n
    assert not guard.judge(call(7, 15, debts=("A", "B"))).allowed
    counted = [assigned for _, _, assigned in guard.frequency_assignments("C1")]
    assert counted.count(("A",)) == 7 and counted.count(("B",)) == 7


def test_engine_moves_a_shared_call_when_a_later_call_needs_room(guard: RegfLedger) -> None:
    """Doc "Precise semantics": the engine chooses the debt that keeps every debt within the
    limit, deciding when a later call needs it. Seven unanswered calls about A and B first
    spread over both; then seven calls about A alone still fit, because the shared calls can
    all be counted toward B; an eighth about A alone does not."""
    for hour in range(9, 16):
        assert rec(guard, call(1, hour, debts=("A", "B"))).allowed
    for hour in range(9, 16):
        assert rec(guard, call(2, hour, debts=("A",))).allowed, hour
    assert not guard.judge(call(2, 17, debts=("A",))).allowed
    assert not guard.judge(call(2, 17, debts=("B",))).allowed  # B holds the 7 shared calls
    counted = [assigned for day, _, assigned in guard.frequency_assignments("C1")]
    assert counted.count(("B",)) == 7 and counted.count(("A",)) == 7


def test_no_particular_debt_counts_toward_one_of_the_debtors_debts(guard: RegfLedger) -> None:
    """`debts: []` means no particular debt: it counts toward one of the debtor's debts."""
    rec(guard, call(1, 9, debts=("A",)))
    rec(guard, call(1, 9, 30, debts=("B",)))
    for hour in range(10, 16):
        assert rec(guard, call(1, hour, debts=())).allowed
    # 2 named + 6 unspecific calls spread over A and B: room remains on both.
    assert guard.judge(call(1, 17, debts=("A",))).allowed
    assert guard.judge(call(1, 17, debts=("B",))).allowed


# ---- US-02: calls not counted -------------------------------------------------------------------

def test_calls_that_never_connect_are_not_counted(guard: RegfLedger) -> None:
    """1006.14(b)(3)(ii): a busy signal or a number not in service does not count."""
    for hour in range(9, 16):
        rec(guard, call(1, hour))
    assert guard.judge(call(1, 17, outcome=Outcome.BUSY)).allowed
    assert guard.judge(call(1, 17, outcome=Outcome.NOT_CONNECTED)).allowed
    assert not guard.judge(call(1, 17, outcome=Outcome.NO_ANSWER)).allowed


def test_ringless_voicemail_counts_sms_and_email_do_not(guard: RegfLedger) -> None:
    """US-03: ringless voicemail is a call; text messages and emails are not."""
    for hour in range(9, 16):
        rec(guard, call(1, hour, channel=Channel.VOICEMAIL_RINGLESS,
                          outcome=Outcome.DELIVERED))
    assert not guard.judge(call(1, 17)).allowed
    assert guard.judge(call(1, 17, channel=Channel.SMS, outcome=Outcome.DELIVERED)).allowed
    assert guard.judge(call(1, 17, channel=Channel.EMAIL, outcome=Outcome.DELIVERED)).allowed


def test_call_back_with_consent_after_a_conversation(guard: RegfLedger) -> None:
    """Comment 14(b)(3)(i): during a conversation on day 1 the consumer asks to be called back
    the next day. The call back on day 2 is placed with direct prior consent and does not count;
    the conversation on it ends the consent and starts a new seven-day wait."""
    rec(guard, call(1, 10, outcome=Outcome.CONVERSATION))
    guard.record(Consent(at=t(1, 10, 5), debtor="C1", debts=("D1",), scope="call"))
    assert rec(guard, call(2, 14, outcome=Outcome.CONVERSATION)).allowed
    assert not guard.judge(call(3, 14)).allowed
    assert guard.judge(call(9, 14)).allowed


def test_consent_lifts_the_seven_in_seven_for_seven_days(guard: RegfLedger) -> None:
    """US-02: consent given on day 1 covers calls on days 1-7 (more than seven of them); on
    day 8 calls count again."""
    guard.record(Consent(at=t(1, 9), debtor="C1", debts=("D1",)))
    plan = [(day, 10) for day in range(1, 8)] + [(7, 11), (7, 12), (7, 13)]
    for day, hour in plan:
        assert rec(guard, call(day, hour)).allowed
    assert guard.frequency_assignments("C1") == []
    assert guard.judge(call(8)).allowed


def test_consent_for_one_debt_does_not_cover_another(guard: RegfLedger) -> None:
    guard.record(Consent(at=t(1, 9), debtor="C1", debts=("D1",)))
    for hour in range(10, 17):
        rec(guard, call(1, hour, debts=("D2",)))
    assert not guard.judge(call(1, 18, debts=("D2",))).allowed
    assert guard.judge(call(1, 18, debts=("D1",))).allowed


def test_consent_is_not_consent_to_an_inconvenient_time(guard: RegfLedger) -> None:
    """Doc "Precise semantics": consent lifts the frequency limits, not the hours."""
    guard.record(Consent(at=t(1, 9), debtor="C1"))
    refused = guard.judge(call(1, 21, 30))
    assert not refused.allowed and refused.rules == ("US-04",)


# ---- US-04: inconvenient times ------------------------------------------------------------------

@pytest.mark.parametrize(("hour", "minute", "allowed"), [
    (7, 59, False), (8, 0, True), (12, 0, True), (21, 0, True), (21, 1, False), (23, 0, False),
])
def test_convenient_hours_are_eight_to_nine(guard: RegfLedger, hour: int, minute: int,
                                            allowed: bool) -> None:
    """1006.6(b)(1)(i): before 8 a.m. and after 9 p.m. local time is inconvenient."""
    decision = guard.judge(call(1, hour, minute))
    assert decision.allowed is allowed
    if not allowed:
        assert decision.rules == ("US-04",)


def test_conflicting_locations_must_be_convenient_in_both(guard: RegfLedger) -> None:
    """Comment 6(b)(1)(i)-2 style: the area code says Eastern time, the address says Pacific.
    A call at 8:30 a.m. Eastern is 5:30 a.m. Pacific: inconvenient. At 11:00 a.m. Eastern
    (8:00 a.m. Pacific) it is convenient in both; at 8:30 p.m. Pacific (11:30 p.m. Eastern)
    it is not."""
    guard.record(DebtorInfo("C1", ("America/New_York", "America/Los_Angeles")))
    assert not guard.judge(call(1, 8, 30)).allowed
    assert guard.judge(call(1, 11, 0)).allowed
    late = Attempt(at=t(1, 20, 30, tz=LA), channel=Channel.CALL, debtor="C1", debts=("D1",))
    assert not guard.judge(late).allowed


def test_email_is_judged_at_send_time(guard: RegfLedger) -> None:
    """1006.6(b)(1)(i): an email or text sent at 11 p.m. is sent at an inconvenient time."""
    email = call(1, 23, channel=Channel.EMAIL, outcome=Outcome.DELIVERED)
    assert guard.judge(email).rules == ("US-04",)


def test_default_zone_is_new_york_for_an_unknown_debtor() -> None:
    """Replay default: a debtor without a "debtor" line is judged in America/New_York."""
    ledger = RegfLedger()
    assert ledger.timezones("nobody") == ("America/New_York",)
    assert not ledger.judge(call(1, 7, 30, debtor="nobody")).allowed


# ---- US-05, US-08, US-10: cease, opt-out, dispute ----------------------------------------------------

def test_cease_stops_every_channel(guard: RegfLedger) -> None:
    """1006.6(c): after a written cease request, no further communication, whatever medium
    the request came by."""
    guard.record(Cease(at=t(1, 9), debtor="C1", channel=Channel.EMAIL))
    for channel in (Channel.CALL, Channel.SMS, Channel.EMAIL, Channel.VISIT):
        decision = guard.judge(call(1, 12, channel=channel))
        assert decision.rules == ("US-05",), channel


def test_cease_of_one_number_stops_only_that_number(guard: RegfLedger) -> None:
    guard.record(Cease(at=t(1, 9), debtor="C1", to="+12125550100"))
    assert not guard.judge(call(1, 12, to="+12125550100")).allowed
    assert guard.judge(call(1, 12, to="+13135550199")).allowed


def test_opt_out_stops_its_medium_only(guard: RegfLedger) -> None:
    """1006.6(e): an opt-out of text messages stops texts; email and calls go on."""
    guard.record(OptOut(at=t(1, 9), debtor="C1", channel=Channel.SMS))
    assert guard.judge(call(1, 12, channel=Channel.SMS)).rules == ("US-08",)
    assert guard.judge(call(1, 12, channel=Channel.EMAIL, outcome=Outcome.DELIVERED)).allowed
    assert guard.judge(call(1, 12)).allowed


def test_dispute_halts_collection_of_that_debt_until_answered(guard: RegfLedger) -> None:
    """1006.38: a dispute halts collection of the disputed debt until it is answered."""
    guard.record(Dispute(at=t(1, 9), debtor="C1", channel=Channel.EMAIL, debts=("D1",)))
    assert guard.judge(call(1, 12, debts=("D1",))).rules == ("US-10",)
    assert guard.judge(call(1, 12, debts=("D2",))).allowed
    guard.record(DisputeAnswered(at=t(2, 9), debtor="C1", debts=("D1",)))
    assert guard.judge(call(2, 12, debts=("D1",))).allowed


# ---- US-06: third parties ---------------------------------------------------------------------

def test_each_third_party_once_and_not_counted_toward_the_debtor(guard: RegfLedger) -> None:
    """1006.10: a location-information call to a third party; each third party once; such
    calls do not count toward the consumer's seven in seven. A call that reached nobody has
    not used the once."""
    neighbour = "+12125559999"
    assert rec(guard, call(1, 9, party=Party.CONTACT, to=neighbour)).allowed
    assert rec(guard, call(1, 10, party=Party.CONTACT, to=neighbour,
                           outcome=Outcome.CONVERSATION)).allowed
    again = guard.judge(call(2, 10, party=Party.CONTACT, to=neighbour))
    assert again.rules == ("US-06",)
    assert guard.judge(call(2, 10, party=Party.CONTACT, to="+12125558888")).allowed
    for hour in range(9, 16):
        assert rec(guard, call(3, hour)).allowed


# ---- the guard itself ---------------------------------------------------------------------------

def test_judge_does_not_record(guard: RegfLedger) -> None:
    for _ in range(20):
        assert guard.judge(call(1)).allowed
    assert guard.frequency_assignments("C1") == []


def test_judge_planned_takes_the_worst_outcome(guard: RegfLedger) -> None:
    """Before dialling nobody knows if the call connects: once seven calls are made, a
    planned call is refused although a busy signal would not have counted."""
    for hour in range(9, 16):
        rec(guard, call(1, hour))
    assert not guard.judge_planned(call(1, 17, outcome=Outcome.BUSY)).allowed


def test_events_out_of_time_order_are_refused(guard: RegfLedger) -> None:
    rec(guard, call(2))
    with pytest.raises(InvalidInput, match="earlier than the last one"):
        rec(guard, call(1))


def test_profile_records_sources_and_status() -> None:
    assert {r.id for r in US_REGF.rules} == {f"US-{n:02d}" for n in range(1, 15)}
    assert all(r.status in ("V", "S") for r in US_REGF.rules)
    assert US_REGF.rule("US-01").status == "V" and US_REGF.rule("US-02").status == "V"
