"""The report's settings: channel costs and amount bands, refused when malformed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fairdue.errors import ConfigurationError
from fairdue.settings import load_settings, parse_amount_bands, parse_channel_costs


def test_channel_costs_and_bands_parse() -> None:
    assert parse_channel_costs("sms:0.05, call:1.50") == {"sms": Decimal("0.05"),
                                                          "call": Decimal("1.50")}
    assert parse_amount_bands("0,1000,3000") == (Decimal(0), Decimal(1000), Decimal(3000))
    settings = load_settings({"FAIRDUE_CHANNEL_COSTS": "sms:0.10", "FAIRDUE_FAIRNESS_ALPHA": "0.05"})
    assert settings.channel_costs == "sms:0.10" and settings.fairness_alpha == 0.05


@pytest.mark.parametrize(("name", "value", "says"), [
    ("FAIRDUE_CHANNEL_COSTS", "sms:-1", "CHANNEL:COST"),
    ("FAIRDUE_CHANNEL_COSTS", "sms", "CHANNEL:COST"),
    ("FAIRDUE_AMOUNT_BANDS", "100,1000", "start at 0"),
    ("FAIRDUE_AMOUNT_BANDS", "0,3000,1000", "ascend"),
    ("FAIRDUE_FAIRNESS_ALPHA", "1.5", "fairness_alpha"),
])
def test_malformed_settings_are_refused(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        load_settings({name: value})
