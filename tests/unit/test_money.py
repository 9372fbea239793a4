"""Money: exact decimals with a currency, half-up to the minor unit, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairdue.domain.money import Money, format_minor, parse_to_minor, total
from fairdue.errors import MoneyError


def test_half_a_fen_rounds_up_to_one_fen() -> None:
    assert Money.of("0.005").amount == Decimal("0.01")
    assert Money.of("0.004").amount == Decimal("0.00")
    assert Money.of("2.675").amount == Decimal("2.68")  # a float would give 2.67


def test_half_a_fen_below_zero_rounds_away_from_zero() -> None:
    assert Money.of("-0.005").amount == Decimal("-0.01")


def test_the_default_currency_is_cny() -> None:
    assert Money.of("1").currency == "CNY"
    assert Money.of("1").minor == 100


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan")])
def test_a_float_is_refused_with_a_clear_error(value: float) -> None:
    with pytest.raises(MoneyError, match="decimal string or Decimal"):
        Money.of(value)
    with pytest.raises(MoneyError, match="decimal string or Decimal"):
        Money(value)  # type: ignore[arg-type]


def test_a_float_factor_is_refused() -> None:
    with pytest.raises(MoneyError, match="factor"):
        Money.of("10").times(0.5)


def test_a_bool_and_a_float_minor_count_are_refused() -> None:
    with pytest.raises(MoneyError):
        Money.of(True)
    with pytest.raises(MoneyError, match="integer"):
        Money.from_minor(1.0)  # type: ignore[arg-type]


def test_text_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(MoneyError, match="not a decimal number"):
        Money.of("12,5")
    with pytest.raises(MoneyError, match="finite"):
        Money.of("Infinity")


def test_mixed_currencies_are_refused() -> None:
    cny, usd = Money.of("1.00"), Money.of("1.00", "USD")
    with pytest.raises(MoneyError, match="cannot combine CNY with USD"):
        cny + usd
    with pytest.raises(MoneyError, match="cannot combine CNY with USD"):
        cny - usd
    with pytest.raises(MoneyError, match="cannot combine"):
        _ = cny < usd
    with pytest.raises(MoneyError, match="cannot combine"):
        total([cny, usd])


def test_an_unknown_currency_is_an_error_not_a_guess() -> None:
    with pytest.raises(MoneyError, match="unknown currency 'XXX'"):
        Money.of("1", "XXX")


def test_arithmetic_is_exact() -> None:
    assert Money.of("0.10") + Money.of("0.20") == Money.of("0.30")
    assert Money.of("1.00") - Money.of("0.99") == Money.of("0.01")
    assert -Money.of("1.50") == Money.of("-1.50")
    assert Money.of("2010.00").times("0.0005") == Money.of("1.01")  # 1.005 half-up
    assert total([Money.of("1.10"), Money.of("2.20")]) == Money.of("3.30")
    assert total([]) == Money.zero()


def test_split_into_three_adds_up_exactly() -> None:
    parts = Money.of("100.00").split(3)
    assert [p.amount for p in parts] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert total(parts) == Money.of("100.00")


def test_split_of_a_negative_amount_adds_up_exactly() -> None:
    parts = Money.of("-100.00").split(3)
    assert [p.amount for p in parts] == [Decimal("-33.34"), Decimal("-33.33"), Decimal("-33.33")]
    assert total(parts) == Money.of("-100.00")


def test_allocate_by_weights_gives_the_remainder_to_the_largest_fraction() -> None:
    parts = Money.of("0.05").allocate([3, 7])
    assert [p.minor for p in parts] == [2, 3]  # exact 1.5 and 3.5 fen: tie goes to first
    parts = Money.of("10.00").allocate([1, 0, 2])
    assert [p.minor for p in parts] == [333, 0, 667]
    parts = Money.of("-0.05").allocate([3, 7])
    assert [p.minor for p in parts] == [-2, -3]


def test_allocate_refuses_empty_negative_or_all_zero_weights() -> None:
    for weights in ([], [1, -1], [0, 0]):
        with pytest.raises(MoneyError, match="weights"):
            Money.of("1").allocate(weights)
    with pytest.raises(MoneyError, match="at least 1"):
        Money.of("1").split(0)


def test_yen_has_no_minor_unit() -> None:
    assert Money.of("100.5", "JPY").amount == Decimal("101")
    assert Money.of("100", "JPY").minor == 100
    assert [p.minor for p in Money.of("100", "JPY").split(3)] == [34, 33, 33]
    assert parse_to_minor("1500", "JPY") == 1500
    with pytest.raises(MoneyError, match="more than 0 decimal places for JPY"):
        parse_to_minor("1.5", "JPY")
    assert format_minor(1500, "JPY") == "1500"


def test_parse_to_minor_refuses_three_decimals_in_cny() -> None:
    assert parse_to_minor("1234.50") == 123450
    assert parse_to_minor(" 7 ") == 700
    with pytest.raises(MoneyError, match="more than 2 decimal places for CNY"):
        parse_to_minor("1.005")
    with pytest.raises(MoneyError, match="decimal string or Decimal"):
        parse_to_minor(1.5)


def test_format_minor_is_a_plain_decimal_string() -> None:
    assert format_minor(123450) == "1234.50"
    assert format_minor(-5) == "-0.05"
    assert format_minor(0) == "0.00"


minor_amounts = st.integers(min_value=-(10**14), max_value=10**14)


@given(minor=minor_amounts, parts=st.integers(min_value=1, max_value=60))
def test_split_never_loses_or_creates_a_fen(minor: int, parts: int) -> None:
    whole = Money.from_minor(minor)
    pieces = whole.split(parts)
    assert len(pieces) == parts
    assert sum(p.minor for p in pieces) == minor
    assert max(p.minor for p in pieces) - min(p.minor for p in pieces) <= 1


@given(
    minor=minor_amounts,
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=20).filter(
        lambda ws: sum(ws) > 0
    ),
    currency=st.sampled_from(["CNY", "JPY", "KWD"]),
)
def test_allocate_never_loses_or_creates_a_minor_unit(
    minor: int, weights: list[int], currency: str
) -> None:
    whole = Money.from_minor(minor, currency)
    pieces = whole.allocate(weights)
    assert sum(p.minor for p in pieces) == minor
    assert all(p.currency == currency for p in pieces)
    for piece, weight in zip(pieces, weights, strict=True):
        exact = Decimal(minor) * weight / sum(weights)
        assert abs(Decimal(piece.minor) - exact) < 1
        if weight == 0:
            assert piece.minor == 0
