"""App push in the Firebase Cloud Messaging HTTP v1 format.

    POST /v1/projects/{project}/messages:send      Authorization: Bearer TOKEN
    {"message": {"token": T, "notification": {"title", "body"},
                 "data": {"contact_id", "idempotency_key", "language"}}}
    200 {"name": "projects/{project}/messages/{id}"}
    error {"error": {"code", "message", "status", "details": [{"errorCode": "UNREGISTERED"}]}}

The bearer token comes from the URL (`?token=`) or a file an outside refresher keeps
current (`?token_file=`, read at each send); fairdue runs no OAuth flow itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fairdue.domain.messages import OutboundMessage, SendResult

from .base import accepted, bad_address, permanent, transient
from .http import HttpChannel, json_body
from .url import ChannelURL

DEFAULT_HOST = "fcm.googleapis.com"

# FCM error codes that say the push token is dead or belongs elsewhere: mark the token.
TOKEN_ERRORS = frozenset({"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"})


class FcmSender(HttpChannel):
    """Sends push notifications through FCM HTTP v1 (or a server speaking it)."""

    provider = "fcm"
    idempotent = False  # FCM v1 takes no idempotency key: an unknown result is not resent

    def __init__(self, url: ChannelURL, *, timeout: float) -> None:
        # fcm://project@host:port; plain fcm://project means Google's own host.
        project, host = (url.username, url.host) if url.username else (url.host, "")
        if not project:
            raise url.error("names no Firebase project: fcm://PROJECT@host:port")
        token = url.params.get("token", "")
        token_file = url.params.get("token_file", "")
        if not token and not token_file:
            raise url.error("needs a bearer token: ?token=... or ?token_file=PATH")
        self._token = token
        self._token_file = Path(token_file) if token_file else None
        self._path = f"/v1/projects/{project}/messages:send"
        scheme = "https" if url.flag("tls", True) else "http"
        port = f":{url.port}" if url.port else ""
        super().__init__(
            base_url=f"{scheme}://{host or DEFAULT_HOST}{port}",
            timeout=url.number("timeout", timeout),
            secrets=(token,),
        )

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            token = self._bearer()
        except OSError as exc:
            return transient(f"fcm: cannot read the token file ({type(exc).__name__})")
        notification = {"body": message.body}
        if message.subject:
            notification["title"] = message.subject
        payload = {
            "message": {
                "token": message.to,
                "notification": notification,
                "data": {
                    "contact_id": message.contact_id,
                    "idempotency_key": message.idempotency_key,
                    "language": message.language,
                },
            }
        }
        response = self._post(self._path, headers={"Authorization": f"Bearer {token}"}, json=payload)
        if isinstance(response, SendResult):
            return response
        if response.status_code == 200:
            name = json_body(response).get("name")
            if isinstance(name, str) and name:
                return accepted(name)
            return accepted(message.idempotency_key, "fcm answered without a message name")
        code, reason = _error(json_body(response))
        if code in TOKEN_ERRORS:
            return bad_address(self._detail(response, reason))
        if response.status_code == 400:
            return permanent(self._detail(response, reason))
        retry = self._retryable(response, reason)
        if retry is not None:
            return retry
        # Any other 404 is a wrong project or path: a setting to fix, not a dead token.
        return transient(self._detail(response, reason))

    def _bearer(self) -> str:
        if self._token_file is None:
            return self._token
        token = self._token_file.read_text(encoding="utf-8").strip()
        if token not in self._secrets:
            self._secrets = (*self._secrets, token)
        return token


def _error(body: dict[str, Any]) -> tuple[str, str]:
    """FCM's error code (the FcmError detail's errorCode, else the status) and a reason."""
    error = body.get("error")
    if not isinstance(error, dict):
        return "", "no error body"
    code = str(error.get("status") or "")
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and detail.get("errorCode"):
            code = str(detail["errorCode"])
    return code, f"{code}: {error.get('message', '')}".strip()
