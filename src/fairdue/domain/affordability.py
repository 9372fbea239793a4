"""Affordability: the largest installment a borrower can carry, from what they told us.

The rule (documented in docs/plans.md): disposable income is stated monthly income less
stated monthly expenses (never below zero); the borrower can carry `share` of it each month
(a setting, 0.5 by default), rounded down to the minor unit. A weekly or fortnightly plan is
judged by the same monthly amount spread over the periods of a year (52 weeks, 26 fortnights
in 12 months), again rounded down, so the borrower is never asked for more than the rule
allows. A plan whose installment is above it needs a supervisor's approval with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from fairdue.domain.money import Money, to_decimal
from fairdue.errors import InvalidInput

#: Periods of each cadence in a year; a month is a twelfth of a year.
PERIODS_PER_YEAR: dict[str, int] = {"monthly": 12, "biweekly": 26, "weekly": 52}


@dataclass(frozen=True, slots=True)
class Affordability:
    """Stated monthly income and expenses, and the share of what is left a plan may take."""

    income: Money
    expenses: Money
    share: Decimal

    def __post_init__(self) -> None:
        share = to_decimal(self.share, what="affordability share")
        if not Decimal(0) < share <= Decimal(1):
            raise InvalidInput(f"affordability share {self.share} must be above 0 and at most 1")
        object.__setattr__(self, "share", share)
        if self.income.currency != self.expenses.currency:
            raise InvalidInput("income and expenses must be in the same currency")
        if self.income.amount < 0 or self.expenses.amount < 0:
            raise InvalidInput("income and expenses cannot be negative")

    @property
    def currency(self) -> str:
        return self.income.currency

    @property
    def disposable(self) -> Money:
        """Income less expenses, never below zero."""
        left = self.income - self.expenses
        return left if left.amount > 0 else Money.zero(self.currency)

    @property
    def max_monthly_minor(self) -> int:
        """The largest monthly installment, in minor units, rounded down."""
        exact = Decimal(self.disposable.minor) * self.share
        return int(exact.to_integral_value(rounding=ROUND_FLOOR))

    def max_installment_minor(self, cadence: str) -> int:
        """The largest installment for a plan of `cadence`, in minor units, rounded down."""
        periods = PERIODS_PER_YEAR.get(cadence)
        if periods is None:
            raise InvalidInput(f"unknown cadence {cadence!r}; use one of: "
                               + ", ".join(PERIODS_PER_YEAR))
        exact = Decimal(self.max_monthly_minor) * 12 / periods
        return int(exact.to_integral_value(rounding=ROUND_FLOOR))

    def max_installment(self, cadence: str) -> Money:
        return Money.from_minor(self.max_installment_minor(cadence), self.currency)
