"""A `MessageContext` as the text values a template sees, formatted for its language (Babel).

zh-CN: `¥1,234.56`, `2026年7月1日`; en: `CN¥1,234.56`, `July 1, 2026` (Babel's locale data,
long date format). Fixed phrases (the repayment channels sentence, the default opt-out
line, the debt-collector disclosure) are kept here per language, so the templates stay
short and a phrase a rule depends on is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal

from fairdue.domain.message_context import (
    MessageContext,
    Slot,
    requires_collector_disclosure,
    requires_opt_out,
)
from fairdue.domain.money import Money

DEFAULT_LANGUAGE = "zh-CN"


@dataclass(frozen=True, slots=True)
class _Phrases:
    babel_locale: str
    repayment_channels: str   # str.format with app, account_name, account_number, hotline
    opt_out: str
    collector_disclosure: str
    slot_separator: str   # between the appointment times offered
    slot_start: str       # CLDR patterns of an appointment's start and end
    slot_end: str


PHRASES: dict[str, _Phrases] = {
    "zh-CN": _Phrases(
        babel_locale="zh_CN",
        repayment_channels="{app}App、银行转账（{account_name} {account_number}）或热线{hotline}",
        opt_out="回复TD退订此渠道消息。",
        collector_disclosure="本消息由债务催收方发送，用于催收债务。",
        slot_separator="、",
        slot_start="M月d日 HH:mm",
        slot_end="HH:mm",
    ),
    "en": _Phrases(
        babel_locale="en",
        repayment_channels="the {app} app, bank transfer ({account_name}, {account_number}) "
                           "or our hotline {hotline}",
        opt_out="Reply STOP to stop messages here.",
        collector_disclosure="This message is from a debt collector attempting to collect a debt.",
        slot_separator="; ",
        slot_start="EEE MMM d, h:mm a",
        slot_end="h:mm a",
    ),
}

LANGUAGES: tuple[str, ...] = tuple(PHRASES)

# Parsed once: Babel parses a locale name on every call otherwise, which was most of the
# cost of rendering a message.
_LOCALES: dict[str, Locale] = {lang: Locale.parse(p.babel_locale) for lang, p in PHRASES.items()}


def format_money(amount: Money, language: str) -> str:
    return _money(amount.amount, amount.currency, language)


# Babel's formatting is the main cost of rendering a message, and the same values come back
# message after message (zero fees, small penalties, a handful of due dates and day counts).
@lru_cache(maxsize=65536)
def _money(amount: Decimal, currency: str, language: str) -> str:
    return format_currency(amount, currency, locale=_LOCALES[language])


@lru_cache(maxsize=4096)
def _number(value: int, language: str) -> str:
    return format_decimal(value, locale=_LOCALES[language])


@lru_cache(maxsize=4096)
def _long_date(day: date, language: str) -> str:
    return format_date(day, format="long", locale=_LOCALES[language])


def format_slot(slot: Slot, language: str) -> str:
    """`12月1日 14:00-15:00` / `Tue Dec 1, 2:00 PM-3:00 PM`: the borrower's own clock (the
    slot's zone), the day once, no year (a visit is days away, and an SMS is short); an
    ASCII hyphen, which keeps an English SMS in the 7-bit alphabet."""
    phrases, locale = PHRASES[language], _LOCALES[language]
    start = format_datetime(slot.starts, phrases.slot_start, locale=locale, tzinfo=slot.starts.tzinfo)
    end = format_time(slot.ends, phrases.slot_end, locale=locale, tzinfo=slot.ends.tzinfo)
    return f"{start}-{end}"


def _slots(context: MessageContext, language: str) -> str:
    """The times offered, by their starts only (`12月10日 14:00、12月11日 14:00`): three of
    them fit an SMS that way, and the borrower picks one in the app or by phone."""
    phrases, locale = PHRASES[language], _LOCALES[language]
    return phrases.slot_separator.join(
        format_datetime(slot.starts, phrases.slot_start, locale=locale, tzinfo=slot.starts.tzinfo)
        for slot in context.visit_slots)


def template_values(context: MessageContext, language: str) -> dict[str, str]:
    """Every field of `TEMPLATE_FIELDS` as text in `language` (one of `LANGUAGES`).

    `opt_out` and `collector_disclosure` are empty unless the context's profile requires them.
    """
    phrases = PHRASES[language]
    lender = context.lender
    return {
        "borrower_name": context.borrower_name,
        "lender_name": lender.lender_name,
        "profile": context.profile,
        "days_overdue": _number(context.days_overdue, language),
        "loans": _number(context.loans, language),
        "amount_due": format_money(context.amount_due, language),
        "principal": format_money(context.principal, language),
        "interest": format_money(context.interest, language),
        "fees": format_money(context.fees, language),
        "penalty": format_money(context.penalty, language),
        "oldest_due_date": _long_date(context.oldest_due_date, language),
        "app_name": lender.app_name,
        "bank_account_name": lender.bank_account_name,
        "bank_account_number": lender.bank_account_number,
        "hotline": lender.hotline,
        "repayment_channels": phrases.repayment_channels.format(
            app=lender.app_name, account_name=lender.bank_account_name,
            account_number=lender.bank_account_number, hotline=lender.hotline),
        "verify_hotline": lender.verify_hotline,
        "opt_out": (lender.opt_out_text or phrases.opt_out) if requires_opt_out(context.profile) else "",
        "collector_disclosure": (
            phrases.collector_disclosure if requires_collector_disclosure(context.profile) else ""),
        # Empty unless the message is about a plan or a visit (the dispatcher fills them).
        "plan_due_date": _long_date(context.plan_due.due_on, language) if context.plan_due else "",
        "plan_amount": format_money(context.plan_due.amount, language) if context.plan_due else "",
        "visit_time": format_slot(context.visit, language) if context.visit else "",
        "visit_slots": _slots(context, language),
    }
