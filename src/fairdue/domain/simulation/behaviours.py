"""How simulated borrowers react to collection: segments and their documented probabilities.

A simulation is only as honest as its assumptions, so they are all here, in one table a
reader can check and change, with no I/O, no clock and no global random state: every draw
comes from the `random.Random` the caller passes in, so a seed fixes the whole story.

Segments (shares of the borrowers who fall behind, typical of consumer micro-lending):

| segment | share | who they are |
|---|---|---|
| forgetful | 40 % | forgot; pays on the first reminder, most often the first SMS |
| short | 28 % | short of money; asks for a plan or promises a part, keeps about half |
| strategic | 12 % | could pay, stalls: refuses, promises and breaks the promise |
| unreachable | 10 % | number and address dead: messages fail, calls do not connect |
| disputer | 5 % | says the debt is wrong: disputes it on the first conversation |
| complainer | 5 % | complains about being contacted, more so at unsociable hours |

Reactions depend on the channel (an SMS is read more than an email), the borrower's local
time of day (a message at 07:00 or 21:00 is read less and resented more), and the tone of
the message (the first notice is gentle; later reminders are firmer and draw more
complaints from complainers). Field visits have their own tables below: who answers the
SMS offering visit times, who is at home, what a visit ends in, and the supervisor's rule
for deciding proposals (`decide_visit`). Segments do not depend on any protected attribute: the
fairness report of a simulated book should find no disparity that the policy did not make.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Segment(StrEnum):
    FORGETFUL = "forgetful"
    SHORT = "short"
    STRATEGIC = "strategic"
    UNREACHABLE = "unreachable"
    DISPUTER = "disputer"
    COMPLAINER = "complainer"


SEGMENT_SHARES: tuple[tuple[Segment, float], ...] = (
    (Segment.FORGETFUL, 0.40), (Segment.SHORT, 0.28), (Segment.STRATEGIC, 0.12),
    (Segment.UNREACHABLE, 0.10), (Segment.DISPUTER, 0.05), (Segment.COMPLAINER, 0.05),
)

#: Chance that a borrower pays everything overdue on the day a message reaches them, by
#: segment and channel, for a message read in daytime with a gentle (first-notice) tone.
PAY_ON_MESSAGE: dict[Segment, dict[str, float]] = {
    Segment.FORGETFUL: {"sms": 0.45, "push": 0.30, "email": 0.15},
    Segment.SHORT: {"sms": 0.03, "push": 0.02, "email": 0.01},
    Segment.STRATEGIC: {"sms": 0.01, "push": 0.01, "email": 0.005},
    Segment.UNREACHABLE: {"sms": 0.0, "push": 0.0, "email": 0.0},
    Segment.DISPUTER: {"sms": 0.01, "push": 0.01, "email": 0.01},
    Segment.COMPLAINER: {"sms": 0.05, "push": 0.04, "email": 0.02},
}
#: A firmer reminder (anything but the first notice) moves forgetful payers less: whoever
#: was going to pay on a gentle nudge has mostly already paid.
FIRM_TONE_PAY_FACTOR = 0.7
#: Chance a complainer complains about one message (gentle tone, daytime).
COMPLAIN_ON_MESSAGE = 0.06
FIRM_TONE_COMPLAINT_FACTOR = 1.5
#: Share of short-of-money borrowers who, on reading a message, pay a part (30-60 %).
PART_PAY_ON_MESSAGE = 0.06

#: Chance a call connects to someone, by segment.
ANSWER_CALL: dict[Segment, float] = {
    Segment.FORGETFUL: 0.60, Segment.SHORT: 0.55, Segment.STRATEGIC: 0.35,
    Segment.UNREACHABLE: 0.0, Segment.DISPUTER: 0.50, Segment.COMPLAINER: 0.50,
}
#: Of the connected calls, how many reach someone else (a family member, a wrong number).
WRONG_PARTY = 0.05

#: What a conversation with the borrower ends in, by segment (shares sum to 1).
CONVERSATION: dict[Segment, tuple[tuple[str, float], ...]] = {
    Segment.FORGETFUL: (("paid", 0.55), ("ptp", 0.40), ("refused", 0.05)),
    Segment.SHORT: (("ptp", 0.45), ("plan", 0.25), ("paid_part", 0.15), ("refused", 0.15)),
    Segment.STRATEGIC: (("refused", 0.50), ("ptp", 0.40), ("paid", 0.10)),
    Segment.UNREACHABLE: (("ptp", 1.0),),  # never connected; kept for completeness
    Segment.DISPUTER: (("dispute", 0.60), ("refused", 0.20), ("ptp", 0.20)),
    Segment.COMPLAINER: (("complaint", 0.35), ("ptp", 0.40), ("refused", 0.25)),
}
#: Chance a promise is kept (paid in full by its date), by segment.
KEEP_PROMISE: dict[Segment, float] = {
    Segment.FORGETFUL: 0.90, Segment.SHORT: 0.55, Segment.STRATEGIC: 0.15,
    Segment.UNREACHABLE: 0.50, Segment.DISPUTER: 0.50, Segment.COMPLAINER: 0.60,
}
#: Unanswered calls: how they end.
NO_CONTACT: tuple[tuple[str, float], ...] = (("no_answer", 0.70), ("busy", 0.20),
                                             ("voicemail", 0.10))
#: Share of an unreachable borrower's failed messages the provider calls permanent
#: (an invalid number, a hard bounce): the contact point is then marked invalid.
PERMANENT_FAILURE = 0.5


def time_factor(local_hour: int) -> tuple[float, float]:
    """(how much more or less a message is acted on, how much more it is resented) by the
    borrower's local hour: daytime 1 and 1, evening less read and more resented, early
    morning or night least read and most resented."""
    if 9 <= local_hour < 20:
        return 1.0, 1.0
    if 20 <= local_hour < 22 or 8 <= local_hour < 9:
        return 0.7, 1.5
    return 0.4, 2.5


def pick_segment(rng: random.Random) -> Segment:
    """A borrower's segment, drawn with the shares above."""
    draw = rng.random()
    total = 0.0
    for segment, share in SEGMENT_SHARES:
        total += share
        if draw < total:
            return segment
    return SEGMENT_SHARES[-1][0]


