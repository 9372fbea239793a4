"""The printable letter of authorisation: what it shows and what its QR code holds."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import segno

from fairdue.adapters.credential_letter import Letter, qr_content, render_letter


def _letter(url: str | None = None) -> Letter:
    return Letter(
        lender="微众", agent_name="王强", badge="FA-0001", team="north", photo_sha256=None,
        case_ref="CR-ABCDEF0123", valid_from=datetime(2026, 8, 3, 1, 0, tzinfo=UTC),
        valid_to=datetime(2026, 8, 3, 4, 0, tzinfo=UTC), zone=ZoneInfo("Asia/Shanghai"),
        code="YPJZ-TGPH", credential_id="AUTH-V-1-FA-0001", payload='{"v":1}',
        signature_hex="ab" * 64, public_key_hex="cd" * 32, verify_hotline="400-000-0001",
        verify_url=url)


def test_the_qr_code_opens_the_verification_page_with_badge_and_code() -> None:
    assert qr_content(_letter()) == "fairdue-verify:badge=FA-0001&code=YPJZ-TGPH"
    assert qr_content(_letter("https://verify.example.cn/v")) == (
        "https://verify.example.cn/v?badge=FA-0001&code=YPJZ-TGPH")
    assert qr_content(_letter("https://verify.example.cn/v?lang=zh")).endswith("&badge=FA-0001&code=YPJZ-TGPH")


def test_the_letter_shows_who_when_and_how_to_check_in_local_time() -> None:
    page = render_letter(_letter())
    for shown in ("王强", "FA-0001", "CR-ABCDEF0123", "YPJZ-TGPH", "400-000-0001",
                  "2026-08-03 09:00 - 2026-08-03 12:00 (Asia/Shanghai)", "<svg"):
        assert shown in page
    # The QR code in the page is the one segno makes for the same content.
    expected = segno.make(qr_content(_letter()), error="m").svg_inline(scale=4)
    assert expected in page
