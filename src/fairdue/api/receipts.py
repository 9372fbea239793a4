"""`POST /api/v1/receipts/{channel}`: a gateway's delivery receipt, applied to its message.

Two wire formats, told apart by Content-Type (docs/channels.md): fairdue's JSON gateway
receipt (`application/json`), and Twilio's status callback
(`application/x-www-form-urlencoded`, read from the raw body so no multipart library is
needed).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from fairdue.adapters.channels import parse_gateway_receipt, parse_twilio_receipt
from fairdue.api.deps import AppDep, require_receipt_token
from fairdue.api.problems import Problem, problem_responses
from fairdue.domain.messages import Receipt
from fairdue.errors import InvalidInput
from fairdue.services.receipts import apply_receipt

router = APIRouter(tags=["receipts"])

FORM = "application/x-www-form-urlencoded"


class ReceiptApplied(BaseModel):
    contact_id: str
    status: str
    changed: bool


async def raw_body(request: Request) -> tuple[str, bytes]:
    """The request's media type and body, read in the event loop for a sync route."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media, await request.body()


def read_receipt(media: str, body: bytes) -> Receipt:
    """The receipt in `body`; a 415 or 400 problem when it cannot be one."""
    if media not in ("", FORM, "application/json") and not media.endswith("+json"):
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      f"a receipt is sent as application/json (fairdue's gateway receipt) or "
                      f"{FORM} (a Twilio status callback), not {media}")
    try:
        if media == FORM:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput("a Twilio status callback must be UTF-8 form data") from None
            form = {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}
            return parse_twilio_receipt(form)
        return parse_gateway_receipt(body)
    except InvalidInput as exc:
        raise Problem(400, "malformed-receipt", "Malformed receipt", str(exc)) from None


_OPENAPI_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {
        "type": "object", "required": ["message_id", "status"],
        "properties": {"message_id": {"type": "string"},
                       "status": {"enum": ["delivered", "failed", "undeliverable"]},
                       "error": {"type": "string"}}}},
    FORM: {"schema": {
        "type": "object", "required": ["MessageSid", "MessageStatus"],
        "properties": {"MessageSid": {"type": "string"}, "MessageStatus": {"type": "string"},
                       "ErrorCode": {"type": "string"}}}},
}}}


@router.post(
    "/receipts/{channel}",
    dependencies=[Depends(require_receipt_token)],
    openapi_extra=_OPENAPI_BODY,
    responses=problem_responses(400, 401, 404, 415, 422),
    summary="Apply a gateway's delivery receipt",
)
def post_receipt(channel: Literal["sms", "email", "push"], application: AppDep,
                 body: Annotated[tuple[str, bytes], Depends(raw_body)]) -> ReceiptApplied:
    """Make the message the provider names delivered or failed; a permanent failure marks
    the contact point invalid. A repeated receipt changes nothing (`changed: false`)."""
    receipt = read_receipt(*body)
    applied = apply_receipt(application, receipt, channel=channel)
    return ReceiptApplied(contact_id=applied.contact_id, status=applied.status,
                          changed=applied.changed)