def _choose(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    draw = rng.random()
    total = 0.0
    for name, share in options:
        total += share
        if draw < total:
            return name
    return options[-1][0]


@dataclass(frozen=True, slots=True)
class MessageReaction:
    """What a borrower does on reading a message: pay (a share of what is overdue, 1.0 =
    all of it), complain, or nothing (share 0, complain False)."""

    pay_share: float = 0.0
    complain: bool = False


def react_to_message(rng: random.Random, segment: Segment, channel: str, *, first_notice: bool,
                     local_hour: int) -> MessageReaction:
    """A message delivered to the borrower: do they pay, complain, or do nothing?"""
    if segment is Segment.UNREACHABLE:
        return MessageReaction()
    read, resent = time_factor(local_hour)
    tone_pay = 1.0 if first_notice else FIRM_TONE_PAY_FACTOR
    tone_complaint = 1.0 if first_notice else FIRM_TONE_COMPLAINT_FACTOR
    if segment is Segment.COMPLAINER and rng.random() < COMPLAIN_ON_MESSAGE * resent * tone_complaint:
        return MessageReaction(complain=True)
    if rng.random() < PAY_ON_MESSAGE[segment].get(channel, 0.0) * read * tone_pay:
        return MessageReaction(pay_share=1.0)
    if segment is Segment.SHORT and rng.random() < PART_PAY_ON_MESSAGE * read:
        return MessageReaction(pay_share=round(rng.uniform(0.3, 0.6), 2))
    return MessageReaction()


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How a call ended: the outcome to record (`no_answer`, `ptp`, `refused`, ...), and
    what follows: a payment today (share of what is overdue), a promise (share, days to its
    date, whether it will be kept), a plan asked for, a complaint."""

    outcome: str
    party: str = "debtor"
    pay_share: float = 0.0
    promise_share: float = 0.0
    promise_days: int = 0
    keeps_promise: bool = False
    wants_plan: bool = False
    complain: bool = False


def answer_call(rng: random.Random, segment: Segment, *, local_hour: int) -> CallOutcome:
    """A collector calls: who answers, and what the conversation ends in."""
    read, _ = time_factor(local_hour)
    if rng.random() >= ANSWER_CALL[segment] * read:
        if segment is Segment.UNREACHABLE:
            return CallOutcome("not_connected")
        return CallOutcome(_choose(rng, NO_CONTACT))
    if rng.random() < WRONG_PARTY:
        return CallOutcome("wrong_party")  # the borrower's number, someone else answered
    result = _choose(rng, CONVERSATION[segment])
    if result == "paid":
        return CallOutcome("paid", pay_share=1.0)
    if result == "paid_part":
        return CallOutcome("hardship" if rng.random() < 0.3 else "conversation",
                           pay_share=round(rng.uniform(0.3, 0.6), 2))
    if result == "ptp":
        share = 1.0 if segment is not Segment.SHORT else round(rng.uniform(0.3, 0.7), 2)
        return CallOutcome("ptp", promise_share=share, promise_days=rng.randint(1, 7),
                           keeps_promise=rng.random() < KEEP_PROMISE[segment])
    if result == "plan":
        return CallOutcome("conversation", wants_plan=True)
    if result == "complaint":
        return CallOutcome("conversation", complain=True)
    return CallOutcome(result)  # refused, dispute



# ----- field visits (S5-S14) ---------------------------------------------------------------
#
# A visit the policy proposed goes to a simulated supervisor the next morning; one approved
# is offered the next day's configured times by SMS; the borrower who reads the SMS answers
# it (or not); on the booked day the crew goes and records what happened.

#: Chance a borrower who reads the SMS offering visit times picks one on the portal, by
#: segment. The unreachable never read it (the SMS fails); the strategic and complainers
#: mostly ignore it; those who forgot or are short of money mostly answer.
CONFIRM_VISIT: dict[Segment, float] = {
    Segment.FORGETFUL: 0.80, Segment.SHORT: 0.70, Segment.STRATEGIC: 0.35,
    Segment.UNREACHABLE: 0.0, Segment.DISPUTER: 0.40, Segment.COMPLAINER: 0.30,
}
#: Offers of times a visit gets: an offer whose times have all passed unanswered (the SMS
#: unread, unanswered, or blocked by the guard) is offered again the next morning, until
#: this many offers went unanswered; then the supervisor cancels the visit.
VISIT_OFFERS = 2
#: Chance the borrower is at home at the agreed time, by segment (they chose the time).
AT_HOME: dict[Segment, float] = {
    Segment.FORGETFUL: 0.90, Segment.SHORT: 0.85, Segment.STRATEGIC: 0.60,
    Segment.UNREACHABLE: 0.50, Segment.DISPUTER: 0.75, Segment.COMPLAINER: 0.70,
}
#: What a visit with the borrower at home ends in, by segment (shares sum to 1): a promise
#: to pay, a repayment plan agreed on the spot, or a refusal.
VISIT_SOLUTION: dict[Segment, tuple[tuple[str, float], ...]] = {
    Segment.FORGETFUL: (("promise", 0.85), ("plan", 0.10), ("refusal", 0.05)),
    Segment.SHORT: (("plan", 0.55), ("promise", 0.35), ("refusal", 0.10)),
    Segment.STRATEGIC: (("refusal", 0.55), ("promise", 0.40), ("plan", 0.05)),
    Segment.UNREACHABLE: (("promise", 0.50), ("plan", 0.30), ("refusal", 0.20)),
    Segment.DISPUTER: (("refusal", 0.70), ("promise", 0.20), ("plan", 0.10)),
    Segment.COMPLAINER: (("refusal", 0.50), ("promise", 0.35), ("plan", 0.15)),
}
#: Chance a promise made face to face is kept, by segment: a little better than on the phone.
KEEP_VISIT_PROMISE: dict[Segment, float] = {
    segment: min(1.0, kept + 0.10) for segment, kept in KEEP_PROMISE.items()}
#: What the borrower says the arrears come from, by segment (written in the record, S10).
ARREARS_REASON: dict[Segment, str] = {
    Segment.FORGETFUL: "forgot the due date",
    Segment.SHORT: "income fell short of expenses this quarter",
    Segment.STRATEGIC: "says other bills come first",
    Segment.UNREACHABLE: "changed phone number and moved; lost track of the loan",
    Segment.DISPUTER: "believes the amount is wrong",
    Segment.COMPLAINER: "unhappy with how often reminders arrived",
}


def answer_visit_offer(rng: random.Random, segment: Segment, slots: int) -> int | None:
    """A borrower reads the SMS offering `slots` visit times: the number (1-based) of the
    time they pick on the portal, or None when they do not answer."""
    if slots < 1 or rng.random() >= CONFIRM_VISIT[segment]:
        return None
    return rng.randint(1, slots)


@dataclass(frozen=True, slots=True)
class VisitOutcome:
    """What happened at the door: the record's reaction and solution (`domain.visits`
    values), and for a promise its share of what is due, days to its date and whether it
    will be kept."""

    reaction: str
    solution: str
    promise_share: float = 0.0
    promise_days: int = 0
    keeps_promise: bool = False


#: The reaction written for each solution: cooperative when something was agreed,
#: upset at a refusal, absent when nobody opened.
_REACTION = {"promise": "cooperative", "plan": "cooperative", "refusal": "upset",
             "not_at_home": "absent"}


def visit_outcome(rng: random.Random, segment: Segment) -> VisitOutcome:
    """The crew rings the bell at the agreed time: who is there, and what is agreed."""
    if rng.random() >= AT_HOME[segment]:
        return VisitOutcome(_REACTION["not_at_home"], "not_at_home")
    solution = _choose(rng, VISIT_SOLUTION[segment])
    if solution == "promise":
        share = 1.0 if segment is not Segment.SHORT else round(rng.uniform(0.4, 0.8), 2)
        return VisitOutcome(_REACTION[solution], solution, promise_share=share,
                            promise_days=rng.randint(1, 7),
                            keeps_promise=rng.random() < KEEP_VISIT_PROMISE[segment])
    if solution == "refusal" and segment is Segment.STRATEGIC and rng.random() < 0.3:
        return VisitOutcome("hostile", solution)
    return VisitOutcome(_REACTION[solution], solution)


@dataclass(frozen=True, slots=True)
class VisitDecision:
    """A supervisor's decision on a proposed visit: approve (True), reject (False) or leave
    it for a later day (None, today's capacity is used up), with the note written."""

    approve: bool | None
    note: str


def decide_visit(*, grounds: str, reason: str, case_open: bool, hold: str | None,
                 plan_active: bool, amount_due_minor: int, large_amount_minor: int | None,
                 crew_in_city: bool, approvals_left: int) -> VisitDecision:
    """The simulated supervisor's rule, in order: reject when the grounds no longer hold
    (the case closed, a hold such as a dispute or complaint is in force, a repayment plan is
    active, or an S5 visit's amount fell under the policy's threshold) or when no field crew
    covers the borrower's city; otherwise approve while today's capacity lasts, and leave
    the rest proposed for the next day (most urgent first: the caller's order)."""
    if not case_open:
        return VisitDecision(False, "the case is no longer open")
    if hold is not None:
        return VisitDecision(False, f"a {hold} hold is in force: no visit while it lasts")
    if plan_active:
        return VisitDecision(False, "a repayment plan is active (S13)")
    if grounds == "S5" and large_amount_minor is not None and amount_due_minor < large_amount_minor:
        return VisitDecision(False, "S5 no longer holds: the amount due is under the threshold")
    if not crew_in_city:
        return VisitDecision(False, "no field crew covers the borrower's city")
    if approvals_left <= 0:
        return VisitDecision(None, "today's visit capacity is used up")
    return VisitDecision(True, f"grounds checked and hold: {reason}")
