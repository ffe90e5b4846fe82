"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP webhook
receiver that verifies nothing itself but keeps every request, dedups by ``webhook-id`` as a
provider's system should, and can be told to fail."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Rcpt-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


@dataclass
class Login:
    """What an authenticating SMTP server saw: each AUTH attempt (user, whether it was right,
    whether the connection was encrypted by then)."""

    user: str
    password: str
    attempts: list[tuple[str, bool, bool]] = field(default_factory=list)

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        right = (user, password) == (self.user, self.password)
        self.attempts.append((user, right, session.ssl is not None))
        return AuthResult(success=right, handled=False)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made now (nothing secret is kept in the repository)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.plekwijzer.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "mail.pem", folder / "mail.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextmanager
def smtp_server(
    login: Login | None = None, certificate: tuple[Path, Path] | None = None
) -> Iterator[tuple[int, Mailbox]]:
    """``login``: AUTH required (only after STARTTLS when a ``certificate`` is given);
    ``certificate``: STARTTLS offered and required before any mail."""
    mailbox = Mailbox()
    port = free_port()
    options: dict[str, Any] = {}
    if login is not None:
        options |= {"authenticator": login, "auth_required": True, "auth_require_tls": certificate is not None}
    if certificate is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        options |= {"tls_context": context, "require_starttls": True}
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Answer with this status for the next so many requests (after keeping them).
    fail_next: int = 0
    fail_status: int = 500
    # Hold every request after this many unanswered until ``release`` is set: the sender is
    # then certainly in the middle of a delivery (the crash test kills it there).
    stall_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def keys(self) -> set[str]:
        with self.lock:
            return {r.headers["webhook-id"] for r in self.requests}

    def wait_for(self, condition: Callable[[Receiver], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver: condition not met in {timeout} s ({len(self.requests)} requests)")
            time.sleep(0.02)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}/hook")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the dispatcher reuses its connections

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with receiver.lock:
                receiver.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body, time.time()))
                failing = receiver.fail_next > 0
                if failing:
                    receiver.fail_next -= 1
                stalled = receiver.stall_after is not None and len(receiver.requests) > receiver.stall_after
            if stalled:
                receiver.release.wait(timeout=30)
            try:
                self.send_response(receiver.fail_status if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the sender died while we held its request
                self.close_connection = True

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


def add_endpoint(session: Any, settings: Any, provider_id: int, url: str) -> Any:
    """A provider's webhook endpoint written directly (as a test or benchmark arranges it)."""
    from backend.domain import utcnow
    from backend.notifications.models import WebhookEndpoint
    from backend.notifications.service import new_secret
    from backend.users.totp_secrets import encrypt

    endpoint = WebhookEndpoint(
        provider_id=provider_id, url=url, secret=encrypt(settings, new_secret()), created_at=utcnow(), created_by="test"
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def outbox_rows(endpoint_id: int, provider_id: int, count: int, prefix: str = "bulk") -> list[Any]:
    """``count`` due webhook notifications with the keys ``prefix:0`` ... (many at once)."""
    from backend.domain import utcnow
    from backend.notifications.models import Notification

    now = utcnow()
    return [
        Notification(
            key=f"{prefix}:{i}",
            trigger="hold_created",
            channel="webhook",
            status="pending",
            endpoint_id=endpoint_id,
            provider_id=provider_id,
            subject="Crisisplaatsing",
            body="Een plaats is vastgehouden.",
            payload={"n": i},
            created_at=now,
            due_at=now,
        )
        for i in range(count)
    ]
