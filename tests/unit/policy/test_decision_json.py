"""A decision's facts and actions are written as `json.dumps(..., ensure_ascii=False)` wrote
them: the daily run's faster encoder must not change a byte of what is stored."""

from __future__ import annotations

import json

import pytest

from fairdue.services.decide import to_json

VALUES = [
    {"open_dispute": False, "days_to_plan_due": None, "days_since_last.sms": 1, "opted_out": (),
     "preferred_channels": ("call", "sms"), "currency": "CNY", "amount_due_minor": 378199,
     "rate": 0.5, "big": 10**20},
    [{"kind": "call", "template": None, "priority": 80, "reason": "S5 大额长期未还: dpd >= 30",
      "contact_id": "C-B1-20260701-20260702-0", "status": "blocked",
      "blocked_by": ["CN-12"]}, {"kind": "pause", "reason": "引号 \"quoted\" \\ and \n newline"}],
    {},
    [],
    {"nested": {"emoji": "✓ 🙂", "control": "\u0001\t"}},
]


@pytest.mark.parametrize("value", VALUES)
def test_the_encoder_writes_what_json_dumps_writes(value: object) -> None:
    assert to_json(value) == json.dumps(value, ensure_ascii=False)


def test_the_encoder_can_be_used_again_and_again() -> None:
    assert [to_json(v) for v in VALUES * 2] == [json.dumps(v, ensure_ascii=False) for v in VALUES * 2]
