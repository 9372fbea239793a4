"""SMS through Twilio's Messages API, in Twilio's published wire format.

    POST /2010-04-01/Accounts/{AccountSid}/Messages.json   (HTTP basic auth SID:TOKEN)
    form: To, From (or MessagingServiceSid), Body, StatusCallback?
    201 {"sid": "SM...", "status": "queued", ...}
    4xx {"code": 21211, "message": "...", "status": 400, "more_info": "..."}

Status callbacks arrive as form fields MessageSid, MessageStatus, ErrorCode.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from fairdue.domain.messages import OutboundMessage, Receipt, SendResult
from fairdue.errors import InvalidInput

from .base import accepted, bad_address, permanent, transient
from .http import HttpChannel, json_body
from .url import ChannelURL

DEFAULT_HOST = "api.twilio.com"

# Twilio error codes that say the number cannot receive: never retry, mark the number.
# 21211 invalid 'To', 21614 not a mobile number, 21610 recipient replied STOP,
# 21612 cannot route to this number, 21217 number does not appear valid.
RECIPIENT_ERRORS = frozenset({21211, 21614, 21610, 21612, 21217})

# Delivery error codes in status callbacks that say the same of the number: 30005 unknown
# handset, 30006 landline or unreachable carrier, and the send-time codes above.
RECEIPT_RECIPIENT_ERRORS = RECIPIENT_ERRORS | {30005, 30006}

_STATUSES = {
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "sent": "sent",
    "queued": "sent",
    "accepted": "sent",
    "sending": "sent",
    "scheduled": "sent",
}


class TwilioSender(HttpChannel):
    """Sends SMS with Twilio's Messages API (or any server speaking it, for tests)."""

    provider = "twilio"

    def __init__(self, url: ChannelURL, *, timeout: float) -> None:
        if not url.username or not url.password:
            raise url.error("needs the Account SID and auth token: twilio://ACCOUNT_SID:AUTH_TOKEN@host")
        self._sender = {"From": url.params.get("from", "")}
        if service := url.params.get("messaging_service_sid"):
            self._sender = {"MessagingServiceSid": service}
        if not any(self._sender.values()):
            raise url.error("needs the sending number: ?from=+15550000000 (or ?messaging_service_sid=)")
        self._status_callback = url.params.get("status_callback") or None
        self._path = f"/2010-04-01/Accounts/{url.username}/Messages.json"
        self._auth = httpx.BasicAuth(url.username, url.password)
        scheme = "https" if url.flag("tls", True) else "http"
        port = f":{url.port}" if url.port else ""
        super().__init__(
            base_url=f"{scheme}://{url.host or DEFAULT_HOST}{port}",
            timeout=url.number("timeout", timeout),
            secrets=(url.password,),
        )

    def send(self, message: OutboundMessage) -> SendResult:
        form = {"To": message.to, **self._sender, "Body": message.body}
        if self._status_callback:
            form["StatusCallback"] = self._status_callback
        response = self._post(
            self._path,
            headers={"I-Twilio-Idempotency-Token": message.idempotency_key},
            auth=self._auth,
            data=form,
        )
        if isinstance(response, SendResult):
            return response
        body = json_body(response)
        if response.status_code in (200, 201):
            sid = body.get("sid")
            if isinstance(sid, str) and sid:
                return accepted(sid, f"twilio status {body.get('status', '?')}")
            return accepted(message.idempotency_key, "twilio answered without a sid")
        code = body.get("code")
        reason = f"error {code}: {body.get('message', '')}".strip()
        retry = self._retryable(response, reason)
        if retry is not None:
            return retry
        if 400 <= response.status_code < 500:
            # Recipient codes mark the number; any other 4xx refuses this message as written.
            if code in RECIPIENT_ERRORS:
                return bad_address(self._detail(response, reason))
            return permanent(self._detail(response, reason))
        return transient(self._detail(response, f"unexpected answer ({reason})"))


def parse_twilio_receipt(form: Mapping[str, str]) -> Receipt:
    """A receipt from a Twilio status callback's form fields; `InvalidInput` if malformed."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    if not sid:
        raise InvalidInput("a Twilio status callback needs MessageSid")
    raw_status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    status = _STATUSES.get(raw_status.lower(), "unknown")
    error = form.get("ErrorCode") or ""
    try:
        code = int(error) if error else None
    except ValueError:
        raise InvalidInput(f"a Twilio ErrorCode must be a number, not {error!r}") from None
    bad_number = status == "failed" and code in RECEIPT_RECIPIENT_ERRORS
    detail = f"twilio {raw_status or 'no status'}" + (f", error {code}" if code is not None else "")
    return Receipt(provider_id=sid, status=status, permanent=bad_number, detail=detail)
