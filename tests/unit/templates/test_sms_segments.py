"""SMS length in segments, worked examples: 70 UCS-2 characters fit one SMS and 67 a part of
a longer one; 160 GSM-7 characters and 153 a part; one character outside GSM-7 makes the
whole text UCS-2; extension characters cost two septets and are never split."""

from __future__ import annotations

import pytest

from fairdue.domain.sms_segments import SmsEncoding, is_gsm7, sms_length


@pytest.mark.parametrize(("text", "segments"), [
    ("逾" * 70, 1),
    ("逾" * 71, 2),
    ("逾" * 134, 2),
    ("逾" * 135, 3),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("", 1),
])
def test_worked_examples(text: str, segments: int) -> None:
    assert sms_length(text).segments == segments


def test_a_70_character_chinese_sms_is_one_ucs2_segment_and_71_is_two() -> None:
    assert sms_length("您" * 70) == sms_length("您" * 70).__class__(SmsEncoding.UCS2, 70, 1)
    assert sms_length("您" * 71).segments == 2


def test_one_character_outside_gsm7_turns_the_whole_text_into_ucs2() -> None:
    text = "a" * 100
    assert sms_length(text).encoding is SmsEncoding.GSM7
    assert sms_length(text).segments == 1
    mixed = sms_length(text + "您")
    assert mixed.encoding is SmsEncoding.UCS2
    assert mixed.units == 101
    assert mixed.segments == 2     # 101 UCS-2 units: more than 70, within 2 x 67


def test_the_gsm7_alphabet_has_pound_yen_and_accents_but_not_the_yuan_sign_or_curly_quotes() -> None:
    assert is_gsm7("Amount due: £12, ¥34, é à ü Ñ @ _ ¿?")
    assert not is_gsm7("CN¥ is fine but ￥ is not")     # full-width yen sign
    assert not is_gsm7("it’s")                          # typographic apostrophe


def test_extension_characters_cost_two_septets() -> None:
    assert sms_length("€" * 80) == sms_length("€" * 80).__class__(SmsEncoding.GSM7, 160, 1)
    assert sms_length("€" * 81).segments == 2


def test_a_two_septet_character_is_not_split_across_parts() -> None:
    # 152 plain septets then "€" (2): the pair does not fit the first 153-septet part.
    text = "a" * 152 + "€" + "a" * 152
    length = sms_length(text)
    assert length.units == 306
    assert length.segments == 3     # 306 units would be 2 parts if the pair could be split


def test_an_emoji_takes_two_ucs2_units() -> None:
    assert sms_length("😀" * 35).units == 70
    assert sms_length("😀" * 35).segments == 1
    assert sms_length("😀" * 36).segments == 2
