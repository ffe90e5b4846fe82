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
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from functools import lru_cache
from html import escape
from typing import Any

import httpx
from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col
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


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    # Loading the certificate store costs about 0.1 s: once per process, not per client.
    return ssl.create_default_context()


def http_client(settings: Settings) -> httpx.Client:
    return httpx.Client(verify=_tls(), limits=httpx.Limits(max_connections=settings.notify_concurrency))


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds until the next try after ``attempts`` failed ones: doubling, capped."""
    return float(min(settings.notify_backoff_max_seconds, settings.notify_backoff_seconds * 2 ** (attempts - 1)))


def claim(db: Database, *, limit: int | None = None) -> list[Claimed]:
    """Take due rows for this process: ``sending`` with a lease, one more attempt counted.
    Two statements: the due rows, locked (skipping rows another process holds), and one UPDATE."""
    settings = db.settings
    channels = [WEBHOOK] + ([EMAIL] if settings.smtp_host else [])  # e-mail waits for a server
    table = Notification.__table__  # type: ignore[attr-defined]
    if not _anything_due(db, channels):
        return []  # the usual case: no writer's turn taken (SQLite has one writer at a time)
    with db.transaction() as session:
        now = utcnow()
        due = _due(table, now)
        conn = session.connection()
        rows = conn.execute(
            sa_select(table, WebhookEndpoint.url, WebhookEndpoint.secret)  # type: ignore[call-overload]
            .outerjoin(WebhookEndpoint, col(WebhookEndpoint.id) == table.c.endpoint_id)
            .where(table.c.channel.in_(channels), due)
            .order_by(table.c.due_at, table.c.id)
            .limit(limit or settings.notify_batch)
            .with_for_update(skip_locked=True, of=table)
        ).all()
        if not rows:
            return []
        lease = now + timedelta(seconds=settings.notify_lease_seconds)
        conn.execute(
            update(table)
            .where(table.c.id.in_([r.id for r in rows]))
            .values(status=SENDING, claimed_until=lease, attempts=table.c.attempts + 1)
        )
        return [
            Claimed(
                id=r.id,
                key=r.key,
                channel=r.channel,
                attempts=r.attempts + 1,
                trigger=r.trigger,
                subject=r.subject,
                body=r.body,
                payload=r.payload,
                created_at=r.created_at,
                email=r.email,
                digest=r.digest,
                url=r.url,
                secret=r.secret,
            )
            for r in rows
        ]


def _due(table: Any, now: datetime) -> Any:
    """Pending rows whose time has come, and rows of a process whose lease ran out."""
    return or_(
        and_(table.c.status == PENDING, table.c.due_at <= now),
        and_(table.c.status == SENDING, table.c.claimed_until < now),
    )


def _anything_due(db: Database, channels: list[str]) -> bool:
    table = Notification.__table__  # type: ignore[attr-defined]
    now = utcnow()
    with db.transaction(write=False) as session:
        found = (
            session.connection()
            .execute(
                sa_select(table.c.id)
                .where(
                    table.c.channel.in_(channels),
                    or_(
                        and_(table.c.status == PENDING, table.c.due_at <= now),
                        and_(table.c.status == SENDING, table.c.claimed_until < now),
                    ),
                )
                .limit(1)
            )
            .first()
        )
    return found is not None


# --- channels --------------------------------------------------------------------------------------


def webhook_body(item: Claimed) -> str:
    return json.dumps(
        {"type": item.trigger, "timestamp": as_utc(item.created_at).isoformat(), "data": item.payload},  # type: ignore[union-attr]
        separators=(",", ":"),
        ensure_ascii=False,
    )


def send_webhook(item: Claimed, settings: Settings, client: httpx.Client, secret: str | None = None) -> None:
    """POST the message signed by the Standard Webhooks scheme; an answer other than 2xx fails.
    ``secret``: the endpoint's secret in the clear (decrypted once per round)."""
    from backend.users.totp_secrets import decrypt

    if item.url is None or item.secret is None:
        raise RuntimeError("webhook bestaat niet meer")
    body = webhook_body(item)
    now = datetime.now(UTC)
    signature = Webhook(secret or decrypt(settings, item.secret)).sign(item.key, now, body)
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
    """Deliver claimed rows: id -> None (delivered) or the reason it failed. Webhooks go
    ``notify_concurrency`` at a time (a slow receiver holds up no other)."""
    from backend.users.totp_secrets import decrypt

    settings = db.settings
    outcome: dict[int, str | None] = {}
    own_client = client is None
    http = client or http_client(settings)
    secrets = {secret: decrypt(settings, secret) for secret in {item.secret for item in claimed if item.secret}}

    def webhook(item: Claimed) -> tuple[int, str | None]:
        try:
            send_webhook(item, settings, http, secrets.get(item.secret or ""))
            return item.id, None
        except Exception as exc:  # the receiver's fault or the network's: retried later
            return item.id, _reason(exc)

    try:
        hooks = [item for item in claimed if item.channel == WEBHOOK]
        if hooks:
            with ThreadPoolExecutor(max_workers=min(settings.notify_concurrency, len(hooks))) as pool:
                outcome.update(pool.map(webhook, hooks))
        mails: dict[str, list[Claimed]] = {}
        for item in claimed:
            if item.channel == EMAIL:
                # Digest rows of one address go as one mail; the others one by one.
                mails.setdefault(f"{item.email}:digest" if item.digest else f"single:{item.id}", []).append(item)
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
    """Why a delivery failed, in Dutch for the administrator reading the dead-letter list
    (the mail server's own words, in English, follow in brackets)."""
    if isinstance(exc, httpx.TimeoutException):
        return "geen antwoord binnen de wachttijd"
    if isinstance(exc, httpx.TransportError):
        return f"niet bereikbaar ({type(exc).__name__})"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"de mailserver weigert de inlog: controleer gebruikersnaam en wachtwoord ({_smtp_words(exc)})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"de mailserver biedt dit niet aan (versleuteling of inloggen) ({exc})"[:400]
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"het certificaat van de mailserver is niet te vertrouwen ({exc.verify_message})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"de mailserver weigert het bericht ({_smtp_words(exc)})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "de mailserver weigert het adres van de ontvanger"
    if isinstance(exc, ssl.SSLError):
        return f"versleutelde verbinding met de mailserver mislukt ({type(exc).__name__})"
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | TimeoutError):
        return f"mailserver niet bereikbaar ({type(exc).__name__})"
    return str(exc)[:400] or type(exc).__name__


