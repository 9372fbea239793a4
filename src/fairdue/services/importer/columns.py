"""Column-wise checks and conversions of imported text, with pyarrow.compute.

Checking a million rows one Python call per field was most of the import's time. Here each
column is checked and converted at once, but only against *strict* patterns, stricter than
the per-row validators in `services/validation.py`: every value that passes here would pass
there with the same result. A value that does not pass here is not rejected here: its row
goes to the per-row validators, which either accept it (e.g. `1200.5`, a padded field) or
reject it with their message. So the per-row validators stay the one definition of what is
valid and of every error message, and this module is only a fast way to say "certainly fine".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fairdue.domain.money import MINOR_UNITS

# Printable ASCII without space: a subset of what `validation.identifier` accepts.
ID = r"^[!-~]{1,40}$"
DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"
# Two-decimal currencies only (the caller checks the currency), at most 13 whole digits.
MONEY = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
# Currencies counted in hundredths, the only ones `money_minor` below handles.
TWO_PLACE_CURRENCY = "^(" + "|".join(sorted(c for c, d in MINOR_UNITS.items() if d == 2)) + ")$"
# A first or last character that no Python str.strip() removes (stricter than needed).
_END = r"[^\x00-\x20\x7f-\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
MOMENT = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-]([01][0-9]|2[0-3]):[0-5][0-9]$"


def text_pattern(max_len: int, *, required: bool = True) -> str:
    """Text of 1..max_len characters (or empty when not required) that strip() leaves as is."""
    body = f"{_END}(.{{0,{max_len - 2}}}{_END})?"
    return f"^{body}$" if required else f"^$|^{body}$"


def matches(column: pa.Array, pattern: str) -> pa.Array:
    """Boolean mask of values matching a regular expression (RE2 syntax)."""
    return pc.match_substring_regex(column, pattern)


def all_of(masks: Sequence[pa.Array]) -> pa.Array:
    result = masks[0]
    for mask in masks[1:]:
        result = pc.and_(result, mask)
    return pc.fill_null(result, False)


def day(column: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(ok mask, date32 column) for YYYY-MM-DD text; a date Arrow would roll over
    (2026-04-31 -> 2026-05-01) fails the round trip and so is not ok."""
    ok = matches(column, DATE)
    safe = pc.if_else(ok, column, "2000-01-01")
    parsed = pc.strptime(safe, format="%Y-%m-%d", unit="s", error_is_null=True)
    return all_of([ok, _same_day(parsed, safe)]), parsed.cast(pa.date32())


def _same_day(parsed: pa.Array, text: pa.Array) -> pa.Array:
    """Whether a parse kept the month and day written (Arrow rolls 04-31 over to 05-01)."""
    month = pc.cast(pc.utf8_slice_codeunits(text, 5, 7), pa.int64())
    day_ = pc.cast(pc.utf8_slice_codeunits(text, 8, 10), pa.int64())
    return pc.and_(pc.equal(pc.month(parsed), month), pc.equal(pc.day(parsed), day_))


def money_minor(column: pa.Array, *, positive: bool) -> tuple[pa.Array, pa.Array]:
    """(ok mask, int64 minor units) for plain decimal text with at most two places."""
    ok = matches(column, MONEY)
    safe = pc.if_else(ok, column, "0")
    padded = pc.replace_substring_regex(safe, r"^([0-9]+)$", r"\1.00")
    padded = pc.replace_substring_regex(padded, r"^([0-9]+)\.([0-9])$", r"\1.\20")
    minor = pc.cast(pc.replace_substring(padded, ".", ""), pa.int64())
    if positive:
        ok = pc.and_(ok, pc.greater(minor, 0))
    return pc.fill_null(ok, False), minor


def moment(column: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(ok mask, timestamp[s, UTC]) for `YYYY-MM-DDTHH:MM:SS+HH:MM` text."""
    ok = matches(column, MOMENT)
    safe = pc.if_else(ok, column, "2000-01-01T00:00:00+00:00")
    local_text = pc.utf8_slice_codeunits(safe, 0, 19)
    local = pc.strptime(local_text, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
    same = pc.and_(_same_day(local, local_text), _same_time(local, local_text))
    sign = pc.if_else(pc.equal(pc.utf8_slice_codeunits(safe, 19, 20), "-"), -1, 1)
    hours = pc.cast(pc.utf8_slice_codeunits(safe, 20, 22), pa.int64())
    minutes = pc.cast(pc.utf8_slice_codeunits(safe, 23, 25), pa.int64())
    offset_s = pc.multiply(sign, pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60)))
    seconds = pc.subtract(local.cast(pa.int64()), offset_s)
    utc = seconds.cast(pa.timestamp("s", tz="UTC"))
    return all_of([ok, same]), utc


def _same_time(parsed: pa.Array, text: pa.Array) -> pa.Array:
    """Whether a parse kept the hour, minute and second written (Arrow takes :60)."""
    checks = [pc.equal(part(parsed), pc.cast(pc.utf8_slice_codeunits(text, a, a + 2), pa.int64()))
              for part, a in ((pc.hour, 11), (pc.minute, 14), (pc.second, 17))]
    return all_of(checks)


def business_day(utc: pa.Array, zone: str) -> pa.Array:
    """date32 of UTC instants in the lender's IANA time zone."""
    local = pc.local_timestamp(utc.cast(pa.timestamp("s", tz=zone)))
    return local.cast(pa.date32())


def iso_days(days: pa.Array) -> pa.Array:
    return pc.cast(days, pa.string())


def utc_text(utc: pa.Array, *, sep: str, suffix: str) -> pa.Array:
    """`YYYY-MM-DD{sep}HH:MM:SS{suffix}` of UTC instants (whole seconds)."""
    text = pc.cast(utc.cast(pa.timestamp("s")), pa.string())
    if sep != " ":
        text = pc.replace_substring(text, " ", sep, max_replacements=1)
    return pc.binary_join_element_wise(text, suffix, "")


def bools(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean mask as numpy, null counting as False."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def ints(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Integers (or dates as days) as int64 numpy, null as 0: callers read only ok rows."""
    if pa.types.is_date32(values.type):
        values = values.cast(pa.int32())
    return np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
