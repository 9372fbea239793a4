"""Letters of authorisation for field visits (S9) and how a borrower checks them (S12).

A credential says: this agent (name, badge) may visit on behalf of this lender about this
case (an opaque reference, no personal data) within this window. Its payload is canonical
JSON, signed with the lender's Ed25519 key (the adapter signs; this module decides what is
signed). The short verification code printed on the letter is derived from the signature,
so it cannot be guessed without the key and changes with every letter: a borrower types the
badge and the code, and fairdue answers yes (with the window) or no (with the hotline).

Pure: times, keys' outputs and the hotline are passed in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from fairdue.errors import InvalidInput

PAYLOAD_VERSION = 1
#: Crockford's base 32: no I, L, O or U, so a code read aloud or typed is not mistaken.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_LENGTH = 8


class Outcome(StrEnum):
    """What one verification attempt found."""

    VERIFIED = "verified"
    UNKNOWN_BADGE = "unknown_badge"
    WRONG_CODE = "wrong_code"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Authorisation:
    """What a letter of authorisation states; `payload()` is exactly what is signed."""

    credential_id: str
    visit_id: str
    badge: str
    agent_name: str
    lender: str
    case_ref: str
    valid_from: datetime
    valid_to: datetime
    issued_at: datetime

    def __post_init__(self) -> None:
        for name in ("valid_from", "valid_to", "issued_at"):
            if getattr(self, name).tzinfo is None:
                raise InvalidInput(f"credential {name} needs a UTC offset")
        if not self.valid_from < self.valid_to:
            raise InvalidInput("a credential's validity must start before it ends")

    def payload(self) -> dict[str, Any]:
        return {
            "v": PAYLOAD_VERSION, "credential_id": self.credential_id, "visit_id": self.visit_id,
            "badge": self.badge, "agent_name": self.agent_name, "lender": self.lender,
            "case_ref": self.case_ref, "valid_from": _utc_text(self.valid_from),
            "valid_to": _utc_text(self.valid_to), "issued_at": _utc_text(self.issued_at),
        }

    def signed_bytes(self) -> bytes:
        return canonical(self.payload())


def canonical(payload: dict[str, Any]) -> bytes:
    """The bytes signed: sorted keys, no spaces, UTF-8 (anyone can recompute them)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def case_reference(keyed_digest_hex: str) -> str:
    """An opaque case reference for a letter, from a keyed hash of the case id: the borrower
    and the lender can match it, a stranger reading the letter learns nothing."""
    if len(keyed_digest_hex) < 10:
        raise InvalidInput("a case reference needs at least 10 hex digits of a keyed hash")
    return "CR-" + keyed_digest_hex[:10].upper()


def verification_code(signature: bytes) -> str:
    """The short code on the letter: 40 bits of SHA-256 of the signature in Crockford base
    32, shown as XXXX-XXXX."""
    number = int.from_bytes(hashlib.sha256(signature).digest()[:5], "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    code = "".join(reversed(chars))
    return f"{code[:4]}-{code[4:]}"


def normalise_code(text: str) -> str | None:
    """A code as typed (any case, spaces or dashes, O for 0, I or L for 1) in its printed
    form, or None when it cannot be a code."""
    compact = "".join(ch for ch in text.upper() if ch not in " -\t").translate(_READ_AS)
    if len(compact) != CODE_LENGTH or any(ch not in _ALPHABET for ch in compact):
        return None
    return f"{compact[:4]}-{compact[4:]}"


def validity_window(slot_start: datetime, slot_end: datetime, margin: timedelta
                    ) -> tuple[datetime, datetime]:
    """A credential is good from `margin` before the appointment to `margin` after it:
    enough for traffic, not a licence to call any other day."""
    if margin < timedelta(0):
        raise InvalidInput("the credential margin cannot be negative")
    if not slot_start < slot_end:
        raise InvalidInput("an appointment must start before it ends")
    return slot_start - margin, slot_end + margin


def judge(now: datetime, valid_from: datetime, valid_to: datetime, revoked: bool) -> Outcome:
    """Whether a genuine credential is good at `now`."""
    if revoked:
        return Outcome.REVOKED
    if now < valid_from:
        return Outcome.NOT_YET_VALID
    if now > valid_to:
        return Outcome.EXPIRED
    return Outcome.VERIFIED


def verified_message(valid_from: datetime, valid_to: datetime, zone: ZoneInfo, agent_name: str,
                     badge: str) -> str:
    """The sentence a borrower sees when the check succeeds, times in their own zone."""
    start, end = valid_from.astimezone(zone), valid_to.astimezone(zone)
    until = f"{end:%H:%M}" if start.date() == end.date() else f"{end:%Y-%m-%d %H:%M}"
    return (f"verified: this person is authorised to visit you between {start:%Y-%m-%d %H:%M} "
            f"and {until} ({zone.key}): {agent_name}, badge {badge}")


def refused_message(hotline: str) -> str:
    """The sentence a borrower sees for every failure, whatever the reason: telling a caller
    which part was wrong would help someone guess."""
    return f"not verified: do not pay anyone, call the official hotline {hotline}"


@dataclass(frozen=True, slots=True)
class AlertRule:
    """`failures` failed checks of one badge within `window` raise an alert (someone may be
    posing as that collector); one alert per badge per window."""

    failures: int = 3
    window: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.failures < 1 or self.window <= timedelta(0):
            raise InvalidInput("an alert needs at least one failure over a positive window")

    def raises(self, failures_in_window: int, last_alert_at: datetime | None, now: datetime) -> bool:
        if failures_in_window < self.failures:
            return False
        return last_alert_at is None or now - last_alert_at >= self.window
