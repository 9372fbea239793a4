"""Real local servers for the channel senders: an SMTP server (aiosmtpd) and one small
threaded HTTP server that speaks the JSON gateway, Twilio's and FCM's formats, records
every request, and can be told how to answer the next ones (fail, or drop the connection).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-secret-token-42"
FCM_TOKEN = "ya29.fcm-bearer-secret"
SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-secret-pass-7"
LOCALHOST = "127.0.0.1"

_TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_FCM_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]   # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def basic_auth(self) -> tuple[str, str]:
        scheme, _, encoded = self.headers.get("authorization", "").partition(" ")
        assert scheme == "Basic"
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return user, password


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False   # read the request, then close the connection without answering


class ProviderServer:
    """An HTTP server speaking the three providers' formats, on a free local port."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.replies: list[Reply] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def answer_next(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def respond(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.replies:
                return self.replies.pop(0)
            number = len(self.requests)
        if request.path.startswith("/sms"):
            return Reply(202, {"message_id": f"gw-{number}"})
        if match := _TWILIO_PATH.match(request.path):
            if request.basic_auth() != (match["sid"], TWILIO_TOKEN):
                return Reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return Reply(201, {"sid": f"SM{number:032d}", "status": "queued"})
        if match := _FCM_PATH.match(request.path):
            if request.headers.get("authorization") != f"Bearer {FCM_TOKEN}":
                return Reply(401, {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "no"}})
            return Reply(200, {"name": f"projects/{match['project']}/messages/{number}"})
        return Reply(404, {"error": "not_found"})


def _handler(server: ProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            parts = urlsplit(self.path)
            request = Request(
                "POST", parts.path, parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()}, body,
            )
            reply = server.respond(request)
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            data = json.dumps(reply.body).encode() if reply.body is not None else b""
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    server = ProviderServer()
    yield server
    server.stop()


class RecordingHandler:
    """aiosmtpd handler: records each message; some recipients make it fail on purpose.

    nobody@ → 550 at RCPT; busy@ → 451 at RCPT; spam@ → 554 after DATA;
    drop@ → the connection is cut once the message has been received.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if any(to.startswith("drop@") for to in envelope.rcpt_tos):
            # The whole message has arrived: cut the line before answering it.
            server.transport.abort()
            return "250 OK"
        if any(to.startswith("spam@") for to in envelope.rcpt_tos):
            return "554 5.7.1 Message refused as spam"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Queued"

    def parsed(self, index: int = -1) -> EmailMessage:
        msg = message_from_bytes(self.messages[index][2], policy=default_policy)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class SmtpServer:
    handler: RecordingHandler
    port: int
    cafile: Path | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield SmtpServer(handler, controller.port)
    controller.stop()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOCALHOST))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """STARTTLS required, then AUTH (SMTP_USER / SMTP_PASSWORD) required before MAIL."""
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(), SMTP_PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)

    handler = RecordingHandler()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
        authenticator=authenticator, auth_required=True,
    )
    controller.start()
    yield SmtpServer(handler, controller.port, cert)
    controller.stop()
