"""Amounts and dates formatted for the language with Babel's locale data, and the fixed
phrases chosen by the profile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from fairdue.adapters.message_format import format_money, template_values
from fairdue.domain.message_context import TEMPLATE_FIELDS, LenderContact, MessageContext
from fairdue.domain.money import Money
from fairdue.errors import InvalidInput

ContextMaker = Callable[..., MessageContext]


def test_chinese_amounts_have_the_yuan_sign_and_dates_the_long_form(make_context: ContextMaker) -> None:
    values = template_values(make_context(), "zh-CN")
    assert values["amount_due"] == "¥1,234.56"
    assert values["principal"] == "¥1,000.00"
    assert values["penalty"] == "¥4.56"
    assert values["oldest_due_date"] == "2026年7月1日"
    assert values["days_overdue"] == "5"


def test_english_amounts_say_which_yuan_and_dates_are_spelt_out(make_context: ContextMaker) -> None:
    values = template_values(make_context(), "en")
    assert values["amount_due"] == "CN¥1,234.56"
    assert values["interest"] == "CN¥200.00"
    assert values["oldest_due_date"] == "July 1, 2026"


def test_counts_are_grouped_and_other_currencies_keep_their_sign(make_context: ContextMaker) -> None:
    context = make_context(days_overdue=1234, principal=Money.of("1.00", "USD"),
                           interest=Money.zero("USD"), fees=Money.zero("USD"),
                           penalty=Money.zero("USD"), oldest_due_date=date(2026, 12, 31))
    assert template_values(context, "en")["days_overdue"] == "1,234"
    assert template_values(context, "en")["amount_due"] == "$1.00"
    assert template_values(context, "en")["oldest_due_date"] == "December 31, 2026"
    assert format_money(Money.of("1234567.8"), "zh-CN") == "¥1,234,567.80"


def test_the_borrower_is_addressed_by_the_masked_name_only(make_context: ContextMaker) -> None:
    assert template_values(make_context(borrower_name="张三丰"), "zh-CN")["borrower_name"] == "张**"
    assert make_context(borrower_name="John Smith").borrower_name == "J*** S****"


def test_the_amount_due_is_the_sum_of_its_parts(make_context: ContextMaker) -> None:
    assert make_context().amount_due == Money.of("1234.56")
    with pytest.raises(InvalidInput, match="mixes currencies"):
        make_context(fees=Money.of("1", "USD"))


def test_every_field_is_given_as_text(make_context: ContextMaker) -> None:
    values = template_values(make_context(), "zh-CN")
    assert set(values) == set(TEMPLATE_FIELDS)
    assert all(isinstance(v, str) for v in values.values())


def test_opt_out_and_disclosure_only_where_the_profile_requires_them(make_context: ContextMaker) -> None:
    cn = template_values(make_context(), "en")
    assert cn["opt_out"] == "" and cn["collector_disclosure"] == ""
    us = template_values(make_context(profile="us-regf"), "en")
    assert us["opt_out"] == "Reply STOP to stop messages here."
    assert "debt collector" in us["collector_disclosure"]
    assert "attempting to collect a debt" in us["collector_disclosure"]


def test_the_lender_may_word_the_opt_out_line_itself(make_context: ContextMaker,
                                                     lender: LenderContact) -> None:
    lender = replace(lender, opt_out_text="Text STOP to 12345 to opt out.")
    values = template_values(make_context(profile="us-regf", lender=lender), "en")
    assert values["opt_out"] == "Text STOP to 12345 to opt out."


def test_repayment_channels_name_the_app_the_account_and_the_hotline(make_context: ContextMaker) -> None:
    zh = template_values(make_context(), "zh-CN")["repayment_channels"]
    assert zh == "微众银行App、银行转账（微众银行还款专户 6222 1234 5678）或热线95384"
    en = template_values(make_context(), "en")["repayment_channels"]
    assert en == "the 微众银行 app, bank transfer (微众银行还款专户, 6222 1234 5678) or our hotline 95384"


def test_plan_and_visit_facts_are_shown_in_the_borrowers_own_clock(make_context: ContextMaker) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from fairdue.domain.message_context import PlanDue, Slot

    york = ZoneInfo("America/New_York")
    slots = (Slot(datetime(2026, 12, 1, 14, tzinfo=york), datetime(2026, 12, 1, 15, tzinfo=york)),
             Slot(datetime(2026, 12, 2, 9, 30, tzinfo=york), datetime(2026, 12, 2, 10, 30, tzinfo=york)))
    context = make_context(plan_due=PlanDue(date(2026, 12, 5), Money.of("340.17")),
                           visit=slots[0], visit_slots=slots)
    zh, en = template_values(context, "zh-CN"), template_values(context, "en")
    assert (zh["plan_due_date"], zh["plan_amount"]) == ("2026年12月5日", "¥340.17")
    assert zh["visit_time"] == "12月1日 14:00-15:00"
    assert zh["visit_slots"] == "12月1日 14:00、12月2日 09:30"
    assert en["visit_time"] == "Tue Dec 1, 2:00 PM-3:00 PM"
    assert en["visit_slots"] == "Tue Dec 1, 2:00 PM; Wed Dec 2, 9:30 AM"
    plain = template_values(make_context(), "zh-CN")
    assert plain["plan_due_date"] == plain["visit_time"] == plain["visit_slots"] == ""
