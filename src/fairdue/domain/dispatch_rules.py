"""What happens to an outbox message after a send attempt: the rules, without the I/O.

A provider accepted it: sent, and a receipt will say delivered or not. A transient failure
is retried after an exponentially growing, jittered delay, until the attempts run out and
the message goes to the dead letters with its reason. A permanent failure stops at once
and marks the contact point bad. An unknown outcome is recorded as such and never retried
blindly: the message may have gone out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fairdue.domain.messages import SendOutcome, SendResult

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)


def retry_delay(attempt: int, jitter: float) -> timedelta:
    """Delay before retry number `attempt` (1 = the first retry): 30 s doubling each time,
    capped at an hour, spread by `jitter` in [0, 1) over +/-20% so that a provider coming
    back is not hit by every retry at once."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be in [0, 1), got {jitter}")
    base: timedelta = min(BASE_DELAY * (2 ** (attempt - 1)), MAX_DELAY)
    return base * (0.8 + 0.4 * jitter)


@dataclass(frozen=True, slots=True)
class NextStep:
    status: str                      # sent | scheduled (retry) | dead | failed | unknown
    retry_at: datetime | None = None
    contact_point_bad: bool = False
    error: str | None = None


def after_send(result: SendResult, *, attempts: int, max_attempts: int, now: datetime,
               jitter: float) -> NextStep:
    """The message's next state after its `attempts`-th send (counting this one)."""
    if result.outcome is SendOutcome.ACCEPTED:
        return NextStep("sent")
    if result.outcome is SendOutcome.PERMANENT:
        return NextStep("failed", contact_point_bad=result.address_invalid,
                        error=result.detail or "refused")
    if result.outcome is SendOutcome.UNKNOWN:
        return NextStep("unknown", error=result.detail or "outcome unknown")
    if attempts >= max_attempts:
        return NextStep("dead", error=f"gave up after {attempts} attempts: {result.detail}")
    return NextStep("scheduled", retry_at=now + retry_delay(attempts, jitter),
                    error=result.detail or "transient failure")