def _smtp_words(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"[:300]


def record(db: Database, claimed: list[Claimed], outcome: dict[int, str | None]) -> None:
    """Write the outcomes, one statement per kind. Guarded by the attempt number: a row whose
    lease ran out and that another process claimed meanwhile is that process's to record."""
    settings = db.settings
    table = Notification.__table__  # type: ignore[attr-defined]
    guard = (table.c.id == bindparam("b_id"), table.c.status == SENDING, table.c.attempts == bindparam("b_attempts"))
    done, retry, dead = [], [], []
    now = utcnow()
    for item in claimed:
        if item.id not in outcome:
            continue
        error = outcome[item.id]
        params = {"b_id": item.id, "b_attempts": item.attempts, "b_error": error}
        if error is None:
            done.append(params)
        elif item.attempts >= settings.notify_max_attempts:
            dead.append(params)
        else:
            retry.append(params | {"b_due": now + timedelta(seconds=backoff(settings, item.attempts))})
    with db.transaction() as session:
        conn = session.connection()
        if done:
            statement = update(table).where(*guard).values(status=DELIVERED, delivered_at=now, claimed_until=None)
            conn.execute(statement.values(last_error=None), done)
        if retry:
            values = {"status": PENDING, "due_at": bindparam("b_due"), "last_error": bindparam("b_error")}
            conn.execute(update(table).where(*guard).values(claimed_until=None, **values), retry)
        if dead:
            values = {"status": DEAD, "last_error": bindparam("b_error")}
            conn.execute(update(table).where(*guard).values(claimed_until=None, **values), dead)


def dispatch_once(db: Database, client: httpx.Client | None = None, *, limit: int | None = None) -> int:
    """One round: claim, deliver, record. The number of rows handled."""
    claimed = claim(db, limit=limit)
    if not claimed:
        return 0
    record(db, claimed, deliver(db, claimed, client))
    return len(claimed)


# Set after a commit that wrote e-mails or webhooks in this process (``service.notify``): the
# dispatcher of this process starts at once instead of at its next poll.
_wake = threading.Event()


def wake() -> None:
    _wake.set()


def dispatch_task(db: Database, *, seconds: float = 0.95, poll: float = 0.25) -> None:
    """The periodic task of every API process (``notify_dispatch_in_api``), started again at
    once when it ends: rounds for about a second, woken at once by this process's commits and
    otherwise looking every ``poll`` seconds for rows written elsewhere (a read that takes no
    writer's turn when nothing is due)."""
    if not db.settings.notify_dispatch_in_api:
        return
    deadline = time.monotonic() + seconds
    with http_client(db.settings) as client:
        while True:
            _wake.clear()
            if dispatch_once(db, client) >= db.settings.notify_batch:
                continue  # more are due
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            _wake.wait(min(remaining, poll))


def run_worker(db: Database, *, poll_seconds: float = 0.5, stop: threading.Event | None = None) -> None:
    """``plekwijzer notify-worker``: deliver until stopped (SIGTERM/SIGINT ends it between rounds)."""
    stop = stop or threading.Event()
    log.info("notify-worker started")
    with http_client(db.settings) as client:
        while not stop.is_set():
            try:
                handled = dispatch_once(db, client)
            except Exception:  # the database away: try again after a pause
                log.warning("notify-worker round failed", exc_info=True)
                handled = 0
            if handled < db.settings.notify_batch:
                stop.wait(poll_seconds)
