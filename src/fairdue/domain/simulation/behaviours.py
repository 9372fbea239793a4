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
complaints from complainers). Segments do not depend on any protected attribute: the
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

