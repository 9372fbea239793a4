"""Masking rules as worked examples: what an agent sees in place of personal data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairdue.domain.masking import (
    STAR,
    mask_address,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_token,
)


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("13812341234", "138****1234"),  # a Chinese mobile number
        ("138 1234 1234", "138****1234"),  # separators are dropped
        ("138-1234-1234", "138****1234"),
        ("+8613812341234", "+86 138****1234"),  # E.164: the country code stays visible
        ("+86 138 1234 1234", "+86 138****1234"),
        ("01062345678", "010****5678"),  # Beijing landline with its area code
        ("+442079460958", "+44 ********58"),  # 10-digit national: too short for 3+4
        ("+14155552671", "+1 ********71"),
        ("+85291234567", "+852 ******67"),  # three-digit country code
        ("62345678", "******78"),  # local landline, no area code
        ("110", "*10"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_phone(phone: str, shown: str) -> None:
    assert mask_phone(phone) == shown


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("欧阳修文", "欧***"),
        ("张", "*"),
        ("John Smith", "J*** S****"),
        ("Mary Ann  O'Neil", "M*** A**  O*****"),
        ("J. Smith", "J* S****"),
        ("John A Smith", "J*** * S****"),
        ("张 三", "* *"),
        ("阿卜杜拉·买买提", "阿***·买**"),
        ("  Li Lei ", "L* L**"),
        ("", ""),
    ],
)
def test_mask_name(name: str, shown: str) -> None:
    assert mask_name(name) == shown


@pytest.mark.parametrize(
    ("id_number", "shown"),
    [
        ("110101199003071234", "110***********1234"),  # 18-digit resident id
        ("11010119900307123X", "110***********123X"),
        ("110101900307123", "110********7123"),  # old 15-digit id
        ("1101 0119 9003 0712 34", "110***********1234"),
        ("E12345678", "*******78"),  # passport: too short to show 3 + 4
    ],
)
def test_mask_id_number(id_number: str, shown: str) -> None:
    assert mask_id_number(id_number) == shown


@pytest.mark.parametrize(
    ("email", "shown"),
    [
        ("alice@example.com", "a****@example.com"),
        ("zhang.san@qq.com", "z********@qq.com"),
        ("a@example.com", "*@example.com"),
        ("not-an-email", "**********il"),
    ],
)
def test_mask_email(email: str, shown: str) -> None:
    assert mask_email(email) == shown


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("北京市朝阳区建国路88号院3号楼", "北京市朝阳区****"),  # city and district kept
        ("上海市浦东新区世纪大道100号", "上海市浦东新****"),
        ("建国路88号", "建国路****"),  # short: never more than half is shown
        ("12 Main Street, Springfield", "12 Mai****"),
        ("", ""),
    ],
)
def test_mask_address(address: str, shown: str) -> None:
    assert mask_address(address) == shown


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        ("fcm-abcdefghijklmnop1234", "****1234"),
        ("short-token", "****"),  # too short to show any of it
    ],
)
def test_mask_token(token: str, shown: str) -> None:
    assert mask_token(token) == shown


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_a_mobile_number_shows_only_its_first_3_and_last_4_digits(phone: str) -> None:
    masked = mask_phone(phone)

    assert masked == phone[:3] + "****" + phone[-4:]


@given(st.text().filter(lambda text: STAR not in text))
def test_masking_never_fails_and_never_returns_a_long_value_whole(value: str) -> None:
    for mask in (mask_phone, mask_name, mask_id_number, mask_email, mask_address, mask_token):
        masked = mask(value)
        assert isinstance(masked, str)
        if len(value.strip()) >= 3:
            assert masked != value.strip()
