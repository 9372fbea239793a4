"""Shared for the template tests: the lender's details, a borrower's message context, and a
folder of templates written by the test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fairdue.adapters.templates import TemplateOptions
from fairdue.domain.message_context import LenderContact, MessageContext
from fairdue.domain.money import Money

LENDER = LenderContact(
    lender_name="微粒贷", app_name="微众银行", bank_account_name="微众银行还款专户",
    bank_account_number="6222 1234 5678", hotline="95384", verify_hotline="95384-9",
)
OPTIONS = TemplateOptions(lender=LENDER, profiles=("cn",))
# A lender writing in English (a Chinese name would make an English SMS UCS-2), for us-regf.
US_LENDER = LenderContact(
    lender_name="Fairdue Lending", app_name="Fairdue", bank_account_name="Fairdue Lending LLC",
    bank_account_number="021000021-1234567", hotline="1-800-555-0100",
    verify_hotline="1-800-555-0199",
)

# An SMS that shows every field S1 asks for, with nothing else: the control every bad
# template differs from by one thing.
GOOD_SMS = ("{# channel: sms #}\n"
            "{{ borrower_name }}您好，您的借款已逾期{{ days_overdue }}天，应还{{ amount_due }}。"
            "可通过{{ repayment_channels }}还款。核实热线{{ verify_hotline }}。"
            "{{ collector_disclosure }}{{ opt_out }}\n")


def make_context(**changes: Any) -> MessageContext:
    """张三丰, 5 days overdue on one loan, ¥1,234.56 due (¥1,000.00 principal, ¥200.00
    interest, ¥30.00 fees, ¥4.56 penalty), oldest installment due 2026-07-01."""
    values: dict[str, Any] = dict(
        borrower_name="张三丰", days_overdue=5, principal=Money.of("1000.00"),
        interest=Money.of("200.00"), fees=Money.of("30.00"), penalty=Money.of("4.56"),
        oldest_due_date=date(2026, 7, 1), loans=1, lender=LENDER, profile="cn",
    )
    values.update(changes)
    return MessageContext(**values)


TemplateWriter = Callable[[str, str, str], Path]
ContextMaker = Callable[..., MessageContext]


@pytest.fixture
def lender() -> LenderContact:
    return LENDER


@pytest.fixture
def options() -> TemplateOptions:
    """Checked for `cn` only, with the real-looking lender details above."""
    return OPTIONS


@pytest.fixture
def us_options() -> TemplateOptions:
    """Checked for both profiles, with the English-writing lender."""
    return TemplateOptions(lender=US_LENDER, profiles=("cn", "us-regf"))


@pytest.fixture(name="make_context")
def make_context_fixture() -> ContextMaker:
    return make_context


@pytest.fixture
def good_sms() -> str:
    return GOOD_SMS


@pytest.fixture
def write_template(tmp_path: Path) -> TemplateWriter:
    """write_template(language, name, text) -> the file, under tmp_path/templates."""
    def write(language: str, name: str, text: str) -> Path:
        folder = tmp_path / "templates" / language
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.j2"
        path.write_text(text, encoding="utf-8")
        return path
    return write
