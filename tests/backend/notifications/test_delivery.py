"""Delivery of notifications through real receivers: an SMTP server (aiosmtpd) and an HTTP
webhook receiver. A crisis hold reaches the provider's 24-hour contact by e-mail and its system
by a signed webhook; a retried webhook keeps its idempotency key; a receiver that is down gets
retries at growing intervals and then the dead-letter list, from which an administrator sends it
again; quiet hours hold back a proposal notice but not a crisis hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from standardwebhooks.webhooks import Webhook

from backend.db import Database
from backend.domain import as_utc, utcnow
from backend.notifications import dispatcher
from backend.notifications.models import DEAD, DELIVERED, PENDING, Notification, WebhookEndpoint
from backend.notifications.service import LOCAL
from tests.backend.notifications.receivers import smtp_server, webhook_receiver
from tests.conftest import make_settings
from tests.factories import create_referral


@pytest.fixture
def mail(database_url):  # type: ignore[no-untyped-def]
    """A real SMTP server and a Database whose settings send to it (the dispatcher's view)."""
    with smtp_server() as (port, mailbox):
        settings = make_settings(
            database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_from="meldingen@plekwijzer.test"
        )
        yield Database(settings), mailbox


def hold_on_crisis_group(client, world):  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/holds",
        json={"group_id": world.groups_b[1], "crisis_reference": "CR-1", "age": 15},
        headers=world.headers("crisis"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def add_webhook(client, world, url: str, who: str = "provider_b") -> dict:  # type: ignore[type-arg]
    response = client.post(
        f"/api/v1/providers/{world.provider_b}/webhooks",
        json={"url": url, "description": "ons ECD"},
        headers=world.headers(who),
    )
    assert response.status_code == 201, response.text
    return response.json()


def rows(db, **where) -> list[Notification]:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        query = select(Notification)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list(session.exec(query.order_by(Notification.id)))  # type: ignore[arg-type]


def test_crisis_hold_mails_the_24_hour_contact_and_signs_the_webhook(client, world, mail):
    ndb, mailbox = mail
    h = world.headers("provider_b")
    contact = client.post(
        f"/api/v1/providers/{world.provider_b}/contacts",
        json={"name": "Crisisdienst Anker", "email": "crisis@anker.test", "crisis": True},
        headers=h,
    )
    assert contact.status_code == 201, contact.text
    client.post(  # an intake mailbox hears of proposals, not of crisis holds
        f"/api/v1/providers/{world.provider_b}/contacts",
        json={"name": "Intake", "email": "intake@anker.test", "proposals": True},
        headers=h,
    )
    with webhook_receiver() as receiver:
        endpoint = add_webhook(client, world, receiver.url)
        assert endpoint["secret"].startswith("whsec_")
        listed = client.get(f"/api/v1/providers/{world.provider_b}/webhooks", headers=h).json()
        assert "secret" not in listed[0]  # shown once

        hold = hold_on_crisis_group(client, world)
        assert dispatcher.dispatch_once(ndb) == 2

        assert len(mailbox.messages) == 1
        message = mailbox.messages[0]
        assert message["X-Rcpt-To"] == "crisis@anker.test"
        assert message["Subject"] == "Crisisplaatsing: plaats vastgehouden op Crisisgroep Wilg"
        parts = {
            part.get_content_type(): part.get_payload(decode=True).decode()
            for part in message.walk()
            if not part.is_multipart()
        }
        assert f"crisisplaatsing {hold['id']}" in parts["text/plain"]
        assert "<h2>Crisisplaatsing" in parts["text/html"]
        assert "CR-1" not in parts["text/plain"]  # no youth reference leaves by e-mail

        assert len(receiver.requests) == 1
        request = receiver.requests[0]
        data = Webhook(endpoint["secret"]).verify(request.body, request.headers)
        assert data["type"] == "hold_created" and data["data"]["hold_id"] == hold["id"]
        with pytest.raises(Exception, match="signature"):
            Webhook(endpoint["secret"]).verify(request.body.replace(b"hold", b"hald"), request.headers)
    # And the provider's people see it in the app, unread.
    inbox = client.get("/api/v1/notifications", headers=h).json()
    assert inbox["unread"] == 1 and inbox["notifications"][0]["trigger"] == "hold_created"
    assert client.get("/api/v1/notifications", headers=world.headers("provider_a")).json()["unread"] == 0


def test_a_retried_webhook_keeps_its_idempotency_key(client, world, db):
    with webhook_receiver() as receiver:
        add_webhook(client, world, receiver.url)
        receiver.fail_next = 1  # it received the first one but answered 500: we must send again
        hold_on_crisis_group(client, world)
        fast = Database(make_settings(db.settings.database_url, notify_backoff_seconds=0.01))
        assert dispatcher.dispatch_once(fast) == 1
        (row,) = rows(db, channel="webhook")
        assert row.status == PENDING and row.attempts == 1 and "500" in (row.last_error or "")
        deadline = utcnow() + timedelta(seconds=5)
        while rows(db, channel="webhook")[0].status != DELIVERED and utcnow() < deadline:
            dispatcher.dispatch_once(fast)
        # A process that died after sending but before recording: its lease runs out and the
        # row is sent once more, with the same key.
        with db.transaction() as session:
            stored = session.get(Notification, row.id)
            stored.status, stored.claimed_until = "sending", utcnow() - timedelta(seconds=1)
            session.add(stored)
        assert dispatcher.dispatch_once(fast) == 1
    assert len(receiver.requests) == 3
    assert len(receiver.keys) == 1  # delivered once per idempotency key
    assert rows(db, channel="webhook")[0].status == DELIVERED


def test_a_receiver_that_is_down_gets_growing_intervals_then_the_dead_letter_list(client, world, db):
    with webhook_receiver() as receiver:
        down = receiver.url.replace("/hook", "/weg")
    add_webhook(client, world, down)  # the receiver's server is gone: connection refused
    hold_on_crisis_group(client, world)
    ndb = Database(make_settings(db.settings.database_url, notify_backoff_seconds=10, notify_max_attempts=4))
    waits = []
    for _ in range(4):
        with db.transaction() as session:  # time passes: the next try is due now
            (row,) = session.exec(select(Notification).where(Notification.channel == "webhook"))
            row.due_at = utcnow()
            session.add(row)
        before = utcnow()
        assert dispatcher.dispatch_once(ndb) == 1
        (row,) = rows(db, channel="webhook")
        if row.status == PENDING:
            waits.append(round((as_utc(row.due_at) - before).total_seconds()))
    assert waits == [10, 20, 40]
    assert row.status == DEAD and row.attempts == 4 and "niet bereikbaar" in row.last_error

    admin = world.headers("admin")
    dead = client.get("/api/v1/notifications/dead-letters", headers=admin)
    assert dead.status_code == 200 and [d["id"] for d in dead.json()] == [row.id]
    assert client.get("/api/v1/notifications/dead-letters", headers=world.headers("provider_b")).status_code == 403
    # The receiver is back: the administrator sends it again.
    with webhook_receiver() as receiver:
        with db.transaction() as session:
            (endpoint,) = session.exec(select(WebhookEndpoint))
            endpoint.url = receiver.url
            session.add(endpoint)
        retried = client.post(f"/api/v1/notifications/{row.id}/retry", headers=admin)
        assert retried.status_code == 200 and retried.json()["status"] == PENDING
        again = client.post(f"/api/v1/notifications/{row.id}/retry", headers=admin)
        assert again.status_code == 409 and again.json()["code"] == "not_dead"
        assert dispatcher.dispatch_once(ndb) == 1
        assert len(receiver.requests) == 1
    assert rows(db, channel="webhook")[0].status == DELIVERED
    assert client.get("/api/v1/notifications/dead-letters", headers=admin).json() == []


def test_quiet_hours_hold_back_a_proposal_notice_but_not_a_crisis_hold(client, world, mail):
    ndb, mailbox = mail
    h = world.headers("provider_b")
    now = utcnow().astimezone(LOCAL)
    # Quiet from an hour ago until two hours from now, local time.
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")
    every = {"proposal_new": ["app", "email"], "hold_created": ["app", "email"]}
    saved = client.put(
        "/api/v1/notifications/preferences",
        json={"email": "planner@anker.test", "channels": every, "quiet_start": start, "quiet_end": end},
        headers=h,
    )
    assert saved.status_code == 200, saved.text
    referral = create_referral(client, world, care_forms=["gezinshuis"], required_intensity="A")
    proposed = client.post(
        f"/api/v1/referrals/{referral['id']}/proposals",
        json={"group_id": world.groups_b[0]},
        headers=world.headers("coordinator"),
    )
    assert proposed.status_code == 201, proposed.text
    hold_on_crisis_group(client, world)
    dispatcher.dispatch_once(ndb)
    assert [m["Subject"] for m in mailbox.messages] == ["Crisisplaatsing: plaats vastgehouden op Crisisgroep Wilg"]
    (waiting,) = rows(db=ndb, channel="email", trigger="proposal_new")
    assert waiting.status == PENDING
    assert as_utc(waiting.due_at).astimezone(LOCAL).strftime("%H:%M") == end
    # Both are in the app at once: quiet hours are about e-mail.
    assert client.get("/api/v1/notifications", headers=h).json()["unread"] == 2


def test_preferences_are_checked_in_dutch(client, world):
    h = world.headers("provider_b")
    no_mail = client.put("/api/v1/notifications/preferences", json={"channels": {"proposal_new": ["email"]}}, headers=h)
    assert no_mail.status_code == 422 and "e-mailadres" in no_mail.json()["detail"]
    unknown = client.put("/api/v1/notifications/preferences", json={"channels": {"iets": ["app"]}}, headers=h)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_trigger"
    half = client.put("/api/v1/notifications/preferences", json={"quiet_start": "22:00"}, headers=h)
    assert half.status_code == 422 and "rustige uren" in half.json()["detail"]
    assert client.get("/api/v1/notifications/preferences", headers=h).json()["quiet_start"] is None


def test_another_provider_cannot_see_or_use_the_webhooks(client, world):
    with webhook_receiver() as receiver:
        endpoint = add_webhook(client, world, receiver.url)
    other = world.headers("provider_a")
    assert client.get(f"/api/v1/providers/{world.provider_b}/webhooks", headers=other).status_code == 404
    assert client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=other).status_code == 404
    assert client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=other).status_code == 404
    assert (
        client.get(f"/api/v1/providers/{world.provider_b}/contacts", headers=world.headers("coordinator")).status_code
        == 403
    )


