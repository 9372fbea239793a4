"""Restrictions a borrower or an agent puts on collection contact, and how the guard sees them.

A cease request, a dispute and an opt-out are rules of the profiles themselves (the guard's
own events, with the profile's reach: `us-regf` ceases everything, `cn` a medium). A
complaint under review, a hardship pause, a grace period and a do-not-contact flag are holds:
while one is in force no collection contact is made at all, whatever the policy says, so a
badly written policy cannot get past them (S13-S15).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fairdue.domain.compliance.model import Cease, Channel, Decision, Dispute, Event, OptOut
from fairdue.domain.compliance.profiles import CnParameters, Profile
from fairdue.errors import InvalidInput

GUARD_KINDS: tuple[str, ...] = ("cease", "dispute", "opt_out")
HOLD_KINDS: tuple[str, ...] = ("complaint", "hardship", "grace", "do_not_contact")
RESTRICTION_KINDS: tuple[str, ...] = GUARD_KINDS + HOLD_KINDS

_HOLD_SENTENCES: dict[str, str] = {
    "complaint": "We have paused collection contact while your complaint is looked into.",
    "hardship": "We have paused collection contact because you told us you are in hardship.",
    "grace": "You have a grace period; we will not contact you about payment until it ends.",
    "do_not_contact": "You asked us not to contact you, and we will not.",
}


@dataclass(frozen=True, slots=True)
class Restriction:
    """One restriction in force: what kind, on which channel (None: all), since when, and the
    last day it holds (None: until lifted)."""

    kind: str
    channel: str | None
    started_at: datetime
    until_on: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in RESTRICTION_KINDS:
            raise InvalidInput(
                f"unknown restriction {self.kind!r}; use one of: {', '.join(RESTRICTION_KINDS)}"
            )
        if self.kind == "opt_out" and self.channel is None:
            raise InvalidInput("an opt-out names the channel it applies to (--channel)")
        if self.channel is not None and self.channel not in Channel.__members__.values():
            known = ", ".join(c.value for c in Channel)
            raise InvalidInput(f"unknown channel {self.channel!r}; use one of: {known}")

    def in_force_on(self, day: date) -> bool:
        return self.until_on is None or day <= self.until_on


def guard_event(restriction: Restriction, debtor: str) -> Event | None:
    """The compliance guard's event for a cease, dispute or opt-out; None for a hold."""
    channel = Channel(restriction.channel) if restriction.channel else None
    at = restriction.started_at
    if restriction.kind == "cease":
        return Cease(at=at, debtor=debtor, channel=channel)
    if restriction.kind == "dispute":
        return Dispute(at=at, debtor=debtor, channel=channel)
    if restriction.kind == "opt_out":
        assert channel is not None
        return OptOut(at=at, debtor=debtor, channel=channel)
    return None


def hold_refusal(kinds: set[str] | frozenset[str], profile: Profile) -> Decision | None:
    """The refusal every collection contact gets while any hold is in force, or None."""
    held = [k for k in HOLD_KINDS if k in kinds]
    if not held:
        return None
    rule = "CN-12" if isinstance(profile.parameters, CnParameters) else "US-14"
    return Decision(False, (rule,), (" ".join(_HOLD_SENTENCES[k] for k in held),))
