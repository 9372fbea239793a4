"""SMS (fairdue's JSON gateway, Twilio) and push (FCM) against a local HTTP server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from channel_servers import FCM_TOKEN, TWILIO_SID, TWILIO_TOKEN, ProviderServer, Reply, free_port
from fairdue.adapters.channels import Sender, retry_after_seconds, sender_for
from fairdue.domain.messages import OutboundMessage, SendOutcome

SMS_TEXT = "【某某消费金融】您的借款已逾期3天，应还 ¥1,234.50。官方热线400-000-0000。回复TD退订"


def sms(key: str = "k-sms-1", to: str = "+8613800000001") -> OutboundMessage:
    return OutboundMessage(
        contact_id="C7", idempotency_key=key, channel="sms", to=to, language="zh-CN", body=SMS_TEXT
    )


def push(key: str = "k-push-1", subject: str | None = "还款提醒") -> OutboundMessage:
    return OutboundMessage(
        contact_id="C9", idempotency_key=key, channel="push", to="fcm-device-token-1",
        language="zh-CN", body=SMS_TEXT, subject=subject,
    )


def gateway(provider: ProviderServer, query: str = "") -> Sender:
    return sender_for(f"http://{provider.address}/sms/send{query}")


def twilio(provider: ProviderServer, token: str = TWILIO_TOKEN) -> Sender:
    return sender_for(f"twilio://{TWILIO_SID}:{token}@{provider.address}?tls=0&from=%2B15550001111")


def fcm(provider: ProviderServer) -> Sender:
    return sender_for(f"fcm://fairdue-app@{provider.address}?tls=0&token={FCM_TOKEN}")


# --- the JSON gateway ------------------------------------------------------------------


def test_gateway_posts_json_with_the_idempotency_key(provider: ProviderServer) -> None:
    sender = gateway(provider, "?callback_url=https://fairdue.example/api/v1/receipts/sms")
    result = sender.send(sms())

    assert (result.outcome, result.provider_id) == (SendOutcome.ACCEPTED, "gw-1")
    [request] = provider.requests
    assert request.path == "/sms/send"
    assert request.headers["idempotency-key"] == "k-sms-1"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "id": "k-sms-1",
        "to": "+8613800000001",
        "text": SMS_TEXT,
        "language": "zh-CN",
        "callback_url": "https://fairdue.example/api/v1/receipts/sms",
    }
    assert sender.idempotent


def test_gateway_credentials_go_as_headers_not_in_the_url(provider: ProviderServer) -> None:
    sender = sender_for(f"http://gw:pw-secret@{provider.address}/sms?token=bearer-secret&account=7")
    assert sender.send(sms()).outcome is SendOutcome.ACCEPTED

    [request] = provider.requests
    assert request.basic_auth() == ("gw", "pw-secret")
    assert request.query == {"account": ["7"]}   # its own parameters pass; token and others do not
    assert "callback_url" not in request.json()
    assert "pw-secret" not in repr(sender) and "bearer-secret" not in repr(sender)


def test_gateway_that_is_not_listening_is_transient() -> None:
    result = sender_for(f"http://127.0.0.1:{free_port()}/sms").send(sms())

    assert result.outcome is SendOutcome.TRANSIENT
    assert "could not connect" in result.detail


def test_after_a_dropped_connection_the_next_send_goes_through(provider: ProviderServer) -> None:
    sender = gateway(provider)
    provider.answer_next(Reply(drop=True))

    assert [sender.send(sms(k)).outcome for k in ("a", "b")] == [SendOutcome.UNKNOWN, SendOutcome.ACCEPTED]
    assert [r.json()["id"] for r in provider.requests] == ["a", "b"]


# --- Twilio ------------------------------------------------------------------------------


def test_twilio_posts_its_form_with_basic_auth(provider: ProviderServer) -> None:
    sender = twilio(provider)
    result = sender.send(sms())

    assert result.outcome is SendOutcome.ACCEPTED
    assert result.provider_id == f"SM{1:032d}"
    [request] = provider.requests
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.basic_auth() == (TWILIO_SID, TWILIO_TOKEN)
    assert request.headers["i-twilio-idempotency-token"] == "k-sms-1"
    assert request.form() == {"To": "+8613800000001", "From": "+15550001111", "Body": SMS_TEXT}
    assert TWILIO_TOKEN not in repr(sender)


def test_twilio_status_callback_and_messaging_service(provider: ProviderServer) -> None:
    sender = sender_for(
        f"twilio://{TWILIO_SID}:{TWILIO_TOKEN}@{provider.address}?tls=0&messaging_service_sid=MG1"
        "&status_callback=https://fairdue.example/api/v1/receipts/sms"
    )
    assert sender.send(sms()).outcome is SendOutcome.ACCEPTED
    form = provider.requests[0].form()
    assert form["MessagingServiceSid"] == "MG1" and "From" not in form
    assert form["StatusCallback"] == "https://fairdue.example/api/v1/receipts/sms"


def twilio_error(status: int, code: int, message: str = "error") -> Reply:
    return Reply(status, {"code": code, "message": message, "more_info": "", "status": status})


def test_twilio_wrong_token_is_transient_and_never_shown(
    provider: ProviderServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender = twilio(provider, token="wrong-token-secret")
    result = sender.send(sms())

    assert result.outcome is SendOutcome.TRANSIENT
    assert "credentials" in result.detail
    for text in (result.detail, repr(sender), caplog.text):
        assert "wrong-token-secret" not in text


# --- FCM ---------------------------------------------------------------------------------


def test_fcm_posts_a_v1_message_with_the_bearer_token(provider: ProviderServer) -> None:
    sender = fcm(provider)
    result = sender.send(push())

    assert (result.outcome, result.provider_id) == (SendOutcome.ACCEPTED, "projects/fairdue-app/messages/1")
    [request] = provider.requests
    assert request.path == "/v1/projects/fairdue-app/messages:send"
    assert request.headers["authorization"] == f"Bearer {FCM_TOKEN}"
    assert request.json() == {
        "message": {
            "token": "fcm-device-token-1",
            "notification": {"title": "还款提醒", "body": SMS_TEXT},
            "data": {"contact_id": "C9", "idempotency_key": "k-push-1", "language": "zh-CN"},
        }
    }
    assert not sender.idempotent
    assert FCM_TOKEN not in repr(sender)


def test_fcm_token_file_is_read_at_send_time(provider: ProviderServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("stale\n")
    sender = sender_for(f"fcm://fairdue-app@{provider.address}?tls=0&token_file={token_file}")
    assert sender.send(push("a")).outcome is SendOutcome.TRANSIENT    # refused: the stale token
    token_file.write_text(FCM_TOKEN + "\n")
    assert sender.send(push("b", subject=None)).outcome is SendOutcome.ACCEPTED
    assert provider.requests[1].json()["message"]["notification"] == {"body": SMS_TEXT}


def fcm_error(status: int, name: str, code: str | None = None) -> Reply:
    fcm_type = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
    details = [{"@type": fcm_type, "errorCode": code}] if code else []
    return Reply(status, {"error": {"code": status, "message": "m", "status": name, "details": details}})


ACCEPTED, PERMANENT = SendOutcome.ACCEPTED, SendOutcome.PERMANENT
TRANSIENT, UNKNOWN = SendOutcome.TRANSIENT, SendOutcome.UNKNOWN

SENDERS: dict[str, tuple[Callable[[ProviderServer], Sender], Callable[[], OutboundMessage]]] = {
    "gateway": (gateway, sms),
    "twilio": (twilio, sms),
    "fcm": (fcm, push),
}


BAD_ADDRESS = {"invalid_number", "21211", "21614", "21610", "UNREGISTERED", "INVALID_ARGUMENT",
               "MISMATCH"}


@pytest.mark.parametrize(
    ("kind", "reply", "outcome", "said"),
    [
        ("gateway", Reply(200, {"message_id": "gw-x"}), ACCEPTED, ""),
        ("gateway", Reply(400, {"error": "invalid_number", "message": "not a number"}), PERMANENT,
         "invalid_number"),
        ("gateway", Reply(422, {"error": "invalid_request"}), PERMANENT, "invalid_request"),
        ("gateway", Reply(429, {"error": "rate_limited"}, {"Retry-After": "7"}), TRANSIENT, "429"),
        ("gateway", Reply(503, None, {"Retry-After": "30"}), TRANSIENT, "503"),
        ("gateway", Reply(500, {"error": "boom"}), TRANSIENT, "500"),
        ("gateway", Reply(401, {"error": "unauthorized"}), TRANSIENT, "credentials"),
        ("gateway", Reply(drop=True), UNKNOWN, "no answer"),
        ("twilio", twilio_error(400, 21211, "The 'To' number is not valid."), PERMANENT, "21211"),
        ("twilio", twilio_error(400, 21614, "'To' number is not a mobile number"), PERMANENT, "21614"),
        ("twilio", twilio_error(400, 21610, "Unsubscribed recipient"), PERMANENT, "21610"),
        ("twilio", Reply(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "2"}),
         TRANSIENT, "20429"),
        ("twilio", twilio_error(503, 20503, "Service unavailable"), TRANSIENT, "503"),
        ("twilio", Reply(drop=True), UNKNOWN, "no answer"),
        ("fcm", fcm_error(404, "NOT_FOUND", "UNREGISTERED"), PERMANENT, "UNREGISTERED"),
        ("fcm", fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), PERMANENT, "INVALID_ARGUMENT"),
        ("fcm", fcm_error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), PERMANENT, "MISMATCH"),
        ("fcm", fcm_error(404, "NOT_FOUND"), TRANSIENT, "NOT_FOUND"),
        ("fcm", Reply(429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED").body,
                      {"Retry-After": "60"}), TRANSIENT, "QUOTA_EXCEEDED"),
        ("fcm", fcm_error(503, "UNAVAILABLE", "UNAVAILABLE"), TRANSIENT, "503"),
        ("fcm", Reply(drop=True), UNKNOWN, "no answer"),
    ],
)
def test_provider_answers_map_to_outcomes(
    provider: ProviderServer, kind: str, reply: Reply, outcome: SendOutcome, said: str
) -> None:
    make_sender, make_message = SENDERS[kind]
    provider.answer_next(reply)
    result = make_sender(provider).send(make_message())

    assert result.outcome is outcome, result.detail
    assert said in result.detail
    # Only a refusal of the address itself marks the contact point invalid.
    assert result.address_invalid == (said in BAD_ADDRESS)
    assert retry_after_seconds(result) == (float(reply.headers["Retry-After"]) if reply.headers else None)


def test_gateway_batch_sends_many_messages_in_one_request(provider: ProviderServer) -> None:
    sender = gateway(provider, "?batch=3")
    assert getattr(sender, "batch_size", 1) == 3
    provider.answer_next(Reply(200, {"results": [
        {"id": "k1", "message_id": "gw-1"},
        {"id": "k2", "error": "invalid_number", "message": "no such number"},
        {"id": "k3", "error": "invalid_request"},
    ]}))
    results = sender.send_many([sms("k1"), sms("k2"), sms("k3")])  # type: ignore[attr-defined]
    request = provider.requests[-1]
    assert request.path == "/sms/send/batch" and "idempotency-key" not in request.headers
    assert [m["id"] for m in request.json()["messages"]] == ["k1", "k2", "k3"]
    assert [r.outcome for r in results] == [SendOutcome.ACCEPTED, SendOutcome.PERMANENT,
                                            SendOutcome.PERMANENT]
    assert results[0].provider_id == "gw-1"
    assert [r.address_invalid for r in results] == [False, True, False]


def test_gateway_batch_failures_answer_for_every_message(provider: ProviderServer) -> None:
    sender = gateway(provider, "?batch=10")
    provider.answer_next(Reply(503, None, {"Retry-After": "5"}))
    down = sender.send_many([sms("a"), sms("b")])  # type: ignore[attr-defined]
    assert [r.outcome for r in down] == [SendOutcome.TRANSIENT] * 2
    provider.answer_next(Reply(200, {"results": [{"id": "a", "message_id": "gw-a"}]}))
    partial_answer = sender.send_many([sms("a"), sms("b")])  # type: ignore[attr-defined]
    assert [r.outcome for r in partial_answer] == [SendOutcome.ACCEPTED, SendOutcome.UNKNOWN]
    provider.answer_next(Reply(drop=True))
    lost = sender.send_many([sms("a"), sms("b")])  # type: ignore[attr-defined]
    assert [r.outcome for r in lost] == [SendOutcome.UNKNOWN] * 2
