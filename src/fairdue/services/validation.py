"""Checks for one field of an imported row, each raising a message that names the field."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fairdue.domain.money import MINOR_UNITS, parse_to_minor
from fairdue.errors import InvalidInput

LANGUAGES = ("zh-CN", "en")
_zones: dict[str, bool] = {}


class RowError(InvalidInput):
    """One value of one row is wrong; the importer adds file and line."""


def text(value: str, name: str, *, max_len: int = 200, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise RowError(f"{name} is empty")
    if len(value) > max_len:
        raise RowError(f"{name} is longer than {max_len} characters")
    return value


def identifier(value: str, name: str) -> str:
    value = value.strip()
    if not value:
        raise RowError(f"{name} is empty")
    if len(value) > 40 or any(c.isspace() for c in value):
        raise RowError(f"{name} {value!r} must be at most 40 characters without spaces")
    return value


def day(value: str, name: str) -> date:
    value = value.strip()
    if len(value) != 10:
        raise RowError(f"{name} {value!r} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{name} {value!r} is not a date YYYY-MM-DD") from None


def moment(value: str, name: str) -> datetime:
    value = value.strip()
    try:
        result = datetime.fromisoformat(value)
    except ValueError:
        raise RowError(f"{name} {value!r} is not an ISO 8601 timestamp") from None
    if result.tzinfo is None:
        raise RowError(f"{name} {value!r} has no UTC offset (e.g. +08:00)")
    return result


def money_minor(value: str, name: str, currency: str, *, positive: bool = False) -> int:
    try:
        minor = parse_to_minor(value.strip(), currency, what=name)
    except InvalidInput as exc:
        raise RowError(str(exc)) from None
    if positive and minor <= 0:
        raise RowError(f"{name} must be positive, got {value.strip()}")
    if minor < 0:
        raise RowError(f"{name} must not be negative, got {value.strip()}")
    return minor


def rate(value: str, name: str, *, upper: Decimal) -> str:
    raw = value.strip()
    if "e" in raw.lower():
        raise RowError(f"{name} {raw!r} must be a plain decimal, not scientific notation")
    try:
        result = Decimal(raw)
    except InvalidOperation:
        raise RowError(f"{name} {raw!r} is not a decimal number") from None
    if not result.is_finite() or result < 0 or result > upper:
        raise RowError(f"{name} {raw} must be between 0 and {upper}")
    return raw


def integer(value: str, name: str, *, low: int, high: int) -> int:
    try:
        result = int(value.strip())
    except ValueError:
        raise RowError(f"{name} {value.strip()!r} is not a whole number") from None
    if not low <= result <= high:
        raise RowError(f"{name} {result} must be between {low} and {high}")
    return result


def currency(value: str, name: str = "currency") -> str:
    code = value.strip().upper() or "CNY"
    if code not in MINOR_UNITS:
        raise RowError(f"{name} {code!r} is not a known ISO 4217 code")
    return code


def coordinate(value: str, name: str, *, limit: float) -> str | None:
    raw = value.strip()
    if not raw:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise RowError(f"{name} {raw!r} is not a number") from None
    if not number.is_finite() or abs(number) > Decimal(limit):
        raise RowError(f"{name} {raw} is outside -{limit}..{limit}")
    return raw


def timezone(value: str, name: str = "timezone") -> str:
    zone = value.strip() or "Asia/Shanghai"
    known = _zones.get(zone)
    if known is None:
        try:
            ZoneInfo(zone)
            known = True
        except (ZoneInfoNotFoundError, ValueError):
            known = False
        _zones[zone] = known
    if not known:
        raise RowError(f"{name} {zone!r} is not an IANA time zone such as Asia/Shanghai")
    return zone


def language(value: str) -> str:
    lang = value.strip() or "zh-CN"
    if lang not in LANGUAGES:
        raise RowError(f"language {lang!r} must be one of {', '.join(LANGUAGES)}")
    return lang


def phone(value: str, name: str = "phone") -> str:
    raw = value.strip().replace(" ", "").replace("-", "")
    digits = raw[1:] if raw.startswith("+") else raw
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        raise RowError(f"{name} {value.strip()!r} is not a phone number")
    return raw


def email(value: str) -> str | None:
    raw = value.strip()
    if not raw:
        return None
    local, at, domain = raw.partition("@")
    if not at or not local or "." not in domain or " " in raw:
        raise RowError(f"email {raw!r} is not an email address")
    return raw
