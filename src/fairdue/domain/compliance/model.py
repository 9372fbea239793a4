"""The vocabulary of a contact history, as the compliance guard reads it.

Every event is a frozen value: the guard never changes history, it only reads it to decide
whether the next contact may be made. Times must carry an offset (aware datetimes) because
every window is judged in the borrower's own time zone, and a naive time has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fairdue.errors import InvalidInput


class Channel(StrEnum):
    """How a contact reaches the person; `voicemail_ringless` drops a voicemail without ringing."""

    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    VISIT = "visit"
    VOICEMAIL_RINGLESS = "voicemail_ringless"


class Party(StrEnum):
    """Who was contacted: the borrower, or a third party (a contact, 紧急联系人)."""

    DEBTOR = "debtor"
    CONTACT = "contact"


class Outcome(StrEnum):
    """What an attempt achieved; only `conversation` means a person was actually reached."""

    CONVERSATION = "conversation"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    NOT_CONNECTED = "not_connected"
    DELIVERED = "delivered"
    FAILED = "failed"


#: Channels that place a telephone call (ringless voicemail counts as one under Regulation F).
TELEPHONE_CHANNELS: frozenset[Channel] = frozenset({Channel.CALL, Channel.VOICEMAIL_RINGLESS})

#: Outcomes of a call that never connected to the dialled number (busy, not in service).
NEVER_CONNECTED: frozenset[Outcome] = frozenset(
    {Outcome.BUSY, Outcome.NOT_CONNECTED, Outcome.FAILED}
)

#: Outcomes that `cn` counts as an unanswered dial (per number, per local day).
UNANSWERED: frozenset[Outcome] = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.NOT_CONNECTED})

#: Outcomes each channel can end with; used to judge a planned contact by its worst case.
POSSIBLE_OUTCOMES: dict[Channel, tuple[Outcome, ...]] = {
    Channel.CALL: (
        Outcome.CONVERSATION, Outcome.VOICEMAIL, Outcome.NO_ANSWER, Outcome.BUSY,
        Outcome.NOT_CONNECTED,
    ),
    Channel.VOICEMAIL_RINGLESS: (Outcome.VOICEMAIL, Outcome.DELIVERED, Outcome.NOT_CONNECTED),
    Channel.VISIT: (Outcome.CONVERSATION, Outcome.NO_ANSWER),
    Channel.SMS: (Outcome.DELIVERED, Outcome.FAILED),
    Channel.EMAIL: (Outcome.DELIVERED, Outcome.FAILED),
    Channel.PUSH: (Outcome.DELIVERED, Outcome.FAILED),
}


def require_aware(at: datetime, what: str) -> None:
    """Refuse a naive time: without an offset nobody can tell the borrower's local hour."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"{what} time {at.isoformat()} has no UTC offset; give e.g. +08:00")


def _debts(debts: tuple[str, ...], what: str) -> None:
    for debt in debts:
        if not debt:
            raise InvalidInput(f"{what} names an empty debt id; leave debts empty instead")


@dataclass(frozen=True, slots=True)
class Attempt:
    """A contact the collector makes (or wants to make) to the debtor or a third party.

    `debts` empty means the contact is about no particular debt. `collectors` matters only
    for visits (how many collectors go); a visit without it is taken to be one collector.
    """

    at: datetime
    channel: Channel
    debtor: str
    debts: tuple[str, ...] = ()
    party: Party = Party.DEBTOR
    to: str = ""
    agency: str = ""
    outcome: Outcome = Outcome.NO_ANSWER
    collectors: int | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            require_aware(self.at, "attempt")
        if "" in self.debts:
            _debts(self.debts, "attempt")
        if not self.debtor:
            raise InvalidInput("attempt has an empty debtor id")
        if self.collectors is not None and self.collectors < 1:
            raise InvalidInput(f"attempt has {self.collectors} collectors; at least 1 is needed")


