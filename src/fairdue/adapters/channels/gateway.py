"""fairdue's own JSON SMS gateway protocol (docs/channels.md): send and delivery receipts.

    POST {url}   Idempotency-Key: KEY
    {"id": KEY, "to": "+8613800000000", "text": "...", "language": "zh-CN", "callback_url": "..."}
    200/202 {"message_id": "..."}                  accepted
    4xx {"error": "invalid_number", "message"?}    permanent (the number is bad)
    429, 5xx (Retry-After honoured)                transient

    POST {url}/batch   (when the URL says ?batch=N: up to N messages a request)
    {"messages": [{"id": KEY, "to", "text", "language", "callback_url"?}, ...]}
    200 {"results": [{"id": KEY, "message_id": "..."} | {"id": KEY, "error": "...", "message"?}]}

The receipt callback the gateway POSTs back: {"message_id", "status", "error"?}, with
status delivered | failed | undeliverable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from fairdue.domain.messages import OutboundMessage, Receipt, SendResult
from fairdue.errors import ConfigurationError, InvalidInput

from .base import accepted, bad_address, permanent, transient, unknown
from .http import HttpChannel, json_body
from .url import ChannelURL

# Error codes in a gateway's 4xx answer that say the number itself cannot receive SMS.
RECIPIENT_ERRORS = frozenset({"invalid_number", "not_mobile", "unsubscribed"})

_RECEIPT_STATUSES = {
    "delivered": ("delivered", False),
    "failed": ("failed", False),
    "undeliverable": ("failed", True),
}

_OWN_PARAMS = ("callback_url", "token", "timeout", "batch")


class GatewaySender(HttpChannel):
    """Sends SMS through an HTTP gateway that speaks fairdue's JSON protocol."""

    provider = "sms gateway"

    def __init__(self, url: ChannelURL, *, timeout: float) -> None:
        host = url.require_host()
        port = f":{url.port}" if url.port else ""
        self._path = url.path or "/"
        extra = {k: v for k, v in url.params.items() if k not in _OWN_PARAMS}
        self._query = extra
        self._callback_url = url.params.get("callback_url") or None
        self._token = url.params.get("token") or None
        self._auth = httpx.BasicAuth(url.username, url.password) if url.username else None
        #: Messages per request on the batch endpoint; 1 means one request a message.
        self.batch_size = int(url.number("batch", 1))
        if self.batch_size < 1:
            raise ConfigurationError("the gateway URL's batch must be at least 1")
        super().__init__(
            base_url=f"{url.scheme}://{host}{port}",
            timeout=url.number("timeout", timeout),
            secrets=(url.password, self._token or ""),
        )

    def _payload(self, message: OutboundMessage) -> dict[str, str]:
        payload: dict[str, str] = {
            "id": message.idempotency_key,
            "to": message.to,
            "text": message.body,
            "language": message.language,
        }
        if self._callback_url:
            payload["callback_url"] = self._callback_url
        return payload

    def _headers(self, key: str | None) -> dict[str, str]:
        headers = {"Idempotency-Key": key} if key else {}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def send(self, message: OutboundMessage) -> SendResult:
        response = self._post(
            self._path, headers=self._headers(message.idempotency_key), auth=self._auth,
            json=self._payload(message), params=self._query or None,
        )
        if isinstance(response, SendResult):
            return response
        body = json_body(response)
        if response.status_code in (200, 201, 202):
            return self._answer(body, message.idempotency_key, response)
        return self._refused(response, body)

    def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Up to `batch_size` messages in one request to the batch endpoint; one result each,
        in order. A failure of the request itself is every message's result."""
        if not messages:
            return []
        response = self._post(
            f"{self._path.rstrip('/')}/batch", headers=self._headers(None), auth=self._auth,
            json={"messages": [self._payload(m) for m in messages]}, params=self._query or None,
        )
        if isinstance(response, SendResult):
            return [response] * len(messages)
        body = json_body(response)
        if response.status_code not in (200, 201, 202):
            return [self._refused(response, body)] * len(messages)
        results = body.get("results")
        by_key = {r.get("id"): r for r in results if isinstance(r, dict)} \
            if isinstance(results, list) else {}
        answers: list[SendResult] = []
        for message in messages:
            item = by_key.get(message.idempotency_key)
            if item is None:
                answers.append(unknown(f"{self.provider}: the batch answer has no result for "
                                       "this message"))
            elif item.get("error"):
                answers.append(self._item_refused(response, item))
            else:
                answers.append(self._answer(item, message.idempotency_key, response))
        return answers

    @staticmethod
    def _answer(body: Mapping[str, Any], key: str, response: httpx.Response) -> SendResult:
        message_id = body.get("message_id")
        if isinstance(message_id, str) and message_id:
            return accepted(message_id)
        return accepted(key, "the gateway answered without a message_id")

    def _item_refused(self, response: httpx.Response, body: Mapping[str, Any]) -> SendResult:
        error = str(body.get("error") or "")
        reason = f"{error}: {body['message']}" if body.get("message") else error or "refused"
        # invalid_number and its kin mark the number; any other error refuses this message
        # as written, and sending it again unchanged would be refused again.
        if error in RECIPIENT_ERRORS:
            return bad_address(self._detail(response, reason))
        return permanent(self._detail(response, reason))

    def _refused(self, response: httpx.Response, body: Mapping[str, Any]) -> SendResult:
        retry = self._retryable(response, str(body.get("error") or "the gateway is unavailable"))
        if retry is not None:
            return retry
        if 400 <= response.status_code < 500:
            return self._item_refused(response, body)
        error = str(body.get("error") or "")
        reason = f"{error}: {body['message']}" if body.get("message") else error or "refused"
        return transient(self._detail(response, f"unexpected answer ({reason})"))


def parse_gateway_receipt(payload: Mapping[str, Any] | str | bytes) -> Receipt:
    """A receipt from the gateway's callback body; `InvalidInput` when it is malformed."""
    if isinstance(payload, str | bytes):
        try:
            payload = json.loads(payload)
        except ValueError:
            raise InvalidInput("a gateway receipt must be a JSON object") from None
    if not isinstance(payload, Mapping):
        raise InvalidInput("a gateway receipt must be a JSON object")
    message_id = payload.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise InvalidInput("a gateway receipt needs \"message_id\", a non-empty string")
    status = payload.get("status")
    if status not in _RECEIPT_STATUSES:
        raise InvalidInput(
            f"a gateway receipt's \"status\" must be delivered, failed or undeliverable, not {status!r}"
        )
    mapped, bad_number = _RECEIPT_STATUSES[status]
    error = payload.get("error")
    detail = f"gateway {status}" + (f": {error}" if error else "")
    return Receipt(provider_id=message_id, status=mapped, permanent=bad_number, detail=detail)
