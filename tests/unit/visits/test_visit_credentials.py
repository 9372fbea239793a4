"""Letters of authorisation as worked examples: the code derived from a signature, codes as
people type them, the validity window, the verdicts and the alert rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fairdue.domain.credentials import (
    AlertRule,
    Authorisation,
    Outcome,
    canonical,
    case_reference,
    judge,
    normalise_code,
    refused_message,
    validity_window,
    verification_code,
    verified_message,
)
from fairdue.errors import InvalidInput

CST = timezone(timedelta(hours=8))


def test_the_code_is_40_bits_of_the_signatures_sha256_in_crockford_base32() -> None:
    # sha256(64 zero bytes) starts f5a5fd42d1 = 1,055,051,825,873 = base 32 digits
    # 30 22 18 31 26 16 22 17 -> Y P J Z T G P H (Crockford: 18 is J, 16 is G; no I, L, O, U)
    assert int("f5a5fd42d1", 16) == 1_055_051_825_873
    assert verification_code(b"\x00" * 64) == "YPJZ-TGPH"


@pytest.mark.parametrize(("typed", "read"), [
    ("ypjz-tgph", "YPJZ-TGPH"), ("YPJZ TGPH", "YPJZ-TGPH"), ("  ypjztgph ", "YPJZ-TGPH"),
    ("1OIL-0000", "1011-0000"),           # O read as 0, I and L as 1
    ("YPJZ-TGP", None), ("YPJZ-TGPU", None), ("", None),
])
def test_codes_are_read_as_people_type_them(typed: str, read: str | None) -> None:
    assert normalise_code(typed) == read


def test_the_letter_is_good_an_hour_either_side_of_the_appointment() -> None:
    start, end = datetime(2026, 8, 3, 10, 0, tzinfo=CST), datetime(2026, 8, 3, 11, 0, tzinfo=CST)
    assert validity_window(start, end, timedelta(hours=1)) == (
        datetime(2026, 8, 3, 9, 0, tzinfo=CST), datetime(2026, 8, 3, 12, 0, tzinfo=CST))
    with pytest.raises(InvalidInput, match="start before it ends"):
        validity_window(end, start, timedelta(hours=1))


@pytest.mark.parametrize(("hour", "revoked", "outcome"), [
    (8, False, Outcome.NOT_YET_VALID), (9, False, Outcome.VERIFIED), (12, False, Outcome.VERIFIED),
    (13, False, Outcome.EXPIRED), (10, True, Outcome.REVOKED),
])
def test_verdicts(hour: int, revoked: bool, outcome: Outcome) -> None:
    valid = (datetime(2026, 8, 3, 9, 0, tzinfo=CST), datetime(2026, 8, 3, 12, 0, tzinfo=CST))
    assert judge(datetime(2026, 8, 3, hour, 0, tzinfo=CST), *valid, revoked) is outcome


def test_the_signed_payload_is_canonical_json_and_verifies_with_the_public_key() -> None:
    grant = Authorisation("AUTH-1", "V-1", "FA-0001", "王强", "fairdue", "CR-0123456789",
                          datetime(2026, 8, 3, 9, 0, tzinfo=CST), datetime(2026, 8, 3, 12, 0, tzinfo=CST),
                          datetime(2026, 7, 30, 2, 0, tzinfo=UTC))
    assert grant.signed_bytes() == (
        '{"agent_name":"王强","badge":"FA-0001","case_ref":"CR-0123456789","credential_id":"AUTH-1",'
        '"issued_at":"2026-07-30T02:00:00Z","lender":"fairdue","v":1,"valid_from":"2026-08-03T01:00:00Z",'
        '"valid_to":"2026-08-03T04:00:00Z","visit_id":"V-1"}').encode()
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    signature = key.sign(grant.signed_bytes())
    key.public_key().verify(signature, canonical(grant.payload()))   # raises if not
    assert len(verification_code(signature)) == 9


def test_the_case_reference_reveals_no_case_id() -> None:
    assert case_reference("abcdef0123456789") == "CR-ABCDEF0123"
    with pytest.raises(InvalidInput):
        case_reference("abc")


def test_the_sentences_the_borrower_sees() -> None:
    from zoneinfo import ZoneInfo

    said = verified_message(datetime(2026, 8, 3, 1, 0, tzinfo=UTC), datetime(2026, 8, 3, 4, 0, tzinfo=UTC),
                            ZoneInfo("Asia/Shanghai"), "王强", "FA-0001")
    assert said == ("verified: this person is authorised to visit you between 2026-08-03 09:00 and "
                    "12:00 (Asia/Shanghai): 王强, badge FA-0001")
    assert refused_message("400-1") == "not verified: do not pay anyone, call the official hotline 400-1"


def test_the_alert_rule_raises_at_the_threshold_once_per_window() -> None:
    rule = AlertRule(3, timedelta(hours=1))
    now = datetime(2026, 8, 3, 10, 0, tzinfo=UTC)
    assert not rule.raises(2, None, now)
    assert rule.raises(3, None, now)
    assert not rule.raises(4, now - timedelta(minutes=59), now)
    assert rule.raises(4, now - timedelta(hours=1), now)
