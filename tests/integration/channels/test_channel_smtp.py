"""Email over SMTP against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import pytest

from channel_servers import SMTP_PASSWORD, SMTP_USER, SmtpServer, free_port
from fairdue.adapters.channels import SmtpSender, sender_for
from fairdue.adapters.channels.smtp import message_id
from fairdue.domain.messages import OutboundMessage, SendOutcome
from fairdue.errors import ConfigurationError

OPT_OUT = "回复TD退订"
BODY_ZH = f"您好，您的借款已逾期3天，应还金额 ¥1,234.50。请通过App还款。官方热线 400-000-0000。{OPT_OUT}"


def email(to: str = "borrower@example.cn", *, key: str = "k-email-1", **kw: str) -> OutboundMessage:
    fields = {"language": "zh-CN", "body": BODY_ZH, "subject": "还款提醒：逾期3天"} | kw
    return OutboundMessage(
        contact_id="C1", idempotency_key=key, channel="email", to=to, borrower_id="B1", **fields
    )


def text(msg: EmailMessage) -> str:
    """The body as a reader sees it (a text part's canonical CRLF line ends as \\n)."""
    content: str = msg.get_content()
    return content.replace("\r\n", "\n").rstrip("\n")


def plain(server: SmtpServer) -> str:
    return f"smtp://{server.address}?starttls=0&from=collections@lender.example"


def test_email_arrives_with_headers_body_and_language(smtp_server: SmtpServer) -> None:
    result = sender_for(plain(smtp_server)).send(email())

    assert result.outcome is SendOutcome.ACCEPTED
    mail_from, rcpt_tos, _ = smtp_server.handler.messages[-1]
    assert (mail_from, rcpt_tos) == ("collections@lender.example", ["borrower@example.cn"])
    msg = smtp_server.handler.parsed()
    assert msg["From"] == "collections@lender.example"
    assert msg["To"] == "borrower@example.cn"
    assert msg["Subject"] == "还款提醒：逾期3天"
    assert msg["Content-Language"] == "zh-CN"
    assert msg["Date"] is not None and msg["Date"].datetime.tzinfo is not None
    assert msg["Message-ID"] == result.provider_id == message_id("k-email-1", "lender.example")
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert text(msg) == BODY_ZH
    assert OPT_OUT in text(msg)


def test_english_email_and_a_resend_keeps_the_message_id(smtp_server: SmtpServer) -> None:
    sender = sender_for(plain(smtp_server))
    message = email(language="en", subject="Payment reminder", body="You are 3 days overdue.\n.\nReply STOP")
    first, second = sender.send(message), sender.send(message)
    sender.send(email(key="k-email-2"))

    assert first.outcome is second.outcome is SendOutcome.ACCEPTED
    one, two, three = (smtp_server.handler.parsed(i) for i in range(3))
    assert one["Message-ID"] == two["Message-ID"] != three["Message-ID"]
    assert one["Content-Language"] == "en"
    # A line holding a lone dot survives SMTP's dot-stuffing.
    assert text(one) == "You are 3 days overdue.\n.\nReply STOP"


@pytest.mark.parametrize(
    ("to", "outcome", "said"),
    [
        ("nobody@example.cn", SendOutcome.PERMANENT, "550"),
        ("busy@example.cn", SendOutcome.TRANSIENT, "451"),
        ("spam@example.cn", SendOutcome.PERMANENT, "554"),
        ("drop@example.cn", SendOutcome.UNKNOWN, "after DATA"),
    ],
)
def test_smtp_refusals_map_to_outcomes(
    smtp_server: SmtpServer, to: str, outcome: SendOutcome, said: str
) -> None:
    result = sender_for(plain(smtp_server)).send(email(to))

    assert result.outcome is outcome
    assert said in result.detail
    assert smtp_server.handler.messages == []
    # A recipient refused (550) is a bad address; a message refused (554) is not.
    assert result.address_invalid == (said == "550")


def test_no_server_is_transient() -> None:
    url = f"smtp://127.0.0.1:{free_port()}?starttls=0&from=a@lender.example&timeout=2"
    result = sender_for(url).send(email())

    assert result.outcome is SendOutcome.TRANSIENT
    assert "could not connect" in result.detail


def test_starttls_and_login(tls_smtp_server: SmtpServer) -> None:
    url = (
        f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@{tls_smtp_server.address}"
        f"?starttls=1&from=collections@lender.example&cafile={tls_smtp_server.cafile}"
    )
    result = sender_for(url).send(email())

    assert result.outcome is SendOutcome.ACCEPTED, result.detail
    assert text(tls_smtp_server.handler.parsed()) == BODY_ZH


def test_wrong_password_is_transient_and_never_shown(
    tls_smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = (
        f"smtp://{SMTP_USER}:wrong-{SMTP_PASSWORD}@{tls_smtp_server.address}"
        f"?from=collections@lender.example&cafile={tls_smtp_server.cafile}"
    )
    sender = sender_for(url)
    result = sender.send(email())

    assert result.outcome is SendOutcome.TRANSIENT
    assert "login refused" in result.detail
    assert tls_smtp_server.handler.messages == []
    for text in (result.detail, repr(sender), caplog.text):
        assert SMTP_PASSWORD not in text


def test_starttls_refused_by_an_untrusted_certificate(tls_smtp_server: SmtpServer) -> None:
    url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@{tls_smtp_server.address}?from=a@lender.example"
    result = sender_for(url).send(email())

    assert result.outcome is SendOutcome.TRANSIENT
    assert "SSLCertVerificationError" in result.detail
    assert tls_smtp_server.handler.messages == []


def test_a_password_over_plain_smtp_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="unencrypted") as caught:
        sender_for("smtp://u:hunter2@mail.example:25?starttls=0&from=a@lender.example")
    assert "hunter2" not in str(caught.value)
    sender = sender_for("smtp://u:hunter2@mail.example:25?starttls=0&plain_auth=1&from=a@lender.example")
    assert isinstance(sender, SmtpSender)
    assert "hunter2" not in repr(sender)


def test_the_sender_address_is_required() -> None:
    with pytest.raises(ConfigurationError, match="from="):
        sender_for("smtp://mail.example:587")
