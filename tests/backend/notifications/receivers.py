"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP webhook
receiver that verifies nothing itself but keeps every request, dedups by ``webhook-id`` as a
provider's system should, and can be told to fail."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
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
            self.send_response(receiver.fail_status if failing else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
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
