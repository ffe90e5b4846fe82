"""The dispatcher: delivers the outbox's e-mails and webhooks, at least once.

A round claims due rows in a short transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so any
number of API replicas and ``plekwijzer notify-worker`` processes share the work without
waiting on each other; SQLite: the one writer at a time does the same), marking them ``sending``
with a lease. It then delivers them outside any transaction and records each outcome in a second
one. A process killed between the two leaves its rows ``sending``: when the lease runs out they
are claimed again and sent again, so nothing is lost; the receiver recognises a repeat by the
row's key (``webhook-id`` header, e-mail ``Message-ID``), which never changes.

A failed delivery is tried again after ``notify_backoff_seconds`` × 2^(attempt − 1) (at most
``notify_backoff_max_seconds``); after ``notify_max_attempts`` it goes to the dead-letter list,
which an administrator sees and can send again.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from html import escape
from typing import Any

import httpx
from sqlalchemy import and_, or_, update
from sqlmodel import col, select
from standardwebhooks.webhooks import Webhook

from backend.config import Settings
from backend.db import Database
from backend.domain import as_utc, utcnow
from backend.notifications.models import (
    DEAD,
    DELIVERED,
    EMAIL,
    PENDING,
    SENDING,
    WEBHOOK,
    Notification,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)


@dataclass
class Claimed:
    id: int
    key: str
    channel: str
    attempts: int
    trigger: str
    subject: str
    body: str
    payload: dict[str, Any]
    created_at: datetime
    email: str | None
    digest: bool
    url: str | None = None
    secret: str | None = None


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds until the next try after ``attempts`` failed ones: doubling, capped."""
    return float(min(settings.notify_backoff_max_seconds, settings.notify_backoff_seconds * 2 ** (attempts - 1)))


def claim(db: Database, *, limit: int | None = None) -> list[Claimed]:
    """Take due rows for this process: ``sending`` with a lease, one more attempt counted."""
    settings = db.settings
    channels = [WEBHOOK] + ([EMAIL] if settings.smtp_host else [])  # e-mail waits for a server
    with db.transaction() as session:
        now = utcnow()
        due = or_(
            and_(col(Notification.status) == PENDING, col(Notification.due_at) <= now),
            and_(col(Notification.status) == SENDING, col(Notification.claimed_until) < now),
        )
        query = (
            select(Notification)
            .where(col(Notification.channel).in_(channels), due)
            .order_by(col(Notification.due_at), col(Notification.id))
            .limit(limit or settings.notify_batch)
            .with_for_update(skip_locked=True)
        )
        rows = list(session.exec(query))
        if not rows:
            return []
        endpoints = {
            e.id: e
            for e in session.exec(
                select(WebhookEndpoint).where(col(WebhookEndpoint.id).in_({r.endpoint_id for r in rows}))
            )
        }
        lease = now + timedelta(seconds=settings.notify_lease_seconds)
        claimed = []
        for row in rows:
            row.status, row.claimed_until, row.attempts = SENDING, lease, row.attempts + 1
            session.add(row)
            endpoint = endpoints.get(row.endpoint_id)
            claimed.append(
                Claimed(
                    id=row.id,  # type: ignore[arg-type]
                    key=row.key,
                    channel=row.channel,
                    attempts=row.attempts,
                    trigger=row.trigger,
                    subject=row.subject,
                    body=row.body,
                    payload=row.payload,
                    created_at=row.created_at,
                    email=row.email,
                    digest=row.digest,
                    url=endpoint.url if endpoint else None,
                    secret=endpoint.secret if endpoint else None,
                )
            )
        session.flush()
    return claimed


# --- channels --------------------------------------------------------------------------------------


def webhook_body(item: Claimed) -> str:
    return json.dumps(
        {"type": item.trigger, "timestamp": as_utc(item.created_at).isoformat(), "data": item.payload},  # type: ignore[union-attr]
        separators=(",", ":"),
        ensure_ascii=False,
    )


def send_webhook(item: Claimed, settings: Settings, client: httpx.Client) -> None:
    """POST the message signed by the Standard Webhooks scheme; an answer other than 2xx fails."""
    from backend.users.totp_secrets import decrypt

    if item.url is None or item.secret is None:
        raise RuntimeError("webhook bestaat niet meer")
    body = webhook_body(item)
    now = datetime.now(UTC)
    signature = Webhook(decrypt(settings, item.secret)).sign(item.key, now, body)
    response = client.post(
        item.url,
        content=body.encode(),
        headers={
            "content-type": "application/json",
            "webhook-id": item.key,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
            "user-agent": "plekwijzer-webhooks",
        },
        timeout=settings.webhook_timeout_seconds,
    )
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"de ontvanger antwoordde {response.status_code}")


