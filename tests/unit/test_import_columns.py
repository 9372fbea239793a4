"""The column-wise checks accept only what the per-row validators accept, with the same value.

The importer takes a row the quick way only when every field passes `importer.columns`;
everything else goes to `services.validation`, which decides and words the error. So the
column checks may be stricter than the validators, never looser, and must convert alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdue.services import validation as v
from fairdue.services.importer import columns as col

MONEY = ["0", "0.00", "1200", "1200.5", "1200.50", "1200.505", "1.2e3", "-1", " 1", "1 ", "",
         ".5", "5.", "00012.30", "1,200.00", "１２", "9999999999999.99", "12.3.4"]
DAYS = ["2026-02-28", "2026-02-29", "2024-02-29", "2026-04-31", "2026-13-01", "2026-00-10",
        "2026-1-01", " 2026-01-01", "2026-01-01 ", "20260101", "", "0000-01-01", "2026-12-31"]
MOMENTS = ["2026-05-13T19:42:07+08:00", "2026-05-13T19:42:07", "2026-05-13T19:42:07Z",
           "2026-05-13T24:00:00+08:00", "2026-02-30T10:00:00+08:00", "2026-05-13T19:42:07-05:30",
           "2026-05-13T19:42:07.5+08:00", "2026-05-13 19:42:07+08:00", "2026-05-13T19:42:60+08:00",
           "2026-05-13T19:42:07+24:00", ""]


def _values(pattern_values: list[str]) -> pa.Array:
    return pa.array(pattern_values, pa.string())


@pytest.mark.parametrize("positive", [True, False])
def test_money_accepted_by_the_columns_is_the_validators_amount(positive: bool) -> None:
    ok, minor = col.money_minor(_values(MONEY), positive=positive)
    for text, good, value in zip(MONEY, ok.to_pylist(), minor.to_pylist(), strict=True):
        if good:
            assert v.money_minor(text, "x", "CNY", positive=positive) == value, text
    assert ok.to_pylist()[:5] == [not positive, not positive, True, True, True]


def test_days_accepted_by_the_columns_are_the_validators_dates() -> None:
    ok, days = col.day(_values(DAYS))
    for text, good, value in zip(DAYS, ok.to_pylist(), days.to_pylist(), strict=True):
        if good:
            assert v.day(text, "d") == value, text
    assert not any(good for text, good in zip(DAYS, ok.to_pylist(), strict=True)
                   if text in ("2026-02-29", "2026-04-31", "2026-13-01"))


def test_moments_accepted_by_the_columns_are_the_validators_instants() -> None:
    ok, utc = col.moment(_values(MOMENTS))
    accepted = 0
    for text, good, value in zip(MOMENTS, ok.to_pylist(), utc.to_pylist(), strict=True):
        if good:
            accepted += 1
            assert v.moment(text, "t").astimezone(UTC) == value, text
    assert accepted == 2


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
       st.integers(-14 * 4, 14 * 4))
def test_the_business_day_in_columns_is_the_ledgers(local: datetime, quarter_hours: int) -> None:
    sign = "-" if quarter_hours < 0 else "+"
    minutes = abs(quarter_hours) * 15
    text = local.replace(microsecond=0).isoformat() + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    ok, utc = col.moment(_values([text]))
    assert ok.to_pylist() == [True]
    from zoneinfo import ZoneInfo

    from fairdue.domain.ledger import business_date
    expected = business_date(v.moment(text, "t"), ZoneInfo("Asia/Shanghai"))
    assert col.business_day(utc, "Asia/Shanghai").to_pylist() == [expected]
    assert col.iso_days(col.business_day(utc, "Asia/Shanghai")).to_pylist() == [
        expected.isoformat()]


def test_iso_text_of_days() -> None:
    assert col.iso_days(pa.array([date(2026, 3, 1)], pa.date32())).to_pylist() == ["2026-03-01"]
