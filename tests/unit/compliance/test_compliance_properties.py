"""Property tests: random contact streams through the guard, checked by a brute-force model.

The checkers below are written from the rules document, as simply as possible and without
the engine's counters: they look at the whole list of attempts the guard allowed so far.
- `cn`: the guard's decision on every attempt must be exactly the model's.
- `us-regf`, one debt: exactly the model's too.
- `us-regf`, several debts: whatever the guard allowed must admit some assignment of each
  shared call to one of its debts that keeps every debt within both limits (searched by
  brute force), i.e. no sequence of allowed attempts ever breaks a cap or a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import event as label
from hypothesis import strategies as st

from fairdue.domain.compliance import (
    Attempt,
    Channel,
    CnLedger,
    Consent,
    DebtorInfo,
    Inbound,
    OptOut,
    Outcome,
    Party,
    RegfLedger,
)
from fairdue.domain.compliance.model import POSSIBLE_OUTCOMES

START = datetime(2026, 8, 3, 6, 0, tzinfo=ZoneInfo("UTC"))
ZONE_SETS = [("Asia/Shanghai",), ("Asia/Shanghai", "Asia/Urumqi"), ("America/New_York",),
             ("America/New_York", "America/Los_Angeles")]


@dataclass
class Step:
    gap_minutes: int
    kind: str
    channel: Channel
    debts: tuple[str, ...]
    party: Party
    to: str
    outcome: Outcome
    collectors: int | None


GAPS = [0, 5, 30, 90, 240, 600, 1440]
DENSE_GAPS = [0, 1, 2, 5, 10, 20, 600]
CHANNELS = [Channel.CALL, Channel.CALL, Channel.VOICEMAIL_RINGLESS, Channel.SMS, Channel.VISIT]
CALL_HEAVY = [Channel.CALL] * 6 + [Channel.SMS, Channel.VISIT]


def steps(debt_sets: list[tuple[str, ...]], kinds: list[str],
          gaps: list[int] = GAPS,
          channels: list[Channel] = CHANNELS) -> st.SearchStrategy[list[Step]]:
    channel = st.sampled_from(channels)

    @st.composite
    def one(draw: st.DrawFn) -> Step:
        ch = draw(channel)
        return Step(
            gap_minutes=draw(st.sampled_from(gaps)),
            kind=draw(st.sampled_from(kinds)),
            channel=ch,
            debts=draw(st.sampled_from(debt_sets)),
            party=draw(st.sampled_from([Party.DEBTOR] * 6 + [Party.CONTACT])),
            to=draw(st.sampled_from(["n1", "n2"])),
            outcome=draw(st.sampled_from(POSSIBLE_OUTCOMES[ch])),
            collectors=draw(st.sampled_from([None, 1, 2])),
        )

    return st.lists(one(), min_size=1, max_size=60)


def stream(draw_steps: list[Step], zones: tuple[str, ...],
           start: datetime = START) -> list[object]:
    events: list[object] = [DebtorInfo("C1", zones)]
    at = start
    for s in draw_steps:
        at += timedelta(minutes=s.gap_minutes)
        if s.kind == "inbound":
            events.append(Inbound(at=at, debtor="C1", debts=s.debts))
        elif s.kind == "consent":
            events.append(Consent(at=at, debtor="C1", debts=s.debts, scope="call"))
        elif s.kind == "opt_out":
            events.append(OptOut(at=at, debtor="C1", channel=Channel.SMS))
        else:
            events.append(Attempt(at=at, channel=s.channel, debtor="C1", debts=s.debts,
                                  party=s.party, to=s.to, outcome=s.outcome,
                                  collectors=s.collectors))
    return events


def local(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone))


def day_of(at: datetime, zones: tuple[str, ...]) -> int:
    return local(at, zones[0]).date().toordinal()


def event_note(text: str) -> None:
    """Label the example for `--hypothesis-show-statistics`: shows the caps really bind."""
    label(text)


# ---- cn -----------------------------------------------------------------------------------------------

def cn_model(a: Attempt, allowed: list[Attempt], zones: tuple[str, ...]) -> set[str]:
    """The rules that refuse `a`, given the attempts allowed before it (no consents, stops or
    operator flags are generated, so CN-01/02/03/04/06 are the whole story)."""
    rules: set[str] = set()
    for zone in zones:
        clock = local(a.at, zone).time()
        if clock >= time(22) or clock < time(8):
            rules.add("CN-01")
    if a.party is Party.CONTACT:
        streak: list[Attempt] = []
        for b in allowed:
            if b.party is not Party.DEBTOR:
                continue
            if b.outcome is Outcome.CONVERSATION:
                streak = []
            elif b.outcome in (Outcome.NO_ANSWER, Outcome.BUSY, Outcome.NOT_CONNECTED,
                               Outcome.FAILED, Outcome.VOICEMAIL):
                streak.append(b)
        if len(streak) < 10 or len({day_of(b.at, zones) for b in streak}) < 3:
            rules.add("CN-04")
    if a.channel is Channel.VISIT and (a.collectors or 1) < 2:
        rules.add("CN-06")
    today = day_of(a.at, zones)
    if a.outcome is Outcome.CONVERSATION and a.party is Party.DEBTOR:
        talks = [b for b in allowed if b.party is Party.DEBTOR
                 and b.outcome is Outcome.CONVERSATION and day_of(b.at, zones) == today]
        if len(talks) >= 3:
            rules.add("CN-02")
    unanswered = (Outcome.NO_ANSWER, Outcome.BUSY, Outcome.NOT_CONNECTED)
    if a.outcome in unanswered:
        dials = [b for b in allowed if b.to == a.to and b.outcome in unanswered
                 and day_of(b.at, zones) == today]
        if len(dials) >= 6:
            rules.add("CN-03")
    return rules


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps([("L1",)], ["attempt"], DENSE_GAPS, CALL_HEAVY), st.sampled_from(ZONE_SETS[:2]))
def test_cn_guard_agrees_with_the_brute_force_model(draw_steps: list[Step],
                                                    zones: tuple[str, ...]) -> None:
    ledger = CnLedger()
    allowed: list[Attempt] = []
    morning = datetime(2026, 8, 3, 2, 30, tzinfo=ZoneInfo("UTC"))  # 10:30 in Beijing
    for event in stream(draw_steps, zones, morning):
        if not isinstance(event, Attempt):
            ledger.record(event)  # type: ignore[arg-type]
            continue
        expected = cn_model(event, allowed, zones)
        decision = ledger.record(event)
        assert decision is not None
        assert set(decision.rules) == expected, (event, decision)
        for rule in expected:
            event_note(rule)
        assert decision.allowed is (not expected)
        if decision.allowed:
            allowed.append(event)


# ---- us-regf ----------------------------------------------------------------------------------------

@dataclass
class Item:
    day: int
    candidates: tuple[str, ...]
    counted: bool
    conversation: bool
    flexible: bool


def assignable(items: list[Item], budget: int = 200_000) -> bool | None:
    """Whether each item can be given debts (all candidates, or one when flexible) so that no
    counted call is the 8th in 7 days or falls within 7 days after a conversation. None when
    the search budget runs out."""
    per_debt: dict[str, list[Item]] = {}
    nodes = 0

    def fits(debt: str, item: Item) -> bool:
        if not item.counted:
            return True
        history = per_debt.get(debt, [])
        if any(h.conversation and h.day >= item.day - 6 for h in history):
            return False
        recent = sum(1 for h in history if h.counted and h.day >= item.day - 6)
        return recent + 1 <= 7

    def search(i: int) -> bool | None:
        nonlocal nodes
        nodes += 1
        if nodes > budget:
            return None
        if i == len(items):
            return True
        item = items[i]
        options = [(d,) for d in item.candidates] if item.flexible else [item.candidates]
        for debts in options:
            if all(fits(d, item) for d in debts):
                for d in debts:
                    per_debt.setdefault(d, []).append(item)
                found = search(i + 1)
                for d in debts:
                    per_debt[d].pop()
                if found is not False:
                    return found
        return False

    return search(0)


def regf_items(events: list[object], verdicts: dict[int, bool],
               zones: tuple[str, ...]) -> list[Item]:
    """The calls and conversations the frequency limits see, from the allowed history."""
    items: list[Item] = []
    known: dict[str, None] = {}
    consents: list[tuple[int, Consent]] = []
    for i, event in enumerate(events):
        if isinstance(event, Consent):
            consents.append((i, event))
            known.update(dict.fromkeys(event.debts))
            continue
        if isinstance(event, Inbound):
            cands = event.debts or tuple(known) or ("*",)
            items.append(Item(day_of(event.at, zones), cands, False, True,
                              not event.debts and len(cands) > 1))
            consents = []
            known.update(dict.fromkeys(event.debts))
            continue
        if not isinstance(event, Attempt) or not verdicts.get(i):
            continue
        talk = event.outcome is Outcome.CONVERSATION
        telephone = event.channel in (Channel.CALL, Channel.VOICEMAIL_RINGLESS)
        if event.party is Party.DEBTOR and telephone:
            cands = event.debts or tuple(known) or ("*",)
            flexible = len(cands) > 1 and (not talk or not event.debts)
            day = day_of(event.at, zones)
            connected = event.outcome not in (Outcome.BUSY, Outcome.NOT_CONNECTED,
                                              Outcome.FAILED)
            consented = any(
                day <= day_of(c.at, zones) + 6 and (not c.debts or set(cands) <= set(c.debts))
                for _, c in consents
            )
            if connected and not consented:
                items.append(Item(day, cands, True, talk, flexible))
            elif talk:
                items.append(Item(day, cands, False, True, flexible))
        if talk and event.party is Party.DEBTOR:
            consents = []
        known.update(dict.fromkeys(event.debts))
    return items


def regf_checks(events: list[object], verdicts: dict[int, bool], zones: tuple[str, ...]) -> None:
    opted_out = False
    spoken: set[str] = set()
    for i, event in enumerate(events):
        if isinstance(event, OptOut):
            opted_out = True
        if not isinstance(event, Attempt) or not verdicts.get(i):
            continue
        for zone in zones:
            clock = local(event.at, zone).time()
            assert time(8) <= clock <= time(21), (event, zone)
        if event.channel is Channel.SMS and event.party is Party.DEBTOR:
            assert not opted_out
        if event.party is Party.CONTACT:
            assert event.to not in spoken
            if event.outcome in (Outcome.CONVERSATION, Outcome.DELIVERED):
                spoken.add(event.to)


def run_regf(draw_steps: list[Step], zones: tuple[str, ...]) -> tuple[list[object],
                                                                      dict[int, bool]]:
    ledger = RegfLedger()
    events = stream(draw_steps, zones)
    verdicts: dict[int, bool] = {}
    for i, event in enumerate(events):
        decision = ledger.record(event)  # type: ignore[arg-type]
        if decision is not None:
            verdicts[i] = decision.allowed
    return events, verdicts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps([("A",), ("B",), ("A", "B"), ()],
             ["attempt"] * 8 + ["inbound", "consent", "opt_out"]),
       st.sampled_from(ZONE_SETS[2:]))
def test_regf_allowed_attempts_never_break_a_cap_or_a_window(
    draw_steps: list[Step], zones: tuple[str, ...]
) -> None:
    events, verdicts = run_regf(draw_steps, zones)
    if not all(verdicts.values()):
        event_note("some attempt refused")
    regf_checks(events, verdicts, zones)
    found = assignable(regf_items(events, verdicts, zones))
    assume(found is not None)
    assert found, "the allowed calls admit no assignment within the limits"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps([("A",)], ["attempt"] * 8 + ["inbound"]), st.sampled_from(ZONE_SETS[2:]))
def test_regf_single_debt_refuses_exactly_what_would_break_the_limits(
    draw_steps: list[Step], zones: tuple[str, ...]
) -> None:
    """With one debt there is nothing to choose: a call is refused for US-01 exactly when
    adding it to the allowed history would break a limit."""
    events, verdicts = run_regf(draw_steps, zones)
    ledger = RegfLedger()
    for i, event in enumerate(events):
        if not isinstance(event, Attempt) or event.party is not Party.DEBTOR:
            ledger.record(event)  # type: ignore[arg-type]
            continue
        decision = ledger.judge(event)
        ledger.record(event)
        if event.channel not in (Channel.CALL, Channel.VOICEMAIL_RINGLESS) or event.outcome in (
            Outcome.BUSY, Outcome.NOT_CONNECTED, Outcome.FAILED
        ):
            assert "US-01" not in decision.rules
            continue
        trial = dict(verdicts)
        trial[i] = True
        would_fit = assignable(regf_items(events[: i + 1], trial, zones))
        assert ("US-01" not in decision.rules) is bool(would_fit), (i, event, decision)
        if "US-01" in decision.rules:
            event_note("US-01 refused")
