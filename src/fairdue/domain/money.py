"""Money as an exact Decimal with a currency.

Amounts are rounded half-up to the currency's minor unit, floats are refused outright
(0.1 + 0.2 is how ledgers start to drift), and a split always adds back to the whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from fairdue.errors import MoneyError

DEFAULT_CURRENCY = "CNY"

# ISO 4217 minor units for the currencies a lender is likely to book in.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "HKD": 2, "SGD": 2, "INR": 2, "PHP": 2,
    "IDR": 2, "MXN": 2, "BRL": 2, "JPY": 0, "KRW": 0, "VND": 0, "KWD": 3,
}


def minor_units(currency: str) -> int:
    """Digits after the decimal point for a currency; unknown codes are an error, not a guess."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        known = ", ".join(sorted(MINOR_UNITS))
        raise MoneyError(f"unknown currency {currency!r}; known currencies: {known}") from None


def to_decimal(value: object, *, what: str = "amount") -> Decimal:
    """Read an exact decimal from a Decimal, int or string; a float is refused."""
    if isinstance(value, bool | float):
        raise MoneyError(f"{what} must be given as a decimal string or Decimal, not {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise MoneyError(f"{what} {value!r} is not a decimal number") from None
    else:
        raise MoneyError(f"{what} must be a decimal string or Decimal, not {type(value).__name__}")
    if not result.is_finite():
        raise MoneyError(f"{what} {value!r} is not a finite number")
    return result


# Below this many minor units, Decimal(minor).scaleb(...) is exact in the default context.
_EXACT_MINOR = 10**27


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency, always held at the currency's minor unit."""

    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        amount = to_decimal(self.amount)
        exponent = Decimal(1).scaleb(-minor_units(self.currency))
        object.__setattr__(self, "amount", amount.quantize(exponent, rounding=ROUND_HALF_UP))

    @classmethod
    def of(cls, value: object, currency: str = DEFAULT_CURRENCY) -> Money:
        """Money from a decimal string, Decimal or int, rounded half-up to the minor unit."""
        return cls(to_decimal(value), currency)

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str = DEFAULT_CURRENCY) -> Money:
        """Money from an integer count of minor units (fen, cents), as it is stored."""
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise MoneyError(f"minor units must be an integer, not {minor!r}")
        amount = Decimal(minor).scaleb(-minor_units(currency))
        if -_EXACT_MINOR < minor < _EXACT_MINOR:
            # Already exact at the minor unit, so __post_init__'s quantize would change
            # nothing: skip it (the daily run makes one of these per loan and per case).
            money = object.__new__(cls)
            object.__setattr__(money, "amount", amount)
            object.__setattr__(money, "currency", currency)
            return money
        return cls(amount, currency)

    @property
    def minor(self) -> int:
        """The amount as an integer count of minor units."""
        return int(self.amount.scaleb(minor_units(self.currency)))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def times(self, factor: object) -> Money:
        """This amount times an exact factor (a rate), rounded half-up to the minor unit."""
        return Money(self.amount * to_decimal(factor, what="factor"), self.currency)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def split(self, parts: int) -> list[Money]:
        """Split into `parts` amounts as equal as the minor unit allows, adding up exactly."""
        if parts < 1:
            raise MoneyError(f"cannot split into {parts} parts; need at least 1")
        return self.allocate([1] * parts)

    def allocate(self, weights: Sequence[int | Decimal]) -> list[Money]:
        """Split in proportion to weights by largest remainder; the parts add up exactly."""
        if not weights or any(to_decimal(w, what="weight") < 0 for w in weights):
            raise MoneyError("weights must be a non-empty list of non-negative numbers")
        total_weight = sum((to_decimal(w, what="weight") for w in weights), Decimal(0))
        if total_weight == 0:
            raise MoneyError("weights must not all be zero")
        whole = self.minor
        sign = -1 if whole < 0 else 1
        whole = abs(whole)
        exact = [Decimal(whole) * to_decimal(w) / total_weight for w in weights]
        floors = [int(x) for x in exact]
        short = whole - sum(floors)
        by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
        for i in by_remainder[:short]:
            floors[i] += 1
        return [Money.from_minor(sign * f, self.currency) for f in floors]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def total(amounts: Iterable[Money], currency: str = DEFAULT_CURRENCY) -> Money:
    """Sum of amounts in one currency; an empty sum is zero in `currency`."""
    result = Money.zero(currency)
    for a in amounts:
        result = result + a
    return result


def format_minor(minor: int, currency: str = DEFAULT_CURRENCY) -> str:
    """A stored minor-unit integer as a plain decimal string ("1234.50"), for exports."""
    return str(Money.from_minor(minor, currency).amount)


def parse_to_minor(value: object, currency: str = DEFAULT_CURRENCY, *, what: str = "amount") -> int:
    """A decimal string to minor units, refusing digits finer than the currency's minor unit."""
    digits = minor_units(currency)
    if isinstance(value, str):
        # The importer's hot path: plain "1234.5" strings need no Decimal.
        whole, dot, fraction = value.strip().partition(".")
        if (
            whole.isascii() and whole.isdigit()
            and (not dot or (fraction.isascii() and fraction.isdigit() and len(fraction) <= digits))
        ):
            scale = int(Decimal(1).scaleb(digits))
            return int(whole) * scale + (int(fraction.ljust(digits, "0")) if fraction else 0)
    amount = to_decimal(value, what=what)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{what} {value!r} has more than {digits} decimal places for {currency}")
    return int(scaled)