def email_message(items: list[Claimed], settings: Settings) -> EmailMessage:
    """One e-mail: Dutch plain text and HTML. Several items: a digest."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = items[0].email or ""
    if len(items) == 1:
        message["Subject"] = items[0].subject
        # The key makes the Message-ID: a mail sent again after a crash is recognisable.
        message["Message-ID"] = f"<{items[0].key.replace(':', '.')}@plekwijzer>"
    else:
        message["Subject"] = f"Dagoverzicht plekwijzer: {len(items)} meldingen"
        message["Message-ID"] = make_msgid(domain="plekwijzer")
    message["X-Plekwijzer-Keys"] = " ".join(i.key for i in items)
    plain = "\n\n".join(f"{i.subject}\n{i.body}" for i in items)
    footer = "\n\n--\nplekwijzer: u krijgt dit bericht omdat u meldingen heeft ingesteld of contactpersoon bent."
    message.set_content(plain + footer)
    html = "".join(f"<h2>{escape(i.subject)}</h2><p>{_html_body(i.body)}</p>" for i in items)
    note = escape(footer.strip("-\n "))
    message.add_alternative(
        f'<!doctype html><html lang="nl"><body>{html}<hr><p style="color:#555">{note}</p></body></html>',
        subtype="html",
    )
    return message


def _html_body(text: str) -> str:
    """Plain text to HTML, with links made clickable (the one-click link)."""
    parts = []
    for word in escape(text).split(" "):
        parts.append(f'<a href="{word}">{word}</a>' if word.startswith(("https://", "http://")) else word)
    return " ".join(parts).replace("\n", "<br>")


def send_email(items: list[Claimed], settings: Settings) -> None:
    assert settings.smtp_host
    message = email_message(items, settings)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.webhook_timeout_seconds) as smtp:
        if settings.smtp_tls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


# --- a round ---------------------------------------------------------------------------------------


def deliver(db: Database, claimed: list[Claimed], client: httpx.Client | None = None) -> dict[int, str | None]:
    """Deliver claimed rows: id -> None (delivered) or the reason it failed."""
    settings = db.settings
    outcome: dict[int, str | None] = {}
    own_client = client is None
    http = client or httpx.Client()
    try:
        mails: dict[str, list[Claimed]] = {}
        for item in claimed:
            if item.channel == EMAIL:
                # Digest rows of one address go as one mail; the others one by one.
                mails.setdefault(f"{item.email}:digest" if item.digest else f"single:{item.id}", []).append(item)
                continue
            try:
                send_webhook(item, settings, http)
                outcome[item.id] = None
            except Exception as exc:  # the receiver's fault or the network's: retried later
                outcome[item.id] = _reason(exc)
        for items in mails.values():
            try:
                send_email(items, settings)
                error = None
            except Exception as exc:
                error = _reason(exc)
            for item in items:
                outcome[item.id] = error
    finally:
        if own_client:
            http.close()
    return outcome


def _reason(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "geen antwoord binnen de wachttijd"
    if isinstance(exc, httpx.TransportError):
        return f"niet bereikbaar ({type(exc).__name__})"
    return str(exc)[:400] or type(exc).__name__


def record(db: Database, claimed: list[Claimed], outcome: dict[int, str | None]) -> None:
    """Write the outcomes. Guarded by the attempt number: a row whose lease ran out and that
    another process claimed meanwhile is that process's to record."""
    settings = db.settings
    table = Notification.__table__  # type: ignore[attr-defined]
    with db.transaction() as session:
        now = utcnow()
        conn = session.connection()
        for item in claimed:
            if item.id not in outcome:
                continue
            error = outcome[item.id]
            if error is None:
                values: dict[str, Any] = {"status": DELIVERED, "delivered_at": now, "last_error": None}
            elif item.attempts >= settings.notify_max_attempts:
                values = {"status": DEAD, "last_error": error}
            else:
                wait = backoff(settings, item.attempts)
                values = {"status": PENDING, "due_at": now + timedelta(seconds=wait), "last_error": error}
            conn.execute(
                update(table)
                .where(table.c.id == item.id, table.c.status == SENDING, table.c.attempts == item.attempts)
                .values(claimed_until=None, **values)
            )


def dispatch_once(db: Database, client: httpx.Client | None = None, *, limit: int | None = None) -> int:
    """One round: claim, deliver, record. The number of rows handled."""
    claimed = claim(db, limit=limit)
    if not claimed:
        return 0
    record(db, claimed, deliver(db, claimed, client))
    return len(claimed)


def dispatch_task(db: Database) -> None:
    """The periodic task of every API process (``notify_dispatch_in_api``): rounds until
    nothing is due, bounded so that the task yields to the next interval."""
    if not db.settings.notify_dispatch_in_api:
        return
    with httpx.Client() as client:
        for _ in range(20):
            if dispatch_once(db, client) < db.settings.notify_batch:
                return


def run_worker(db: Database, *, poll_seconds: float = 0.5, stop: threading.Event | None = None) -> None:
    """``plekwijzer notify-worker``: deliver until stopped (SIGTERM/SIGINT ends it between rounds)."""
    stop = stop or threading.Event()
    log.info("notify-worker started")
    with httpx.Client() as client:
        while not stop.is_set():
            try:
                handled = dispatch_once(db, client)
            except Exception:  # the database away: try again after a pause
                log.warning("notify-worker round failed", exc_info=True)
                handled = 0
            if handled == 0:
                stop.wait(poll_seconds)
