"""A message on its way out, and what a channel provider said about it.

The outbox holds decided contacts; the dispatcher renders one into an `OutboundMessage`
(text already final, addressed, with the idempotency key the provider will see) and hands
it to the channel's sender, which answers with a `SendResult`. Providers differ in wire
formats, never in these two shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SendOutcome(StrEnum):
    """What a send attempt established.

    `accepted`: the provider took the message (delivery comes later, as a receipt);
    `transient`: worth retrying (timeout, 5xx, rate limited); `permanent`: never retry (no
    such number, hard bounce, invalid token) and mark the contact point; `unknown`: the
    request may or may not have reached the provider (connection lost after sending), so a
    provider without idempotency must not be sent the message again.
    """

    ACCEPTED = "accepted"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    contact_id: str
    idempotency_key: str
    channel: str            # "sms" | "email" | "push"
    to: str                 # E.164 phone number, email address or push token
    language: str           # "zh-CN" | "en"
    body: str
    subject: str | None = None   # email only
    borrower_id: str = ""


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: SendOutcome
    provider_id: str | None = None   # the provider's own message id, for receipts
    detail: str = ""                 # a short reason, never containing secrets
    #: A permanent failure because of the address itself (no such number, hard bounce,
    #: dead push token), as opposed to this message being refused: only then is the
    #: contact point marked invalid.
    address_invalid: bool = False


@dataclass(frozen=True, slots=True)
class Receipt:
    """A provider's later word on a message: delivered, failed, bounced, ..."""

    provider_id: str
    status: str                      # "delivered" | "failed" | "bounced" | "sent" | "unknown"
    permanent: bool = False          # the contact point itself is bad (invalid number, hard bounce)
    detail: str = ""
