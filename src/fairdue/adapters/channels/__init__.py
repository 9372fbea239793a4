"""Channel senders: SMS, email and push leave fairdue through here.

`sender_for(url)` reads a URL-style channel setting (FAIRDUE_SMS_URL, FAIRDUE_EMAIL_URL,
FAIRDUE_PUSH_URL; docs/channels.md) and returns a `Sender`:

- `file://DIR`: one JSON file per message in DIR (the embedded default);
- `smtp://user:pass@host:port?starttls=1&from=...` (and `smtps://`): email;
- `http(s)://host:port/path`: fairdue's JSON SMS gateway protocol;
- `twilio://ACCOUNT_SID:AUTH_TOKEN@host:port?from=...`: Twilio's Messages API;
- `fcm://project@host:port?token=...`: Firebase Cloud Messaging HTTP v1.

Receipts that providers post back are read by `parse_gateway_receipt` and
`parse_twilio_receipt`.
"""

from __future__ import annotations

from pathlib import Path

from fairdue.errors import ConfigurationError

from .base import Sender, retry_after_seconds
from .fcm import FcmSender
from .file_sink import FileSink
from .gateway import GatewaySender, parse_gateway_receipt
from .ratelimit import RateLimitedSender, TokenBucket
from .redact import redact_channel_url
from .smtp import SmtpSender
from .twilio import TwilioSender, parse_twilio_receipt
from .url import parse_channel_url

__all__ = [
    "FcmSender",
    "FileSink",
    "GatewaySender",
    "RateLimitedSender",
    "Sender",
    "SmtpSender",
    "TokenBucket",
    "TwilioSender",
    "parse_gateway_receipt",
    "parse_twilio_receipt",
    "redact_channel_url",
    "retry_after_seconds",
    "sender_for",
]

DEFAULT_TIMEOUT = 10.0


def sender_for(url: str, *, rate_per_second: float | None = None, timeout: float = DEFAULT_TIMEOUT) -> Sender:
    """The sender a channel URL names, limited to `rate_per_second` messages when given.

    Raises `ConfigurationError` (with the URL's secrets hidden) for an unknown scheme or a
    missing part; opens no connection.
    """
    sender = _plain_sender(url, timeout)
    if rate_per_second is None:
        return sender
    return RateLimitedSender(sender, TokenBucket(rate_per_second))


def _plain_sender(url: str, timeout: float) -> Sender:
    if url.startswith("file://"):
        directory = url.removeprefix("file://")
        if not directory:
            raise ConfigurationError("channel URL file:// names no folder: use file://./outbox")
        return FileSink(Path(directory))
    parsed = parse_channel_url(url)
    match parsed.scheme:
        case "smtp" | "smtps":
            return SmtpSender(parsed, timeout=timeout)
        case "http" | "https":
            return GatewaySender(parsed, timeout=timeout)
        case "twilio":
            return TwilioSender(parsed, timeout=timeout)
        case "fcm":
            return FcmSender(parsed, timeout=timeout)
    raise ConfigurationError(
        f"unsupported channel URL {redact_channel_url(url)}: use file://DIR, "
        "smtp://user:pass@host:port?from=..., http(s)://gateway/path, "
        "twilio://ACCOUNT_SID:AUTH_TOKEN@host?from=... or fcm://project@host?token=..."
    )
