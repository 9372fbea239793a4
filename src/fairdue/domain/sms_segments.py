"""How many SMS parts a text costs: GSM-7 when every character is in the GSM 03.38 alphabet,
UCS-2 otherwise (one Chinese character, or one emoji, switches the whole message).

A single message holds 160 GSM-7 septets or 70 UCS-2 units. A longer text is sent as a
concatenated message whose parts each lose room to the concatenation header: 153 septets
or 67 units a part. Characters of the GSM-7 extension table (`^ { } \\ [ ~ ] | €` and form
feed) take two septets (escape + character), and a pair is never split across parts; a
UCS-2 character outside the Basic Multilingual Plane (most emoji) takes two units, kept
together likewise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# 3GPP TS 23.038 basic character set (the escape code 0x1B is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each of these costs an escape septet too.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67


class SmsEncoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SmsLength:
    """A text's encoding, its length in that encoding's units, and the parts it is sent in."""

    encoding: SmsEncoding
    units: int
    segments: int

    def describe(self) -> str:
        plural = "s" if self.segments != 1 else ""
        return f"{self.segments} segment{plural} ({self.encoding}, {self.units} units)"


def is_gsm7(text: str) -> bool:
    """Whether every character of `text` can be sent in the GSM-7 alphabet (with its extension)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _unit_sizes(text: str, encoding: SmsEncoding) -> list[int]:
    if encoding is SmsEncoding.GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_length(text: str) -> SmsLength:
    """The encoding, units and number of parts of `text` as one SMS; an empty text is 1 part."""
    encoding = SmsEncoding.GSM7 if is_gsm7(text) else SmsEncoding.UCS2
    sizes = _unit_sizes(text, encoding)
    units = sum(sizes)
    single, part = (
        (GSM7_SINGLE, GSM7_PART) if encoding is SmsEncoding.GSM7 else (UCS2_SINGLE, UCS2_PART)
    )
    if units <= single:
        return SmsLength(encoding, units, 1)
    segments, used = 1, 0
    for size in sizes:
        if used + size > part:     # a two-unit character is never split across parts
            segments, used = segments + 1, 0
        used += size
    return SmsLength(encoding, units, segments)