def test_the_test_button_sends_a_signed_message_that_shows_in_the_delivery_log(client, world, db):
    h = world.headers("provider_b")
    with webhook_receiver() as receiver:
        endpoint = add_webhook(client, world, receiver.url)
        sent = client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=h)
        assert sent.status_code == 202
        dispatcher.dispatch_once(db)
        request = receiver.requests[0]
        assert Webhook(endpoint["secret"]).verify(request.body, request.headers)["type"] == "test"
    log = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=h).json()
    assert [(d["trigger"], d["status"], d["attempts"]) for d in log] == [("test", "delivered", 1)]


def test_a_daily_digest_gathers_the_e_mails_into_one(client, world, mail):
    from backend.notifications.service import notify

    ndb, mailbox = mail
    h = world.headers("provider_a")
    every = {"proposal_new": ["email"]}
    assert (
        client.put(
            "/api/v1/notifications/preferences",
            json={"email": "planner@linde.test", "channels": every, "digest": True},
            headers=h,
        ).status_code
        == 200
    )
    with ndb.transaction() as session:
        for n in (1, 2):
            notify(
                session=session,
                trigger="proposal_new",
                about=f"proposal:{n}",
                subject=f"Voorstel {n}",
                body=f"Voorstel {n} wacht.",
                provider_id=world.provider_a,
            )
    waiting = rows(ndb, channel="email")
    assert len(waiting) == 2 and all(r.digest and r.status == PENDING for r in waiting)
    assert as_utc(waiting[0].due_at).astimezone(LOCAL).strftime("%H:%M") == "07:00"
    assert dispatcher.dispatch_once(ndb) == 0  # not before the digest hour
    with ndb.transaction() as session:  # seven o'clock has come
        for row in session.exec(select(Notification).where(Notification.channel == "email")):
            row.due_at = utcnow()
            session.add(row)
    assert dispatcher.dispatch_once(ndb) == 2
    (digest,) = mailbox.messages
    assert digest["Subject"] == "Dagoverzicht plekwijzer: 2 meldingen"
    assert "Voorstel 1 wacht." in digest.get_body(("plain",)).get_content()
    assert {r.status for r in rows(ndb, channel="email")} == {DELIVERED}
