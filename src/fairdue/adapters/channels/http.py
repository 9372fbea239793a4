"""What the HTTP providers (JSON gateway, Twilio, FCM) share: one httpx client, and the
mapping of network failures and status codes that mean the same thing everywhere.

A request that never reached the provider (connection refused, connect timeout) is
`transient`; one that may have reached it (the connection dropped or timed out after the
request was written) is `unknown`; 429 and 5xx are `transient`, with the provider's
Retry-After carried in the detail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from fairdue.domain.messages import SendResult

from .base import transient, unknown
from .redact import scrub

log = logging.getLogger("fairdue.channels")

# The request certainly did not leave: safe to send again, idempotency key or not.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class HttpChannel:
    """Base of the HTTP senders: a pooled client and `_post`, which never raises."""

    idempotent = True
    provider = "http"

    def __init__(self, *, base_url: str, timeout: float, secrets: Iterable[str]) -> None:
        self._base_url = base_url
        self._secrets = tuple(s for s in secrets if s)
        self._client = httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._base_url!r})"

    def _post(
        self, path: str, *, headers: Mapping[str, str], auth: httpx.Auth | None = None, **body: Any
    ) -> httpx.Response | SendResult:
        """POST to the provider: its response, or the result of a network failure."""
        try:
            return self._client.post(
                path, headers=dict(headers), auth=auth or httpx.USE_CLIENT_DEFAULT, **body
            )
        except _NOT_SENT as exc:
            return self._failed(transient, "could not connect", exc)
        except httpx.TransportError as exc:
            # Written, perhaps received, never answered: the provider may have the message.
            return self._failed(unknown, "no answer after the request was sent", exc)

    def _failed(self, make: Callable[[str], SendResult], what: str, exc: Exception) -> SendResult:
        detail = scrub(f"{self.provider}: {what} ({type(exc).__name__}: {exc})", self._secrets)
        log.warning("%s", detail)
        return make(detail)

    def _retryable(self, response: httpx.Response, what: str) -> SendResult | None:
        """`transient` for 429/5xx (and 401/403/408/409: fixable here, not the recipient)."""
        if response.status_code == 429 or response.status_code >= 500 or response.status_code in (
            401,
            403,
            408,
            409,
        ):
            reason = "check the channel's credentials" if response.status_code in (401, 403) else what
            return transient(
                self._detail(response, reason), retry_after=retry_after(response.headers.get("Retry-After"))
            )
        return None

    def _detail(self, response: httpx.Response, what: str) -> str:
        return scrub(f"{self.provider}: HTTP {response.status_code} {what}", self._secrets)


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or `{}` when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, round((when - (now or datetime.now(UTC))).total_seconds()))
