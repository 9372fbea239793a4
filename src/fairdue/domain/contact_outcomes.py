"""What a contact attempt's outcome means for the facts the policy escalates on.

A dialer reports `no_answer`, an agent records `refused`, a gateway reports `delivered`:
each changes, at once, how many times in a row a channel has failed, when the borrower was
last actually spoken to (a right-party contact), whether they have become unreachable on
every channel (S6) and how often they refused (S7). Those running summaries are kept per
borrower and channel so that the daily run reads a few rows per case, not a history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fairdue.domain.compliance.model import Channel, Outcome
from fairdue.errors import InvalidInput

#: What an agent or a dialer may record beyond the plain outcomes (compliance-rules.md):
#: each implies a connected conversation except `wrong_party`.
DISPOSITIONS: tuple[str, ...] = (
    "ptp", "paid", "refused", "dispute", "hardship", "wrong_party", "third_party",
)

#: Dispositions that open a restriction on further collection contact.
RESTRICTING: dict[str, str] = {"dispute": "dispute", "hardship": "hardship"}

#: Channels that count when judging whether the borrower is reachable at all.
REACH_CHANNELS: tuple[str, ...] = ("call", "sms", "email", "push")


@dataclass(frozen=True, slots=True)
class Interpreted:
    """A recorded outcome in the guard's terms plus what it tells the strategy."""

    outcome: Outcome           # what the compliance guard counts
    disposition: str | None    # the agent's finer code, if any
    reached_borrower: bool     # a right-party contact
    channel_worked: bool       # the number or address reached someone or was delivered
    refused: bool


def interpret(recorded: str) -> Interpreted:
    """Read a recorded outcome (`no_answer`, `delivered`, `ptp`, ...); unknown ones are
    refused with the list of known ones."""
    if recorded in DISPOSITIONS:
        if recorded == "wrong_party":
            return Interpreted(Outcome.CONVERSATION, recorded, False, False, False)
        return Interpreted(
            Outcome.CONVERSATION, recorded, recorded != "third_party", True, recorded == "refused"
        )
    try:
        outcome = Outcome(recorded)
    except ValueError:
        known = ", ".join([*(o.value for o in Outcome), *DISPOSITIONS])
        raise InvalidInput(f"unknown outcome {recorded!r}; use one of: {known}") from None
    worked = outcome in (Outcome.CONVERSATION, Outcome.DELIVERED)
    return Interpreted(outcome, None, outcome is Outcome.CONVERSATION, worked, False)


@dataclass(slots=True)
class ChannelState:
    """One borrower's standing on one channel."""

    last_planned_on: date | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0


@dataclass(slots=True)
class ContactStanding:
    """One borrower's standing over all channels."""

    last_rpc_at: datetime | None = None
    failed_in_a_row: int = 0
    unreachable_since: datetime | None = None
    refusals: int = 0
    promises_kept: int = 0
    promises_broken: int = 0


def apply_outcome(
    channel: ChannelState, standing: ContactStanding, at: datetime, seen: Interpreted,
    *, to_borrower: bool,
) -> None:
    """Fold one attempt into the running summaries. Attempts recorded late (older than the
    last one seen) still count, but never move a 'last' time backwards."""
    if channel.last_attempt_at is None or at > channel.last_attempt_at:
        channel.last_attempt_at = at
    if seen.channel_worked:
        if channel.last_success_at is None or at > channel.last_success_at:
            channel.last_success_at = at
        channel.consecutive_failures = 0
    else:
        channel.consecutive_failures += 1
    if seen.refused:
        standing.refusals += 1
    if not to_borrower:
        return
    if seen.reached_borrower and (standing.last_rpc_at is None or at > standing.last_rpc_at):
        standing.last_rpc_at = at
    if seen.channel_worked:
        standing.failed_in_a_row = 0
        standing.unreachable_since = None
    else:
        standing.failed_in_a_row += 1
        if standing.unreachable_since is None or at < standing.unreachable_since:
            standing.unreachable_since = at


def available_channels(*, has_phone: bool, has_email: bool, has_app: bool) -> tuple[str, ...]:
    """The channels a borrower can be reached by at all."""
    channels: list[str] = []
    if has_phone:
        channels += ["call", "sms"]
    if has_email:
        channels.append("email")
    if has_app:
        channels.append("push")
    return tuple(channels)


def days_between(earlier: datetime | date | None, day: date, zone: ZoneInfo) -> int | None:
    """Whole local days from `earlier` to the business date `day` (None stays None)."""
    if earlier is None:
        return None
    if isinstance(earlier, datetime):
        earlier = earlier.astimezone(zone).date()
    return (day - earlier).days


def days_unreachable(
    day: date, zone: ZoneInfo, standing: ContactStanding,
    channels: dict[str, ChannelState], available: tuple[str, ...],
) -> int | None:
    """Days the borrower has been unreachable on every channel they have (S6): every one has
    failed since the last success anywhere. None while any channel works or was never tried."""
    if standing.unreachable_since is None or not available:
        return None
    for name in available:
        state = channels.get(name)
        if state is None or state.consecutive_failures == 0:
            return None
    return days_between(standing.unreachable_since, day, zone)


def days_since_last(day: date, zone: ZoneInfo, state: ChannelState | None) -> int | None:
    """Days since the channel was last planned or tried; the policy's cadence reads it."""
    if state is None:
        return None
    last_attempt = days_between(state.last_attempt_at, day, zone)
    last_plan = days_between(state.last_planned_on, day, zone)
    known = [d for d in (last_attempt, last_plan) if d is not None]
    return min(known) if known else None


def channel_of(name: str) -> Channel:
    """A channel by name, refusing an unknown one with the list of known ones."""
    try:
        return Channel(name)
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        raise InvalidInput(f"unknown channel {name!r}; use one of: {known}") from None
