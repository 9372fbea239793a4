"""Email over SMTP with the standard library's smtplib.

`smtp://user:pass@host:587?starttls=1&from=collections@lender.example` (STARTTLS, then
AUTH when a user is given); `starttls=0` talks plain SMTP; `smtps://` is TLS from the
first byte (port 465). `cafile=PATH` trusts a private CA; `timeout=SECONDS`.

Outcomes: a 5xx refusal of the recipient or of the message is `permanent`; a 4xx, a
refused login, a failed connection or one lost before the message was sent is
`transient`; a connection lost after DATA was sent is `unknown` (the server may have
queued it). SMTP has no idempotency key, but the Message-ID is derived from it, so a
resend carries the same Message-ID and receiving systems may fold the two.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate

from fairdue.domain.messages import OutboundMessage, SendResult

from .base import accepted, bad_address, permanent, transient, unknown
from .redact import scrub
from .url import ChannelURL

log = logging.getLogger("fairdue.channels")

_DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


def message_id(idempotency_key: str, domain: str) -> str:
    """The Message-ID of the message with this key: the same on every resend."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}.fairdue@{domain}>"


class SmtpSender:
    """Sends each email over its own SMTP session."""

    idempotent = False  # the server takes no key: an unknown result is not resent

    def __init__(self, url: ChannelURL, *, timeout: float) -> None:
        self._host = url.require_host()
        self._implicit_tls = url.scheme == "smtps"
        self._starttls = not self._implicit_tls and url.flag("starttls", True)
        self._port = url.port or (_DEFAULT_PORTS[url.scheme] if self._starttls or self._implicit_tls else 25)
        self._from = url.params.get("from") or (url.username if "@" in url.username else "")
        if not self._from:
            raise url.error("needs the sender address: ?from=collections@lender.example")
        self._domain = self._from.rpartition("@")[2] or self._host
        self._user = url.username
        self._password = url.password
        if self._user and not (self._starttls or self._implicit_tls) and not url.flag("plain_auth", False):
            raise url.error(
                "would send the password unencrypted: use starttls=1 or smtps://, "
                "or say plain_auth=1 for a trusted local relay"
            )
        self._timeout = url.number("timeout", timeout)
        self._tls = ssl.create_default_context(cafile=url.params.get("cafile") or None)
        self._redacted = url.redacted

    def __repr__(self) -> str:
        return f"SmtpSender({self._redacted!r})"

    def close(self) -> None:
        pass

    def send(self, message: OutboundMessage) -> SendResult:
        msg_id = message_id(message.idempotency_key, self._domain)
        try:
            payload = self._build(message, msg_id)
        except (ValueError, TypeError) as exc:  # e.g. a newline in a header value
            return self._result(permanent, f"cannot build the email ({exc})")
        try:
            smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            return self._result(transient, f"login refused ({exc.smtp_code}); check the user and password")
        except (OSError, smtplib.SMTPException) as exc:
            return self._result(transient, f"could not connect ({type(exc).__name__}: {exc})")
        try:
            return self._transfer(smtp, message.to, payload, msg_id)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _build(self, message: OutboundMessage, msg_id: str) -> bytes:
        email = EmailMessage(policy=SMTP_POLICY)
        email["From"] = self._from
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = msg_id
        email.set_content(message.body, subtype="plain", charset="utf-8")
        # After set_content, which drops any Content-* header set before it.
        email["Content-Language"] = message.language
        return email.as_bytes()

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self._implicit_tls:
            smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout, context=self._tls)
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if self._starttls:
                smtp.starttls(context=self._tls)
                smtp.ehlo()
            if self._user:
                smtp.login(self._user, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _transfer(self, smtp: smtplib.SMTP, to: str, payload: bytes, msg_id: str) -> SendResult:
        try:
            code, reply = smtp.mail(self._from)
            if code != 250:
                # The sender refused is a setting to fix here, not a bad recipient.
                return self._result(transient, f"sender refused: {code} {_text(reply)}")
            code, reply = smtp.rcpt(to)
            if code not in (250, 251):
                make = bad_address if code >= 500 else transient
                return self._result(make, f"recipient refused: {code} {_text(reply)}")
        except (OSError, smtplib.SMTPException) as exc:
            return self._result(transient, f"connection lost before the message ({type(exc).__name__})")
        try:
            code, reply = smtp.data(payload)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing was sent
            make = permanent if exc.smtp_code >= 500 else transient
            return self._result(make, f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}")
        except (OSError, smtplib.SMTPException) as exc:
            return self._result(unknown, f"connection lost after DATA was sent ({type(exc).__name__})")
        if code != 250:
            make = permanent if code >= 500 else transient
            return self._result(make, f"message refused: {code} {_text(reply)}")
        return accepted(msg_id, f"smtp {code} {_text(reply)}"[:200])

    def _result(self, make: Callable[[str], SendResult], detail: str) -> SendResult:
        detail = scrub(f"smtp: {detail}", (self._password,))
        log.warning("%s %s", self._redacted, detail)
        return make(detail)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