@dataclass(frozen=True, slots=True)
class Inbound:
    """A conversation the debtor started (they called in); it is not a collector's attempt."""

    at: datetime
    debtor: str
    channel: Channel = Channel.CALL
    debts: tuple[str, ...] = ()
    outcome: Outcome = Outcome.CONVERSATION

    def __post_init__(self) -> None:
        require_aware(self.at, "inbound")
        _debts(self.debts, "inbound")


@dataclass(frozen=True, slots=True)
class Consent:
    """The debtor's direct consent to contact by `scope` (a channel name, or "all").

    `agreed_window` (start, end) is a time the debtor agreed to be contacted at, which in `cn`
    lifts the quiet window for contacts inside it. `debts` empty means all their debts.
    """

    at: datetime
    debtor: str
    scope: str = "call"
    debts: tuple[str, ...] = ()
    agreed_window: tuple[datetime, datetime] | None = None

    def __post_init__(self) -> None:
        require_aware(self.at, "consent")
        _debts(self.debts, "consent")
        if self.scope != "all" and self.scope not in Channel.__members__.values():
            known = ", ".join(["all", *(c.value for c in Channel)])
            raise InvalidInput(f"consent scope {self.scope!r} is unknown; use one of: {known}")
        if self.agreed_window is not None:
            start, end = self.agreed_window
            require_aware(start, "agreed window start")
            require_aware(end, "agreed window end")
            if end <= start:
                raise InvalidInput(
                    f"agreed window ends ({end.isoformat()}) before it starts ({start.isoformat()})"
                )

    def covers(self, channel: Channel) -> bool:
        """Whether this consent speaks for contacts by `channel`."""
        if self.scope == "all":
            return True
        if self.scope == Channel.CALL:
            return channel in TELEPHONE_CHANNELS
        return self.scope == channel


@dataclass(frozen=True, slots=True)
class Cease:
    """A request to stop contact.

    `to` set: stop every contact to that number or address (a contact who refuses further
    calls, or a number the debtor asked us to stop using). Otherwise the profile decides the
    reach: `us-regf` stops all collection contact (the channel is only the medium the request
    came by), `cn` stops the channel named, or every channel when none is named.
    `debts` empty means all the debtor's debts.
    """

    at: datetime
    debtor: str
    channel: Channel | None = None
    to: str | None = None
    debts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_aware(self.at, "cease")
        _debts(self.debts, "cease")


@dataclass(frozen=True, slots=True)
class Dispute:
    """The debtor disputes the debt(s) (all of them when `debts` is empty)."""

    at: datetime
    debtor: str
    channel: Channel | None = None
    debts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_aware(self.at, "dispute")
        _debts(self.debts, "dispute")


@dataclass(frozen=True, slots=True)
class DisputeAnswered:
    """The collector has answered the dispute (verification sent); collection may resume."""

    at: datetime
    debtor: str
    debts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_aware(self.at, "dispute answer")
        _debts(self.debts, "dispute answer")


@dataclass(frozen=True, slots=True)
class OptOut:
    """The debtor opted out of one channel (optionally only of one number or address)."""

    at: datetime
    debtor: str
    channel: Channel
    to: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.at, "opt-out")


@dataclass(frozen=True, slots=True)
class DebtorInfo:
    """Where the debtor may be (IANA zone names, all of them when location data conflict).

    `unreachable` is an operator's finding (dead, lacks capacity, every number dead) that
    opens contact with third parties in `cn`; the guard also infers it from failed attempts.
    """

    debtor: str
    timezones: tuple[str, ...]
    unreachable: bool = False

    def __post_init__(self) -> None:
        if not self.timezones:
            raise InvalidInput(f"debtor {self.debtor!r} needs at least one time zone")


Event = Attempt | Inbound | Consent | Cease | Dispute | DisputeAnswered | OptOut | DebtorInfo


@dataclass(frozen=True, slots=True)
class Decision:
    """The guard's answer: allowed or not, the rule ids that refused, and why in plain words."""

    allowed: bool
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


ALLOWED = Decision(True)
