"""Simulated borrowers behave as documented: shares, channels, hours, and the seed."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from fairdue.domain.simulation.behaviours import (
    CONVERSATION,
    SEGMENT_SHARES,
    Segment,
    answer_call,
    pick_segment,
    react_to_message,
    time_factor,
)


def test_segment_shares_sum_to_one_and_are_drawn_in_proportion() -> None:
    assert sum(share for _, share in SEGMENT_SHARES) == pytest.approx(1.0)
    for options in CONVERSATION.values():
        assert sum(share for _, share in options) == pytest.approx(1.0)
    rng = random.Random(1)
    drawn = Counter(pick_segment(rng) for _ in range(20_000))
    for segment, share in SEGMENT_SHARES:
        assert drawn[segment] / 20_000 == pytest.approx(share, abs=0.015)


def test_the_same_seed_gives_the_same_story() -> None:
    def story(seed: int) -> list[object]:
        rng = random.Random(seed)
        return [answer_call(rng, pick_segment(rng), local_hour=10) for _ in range(200)]

    assert story(7) == story(7)
    assert story(7) != story(8)


def test_unreachable_borrowers_never_answer_nor_react() -> None:
    rng = random.Random(3)
    for _ in range(500):
        assert answer_call(rng, Segment.UNREACHABLE, local_hour=11).outcome == "not_connected"
        reaction = react_to_message(rng, Segment.UNREACHABLE, "sms", first_notice=True, local_hour=11)
        assert reaction.pay_share == 0 and not reaction.complain


def test_forgetful_borrowers_pay_on_a_gentle_daytime_sms_more_than_on_email_or_at_night() -> None:
    def paid(channel: str, hour: int, first: bool) -> int:
        rng = random.Random(11)
        return sum(react_to_message(rng, Segment.FORGETFUL, channel, first_notice=first,
                                    local_hour=hour).pay_share == 1.0 for _ in range(4000))

    assert paid("sms", 10, True) > paid("email", 10, True)
    assert paid("sms", 10, True) > paid("sms", 23, True)
    assert paid("sms", 10, True) > paid("sms", 10, False)
    # 45 % on the first SMS in daytime, as the table says.
    assert paid("sms", 10, True) / 4000 == pytest.approx(0.45, abs=0.03)


def test_complainers_resent_night_messages_and_firm_tone() -> None:
    def complaints(hour: int, first: bool) -> int:
        rng = random.Random(5)
        return sum(react_to_message(rng, Segment.COMPLAINER, "sms", first_notice=first,
                                    local_hour=hour).complain for _ in range(4000))

    assert complaints(23, True) > complaints(10, True)
    assert complaints(10, False) > complaints(10, True)
    assert time_factor(10) == (1.0, 1.0)


def test_strategic_defaulters_rarely_keep_promises() -> None:
    rng = random.Random(9)
    promises = [o for o in (answer_call(rng, Segment.STRATEGIC, local_hour=10) for _ in range(5000))
                if o.outcome == "ptp"]
    kept = sum(o.keeps_promise for o in promises) / len(promises)
    assert kept == pytest.approx(0.15, abs=0.05)
    assert all(o.promise_days >= 1 for o in promises)
