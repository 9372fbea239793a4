"""The one shape every channel sender has, and the results senders build.

Like an httpx transport, a sender does one thing: `send` a rendered message and say what
the provider made of it. It never raises for a provider's answer or a network failure:
those become a `SendResult` (accepted, transient, permanent or unknown). Only a wrong
setting raises, and that happens in `sender_for`, at start-up.
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from fairdue.domain.messages import OutboundMessage, SendOutcome, SendResult


@runtime_checkable
class Sender(Protocol):
    """Sends one message to one provider; safe to call from several threads."""

    #: Whether the provider drops a second request with the same idempotency key. When it
    #: does not, an `unknown` result must not be sent again (at most once).
    idempotent: bool

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand `message` to the provider and say what it answered."""
        ...

    def close(self) -> None:
        """Release connections; the sender is not used again."""
        ...


_RETRY_AFTER = re.compile(r"\bretry-after=(\d+(?:\.\d+)?)s\b")


def accepted(provider_id: str, detail: str = "") -> SendResult:
    return SendResult(SendOutcome.ACCEPTED, provider_id=provider_id, detail=detail)


def transient(detail: str, *, retry_after: float | None = None) -> SendResult:
    """A failure worth retrying; `retry_after` (seconds) is written into the detail."""
    if retry_after is not None:
        detail = f"{detail}; retry-after={retry_after:g}s"
    return SendResult(SendOutcome.TRANSIENT, detail=detail)


def permanent(detail: str, *, address_invalid: bool = False) -> SendResult:
    return SendResult(SendOutcome.PERMANENT, detail=detail, address_invalid=address_invalid)


def bad_address(detail: str) -> SendResult:
    """A permanent failure of the address itself: the contact point is marked invalid."""
    return permanent(detail, address_invalid=True)


def unknown(detail: str) -> SendResult:
    return SendResult(SendOutcome.UNKNOWN, detail=detail)


def retry_after_seconds(result: SendResult) -> float | None:
    """The wait a provider asked for before the next attempt (Retry-After), if it gave one."""
    match = _RETRY_AFTER.search(result.detail)
    return float(match.group(1)) if match else None
