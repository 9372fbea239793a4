"""Reading channel URLs: which sender, what is wrong, and secrets never shown."""

from __future__ import annotations

import pytest

from fairdue.adapters.channels import (
    FcmSender,
    FileSink,
    GatewaySender,
    SmtpSender,
    TwilioSender,
    redact_channel_url,
    retry_after_seconds,
    sender_for,
)
from fairdue.adapters.channels.base import transient
from fairdue.adapters.channels.http import retry_after
from fairdue.errors import ConfigurationError


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("file://./outbox", FileSink),
        ("smtp://u:p@mail.example:587?from=a@lender.example", SmtpSender),
        ("smtps://u:p@mail.example?from=a@lender.example", SmtpSender),
        ("https://gw.example/sms", GatewaySender),
        ("http://127.0.0.1:9000/sms", GatewaySender),
        ("twilio://AC1:tok@api.twilio.com?from=%2B15550001111", TwilioSender),
        ("fcm://proj@fcm.googleapis.com?token=t", FcmSender),
        ("fcm://proj?token=t", FcmSender),
    ],
)
def test_each_scheme_names_its_sender(url: str, kind: type) -> None:
    sender = sender_for(url)
    assert isinstance(sender, kind)
    sender.close()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://u:s3cr3t@host/x", "unsupported channel URL"),
        ("file://", "names no folder"),
        ("twilio://AC1@host?from=%2B1", "auth token"),
        ("twilio://AC1:s3cr3t@host", "from="),
        ("fcm://proj@host", "bearer token"),
        ("fcm://proj@host?token=s3cr3t&tls=maybe", "tls"),
        ("smtp://u:s3cr3t@host:notaport?from=a@b", "port"),
        ("smtp://host?from=a@b&from=c@d", "more than once"),
        ("smtp://u:s3cr3t@host?from=a@b&timeout=0", "timeout"),
        ("http:///sms", "no host"),
    ],
)
def test_wrong_settings_say_what_is_wrong_without_the_secret(url: str, said: str) -> None:
    with pytest.raises(ConfigurationError, match=said) as caught:
        sender_for(url)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("smtp://user:pa%40ss@mail.example:587?starttls=1&from=a@b", "smtp://user:***@mail.example:587?starttls=1&from=a@b"),
        ("twilio://AC1:tok@api.twilio.com?from=%2B1", "twilio://AC1:***@api.twilio.com?from=+1"),
        ("fcm://proj@host:443?token=ya29.x&tls=0", "fcm://proj@host:443?token=***&tls=0"),
        ("https://gw.example/sms?api_key=k1&account=7", "https://gw.example/sms?api_key=***&account=7"),
        ("file://./outbox", "file://./outbox"),
        ("smtp://user:se:cret@host:bad", "smtp://user:***@host:bad"),
    ],
)
def test_redact_channel_url(url: str, shown: str) -> None:
    assert redact_channel_url(url) == shown


def test_repr_hides_secrets() -> None:
    for url in (
        "smtp://u:s3cr3t@mail.example?from=a@b",
        "twilio://AC1:s3cr3t@api.twilio.com?from=%2B1",
        "fcm://proj@host?token=s3cr3t",
        "https://u:s3cr3t@gw.example/sms?token=s3cr3t",
    ):
        sender = sender_for(url, rate_per_second=10)
        assert "s3cr3t" not in repr(sender), url


def test_retry_after() -> None:
    assert retry_after("120") == 120
    assert retry_after("soon") is None and retry_after(None) is None
    from datetime import UTC, datetime

    now = datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC)
    assert retry_after("Wed, 01 Jul 2026 10:00:30 GMT", now=now) == 30
    assert retry_after_seconds(transient("HTTP 503", retry_after=30)) == 30
    assert retry_after_seconds(transient("HTTP 503")) is None
