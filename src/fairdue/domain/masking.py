"""Masked forms of personal data, for every screen, export and log line.

An agent needs to tell borrowers apart and confirm they reach the right person ("the
number ending 1234"), not to read the data: masks keep just enough for that. The rules
follow common practice in China (GB/T 35273 examples): phones as 138****1234, names as
张**. Each function accepts any string and never raises, since masking sits on the output
path of pages and exports, where a malformed value must still come out masked.
"""

from __future__ import annotations

import re

STAR = "*"

# A national number keeps its first 3 and last 4 digits only if at least 4 stay hidden:
# with fewer, the hidden part is a guess among at most 1,000 values.
_MIN_HIDDEN = 4
_KEEP_HEAD = 3
_KEEP_TAIL = 4
_SHORT_KEEP_TAIL = 2
_ADDRESS_KEEP = 6
_TOKEN_KEEP_TAIL = 4
_TOKEN_MIN_LENGTH = 16

# E.164 country codes are prefix-free: 1 and 7 are one digit, these are two, every
# other code is three. That is enough to split +8613812341234 into +86 and the rest.
_TWO_DIGIT_COUNTRY_CODES = frozenset(
    {
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
        "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
        "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    }
)
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_NAME_SEPARATORS = re.compile(r"(\s+|[·・•])")


def _keep_ends(text: str) -> str:
    """First 3 and last 4 characters kept when 4 or more remain hidden; else last 2 only."""
    if len(text) >= _KEEP_HEAD + _MIN_HIDDEN + _KEEP_TAIL:
        hidden = len(text) - _KEEP_HEAD - _KEEP_TAIL
        return text[:_KEEP_HEAD] + STAR * hidden + text[-_KEEP_TAIL:]
    return _keep_last(text, _SHORT_KEEP_TAIL)


def _keep_last(text: str, keep: int) -> str:
    if len(text) <= keep:
        return STAR * len(text)
    return STAR * (len(text) - keep) + text[-keep:]


def mask_phone(phone: str) -> str:
    """`13812341234` -> `138****1234`; `+8613812341234` -> `+86 138****1234`.

    Separators (spaces, dashes, dots, brackets) are dropped. An international number
    keeps its country code visible and the national number is masked like a domestic
    one; numbers too short for that keep only their last 2 digits.
    """
    compact = _PHONE_SEPARATORS.sub("", phone.strip())
    if compact.startswith("+") and compact[1:].isdigit():
        digits = compact[1:]
        code_length = _country_code_length(digits)
        if len(digits) > code_length:
            return f"+{digits[:code_length]} {_keep_ends(digits[code_length:])}"
        return "+" + _keep_last(digits, _SHORT_KEEP_TAIL)
    return _keep_ends(compact)


def _country_code_length(digits: str) -> int:
    if digits[:1] in ("1", "7"):
        return 1
    if digits[:2] in _TWO_DIGIT_COUNTRY_CODES:
        return 2
    return 3


def mask_name(name: str) -> str:
    """`张三丰` -> `张**`; `John Smith` -> `J*** S****`.

    Each part of the name keeps its first character unless that is the whole part (`张`,
    or `A` in `John A Smith`), since showing it would show the part. Separators between
    parts (spaces, the middle dot of transliterated names) stay as they are.
    """
    parts = _NAME_SEPARATORS.split(name.strip())
    return "".join(
        part if _NAME_SEPARATORS.fullmatch(part) else _mask_name_part(part) for part in parts
    )


def _mask_name_part(part: str) -> str:
    if len(part) <= 1:
        return STAR * len(part)
    return part[0] + STAR * (len(part) - 1)


def mask_id_number(id_number: str) -> str:
    """`110101199003071234` -> `110***********1234`.

    First 3 (the province and city of issue) and last 4 kept, as for phones; shorter
    documents (passports) keep only their last 2 characters.
    """
    return _keep_ends("".join(id_number.split()))


def mask_email(email: str) -> str:
    """`alice@example.com` -> `a****@example.com`: the domain stays, to show the provider."""
    stripped = email.strip()
    local, at, domain = stripped.rpartition("@")
    if not at or not local:
        return _keep_last(stripped, _SHORT_KEEP_TAIL)
    if len(local) == 1:
        return STAR + at + domain
    return local[0] + STAR * (len(local) - 1) + at + domain


def mask_address(address: str) -> str:
    """`北京市朝阳区建国路88号` -> `北京市朝阳区****`.

    At most the first 6 characters (typically city and district, enough to route a
    field visit) are kept, and never more than half the text, so a short address is
    not shown whole; the rest becomes a fixed `****` that does not reveal its length.
    """
    stripped = address.strip()
    if not stripped:
        return ""
    keep = min(_ADDRESS_KEEP, len(stripped) // 2)
    return stripped[:keep] + STAR * 4


def mask_token(token: str) -> str:
    """`fcm-abcdefghijklmnop1234` -> `****1234`: enough to match a token in logs, no more.

    Tokens shorter than 16 characters show nothing at all, and the mask has a fixed
    width so it does not tell the token's length.
    """
    stripped = token.strip()
    if len(stripped) < _TOKEN_MIN_LENGTH:
        return STAR * 4
    return STAR * 4 + stripped[-_TOKEN_KEEP_TAIL:]
