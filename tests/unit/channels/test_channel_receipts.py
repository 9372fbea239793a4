"""Delivery receipts: the JSON gateway's callback and Twilio's status callback."""

from __future__ import annotations

import pytest

from fairdue.adapters.channels import parse_gateway_receipt, parse_twilio_receipt
from fairdue.domain.messages import Receipt
from fairdue.errors import InvalidInput


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"message_id": "gw-1", "status": "delivered"},
         Receipt("gw-1", "delivered", False, "gateway delivered")),
        ({"message_id": "gw-2", "status": "failed", "error": "handset_off"},
         Receipt("gw-2", "failed", False, "gateway failed: handset_off")),
        ({"message_id": "gw-3", "status": "undeliverable", "error": "no_such_number"},
         Receipt("gw-3", "failed", True, "gateway undeliverable: no_such_number")),
        (b'{"message_id": "gw-4", "status": "delivered"}',
         Receipt("gw-4", "delivered", False, "gateway delivered")),
    ],
)
def test_gateway_receipts(payload: object, expected: Receipt) -> None:
    assert parse_gateway_receipt(payload) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        ({"status": "delivered"}, "message_id"),
        ({"message_id": "", "status": "delivered"}, "message_id"),
        ({"message_id": "gw-1", "status": "read"}, "status"),
        ("not json", "JSON object"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_malformed_gateway_receipts_are_refused(payload: object, said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        parse_gateway_receipt(payload)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("form", "status", "permanent"),
    [
        ({"MessageSid": "SM1", "MessageStatus": "delivered"}, "delivered", False),
        ({"MessageSid": "SM1", "MessageStatus": "sent"}, "sent", False),
        ({"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"}, "failed", False),
        ({"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30005"}, "failed", True),
        ({"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "21211"}, "failed", True),
        ({"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "21614"}, "failed", True),
        ({"SmsSid": "SM1", "SmsStatus": "delivered"}, "delivered", False),
        ({"MessageSid": "SM1", "MessageStatus": "canceled"}, "unknown", False),
    ],
)
def test_twilio_status_callbacks(form: dict[str, str], status: str, permanent: bool) -> None:
    receipt = parse_twilio_receipt(form)

    assert (receipt.provider_id, receipt.status, receipt.permanent) == ("SM1", status, permanent)
    if "ErrorCode" in form:
        assert form["ErrorCode"] in receipt.detail


@pytest.mark.parametrize(
    ("form", "said"),
    [({"MessageStatus": "delivered"}, "MessageSid"), ({"MessageSid": "SM1", "ErrorCode": "x1"}, "ErrorCode")],
)
def test_malformed_twilio_callbacks_are_refused(form: dict[str, str], said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        parse_twilio_receipt(form)
