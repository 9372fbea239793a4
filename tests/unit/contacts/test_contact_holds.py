"""Restrictions: the guard's own stops, and holds no policy can get past (S13-S15)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fairdue.domain.compliance.model import Cease, Dispute, OptOut
from fairdue.domain.compliance.profiles import CN, US_REGF
from fairdue.domain.contact_holds import Restriction, guard_event, hold_refusal
from fairdue.errors import InvalidInput

AT = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)


def test_cease_dispute_and_opt_out_become_the_guards_events() -> None:
    assert isinstance(guard_event(Restriction("cease", None, AT), "B1"), Cease)
    assert isinstance(guard_event(Restriction("dispute", None, AT), "B1"), Dispute)
    opt_out = guard_event(Restriction("opt_out", "sms", AT), "B1")
    assert isinstance(opt_out, OptOut) and opt_out.channel == "sms"
    assert guard_event(Restriction("complaint", None, AT), "B1") is None


def test_a_complaint_holds_every_collection_contact_with_the_profiles_rule() -> None:
    refusal = hold_refusal({"complaint"}, CN)
    assert refusal is not None and not refusal.allowed and refusal.rules == ("CN-12",)
    assert "complaint" in refusal.reasons[0]
    regf = hold_refusal({"grace", "hardship"}, US_REGF)
    assert regf is not None and regf.rules == ("US-14",)
    assert "hardship" in regf.reasons[0] and "grace" in regf.reasons[0]
    assert hold_refusal({"opt_out", "cease"}, CN) is None


def test_a_grace_period_ends_after_its_last_day() -> None:
    grace = Restriction("grace", None, AT, until_on=date(2026, 7, 10))
    assert grace.in_force_on(date(2026, 7, 10)) and not grace.in_force_on(date(2026, 7, 11))


def test_an_opt_out_names_its_channel_and_kinds_are_checked() -> None:
    with pytest.raises(InvalidInput, match="opt-out names the channel"):
        Restriction("opt_out", None, AT)
    with pytest.raises(InvalidInput, match="unknown restriction 'silence'"):
        Restriction("silence", None, AT)
    with pytest.raises(InvalidInput, match="unknown channel 'fax'"):
        Restriction("cease", "fax", AT)
