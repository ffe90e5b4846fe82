"""Triggers that arise with time and the one-click "niets veranderd" link: a stale figure is
mailed with a signed link that confirms exactly that group's figure, once, without logging in,
and is refused after 24 hours or for anything else. The in-app notification reaches its person
live over the websocket, and no one else."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

from sqlalchemy import update

from backend.domain import utcnow
from backend.notifications import dispatcher, triggers
from backend.notifications.service import sign_link
from backend.providers.models import Group, Provider
from tests.backend.notifications.test_delivery import mail  # noqa: F401 - the fixture
from tests.factories import group_row


def make_stale(db, group_id: int, hours: float) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        # Arranging the past: the report was made `hours` ago (no service writes an old time).
        session.execute(update(Group).where(Group.id == group_id).values(reported_at=utcnow() - timedelta(hours=hours)))
        session.execute(
            update(Provider)
            .where(Provider.id == group_row(db, group_id).provider_id)
            .values(contact_email="planning@linde.test")
        )


def test_the_one_click_link_confirms_that_group_once_and_nothing_else(client, world, db, mail):  # noqa: F811
    ndb, mailbox = mail
    group_id, other_id = world.groups_a
    make_stale(db, group_id, 21)
    before, other_before = group_row(db, group_id), group_row(db, other_id)
    assert triggers.scan(ndb) >= 2  # in the app for provider_a, and the provider's mailbox
    assert triggers.scan(ndb) == 0  # the same stale figure is not told twice
    dispatcher.dispatch_once(ndb)
    (message,) = [m for m in mailbox.messages if m["X-Rcpt-To"] == "planning@linde.test"]
    assert message["Subject"] == f"Werk de plaatsen van {before.name} bij"
    text = message.get_body(("plain",)).get_content()
    token = re.search(r"figure-confirmations\?token=(\S+)", text).group(1)

    page = client.get("/api/v1/figure-confirmations", params={"token": token})
    assert page.status_code == 200 and "Niets veranderd" in page.text
    assert group_row(db, group_id).version == before.version  # opening the link changes nothing

    done = client.post("/api/v1/figure-confirmations", data={"token": token})
    assert done.status_code == 200 and "bevestigd" in done.text
    after = group_row(db, group_id)
    assert after.version == before.version + 1 and after.free_places == before.free_places
    assert after.reported_at > before.reported_at and after.reported_by == "link:0:eenklik-link"

    again = client.post("/api/v1/figure-confirmations", data={"token": token})
    assert again.status_code == 409 and "al gebruikt" in again.text
    assert group_row(db, group_id).version == after.version

    # Another group's id in the signed part: the signature no longer fits.
    body, _, mac = token.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "g": other_id}).encode()).decode().rstrip("=")
    refused = client.post("/api/v1/figure-confirmations", data={"token": f"{forged}.{mac}"})
    assert refused.status_code == 403 and "ongeldig" in refused.text
    # After 24 hours.
    old = sign_link(
        db.settings, group_id=other_id, version=group_row(db, other_id).version, now=utcnow() - timedelta(hours=25)
    )
    expired = client.post("/api/v1/figure-confirmations", data={"token": old})
    assert expired.status_code == 403 and "verlopen" in expired.text
    # For anything else: it is no login.
    assert client.get("/api/v1/groups", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert group_row(db, other_id).version == other_before.version  # the other group: untouched


def test_a_figure_changed_since_the_mail_is_not_confirmed_blindly(client, world, db):
    group_id = world.groups_a[0]
    token = sign_link(db.settings, group_id=group_id, version=group_row(db, group_id).version)
    changed = client.put(
        f"/api/v1/groups/{group_id}/availability", json={"free_places": 0}, headers=world.headers("provider_a")
    )
    assert changed.status_code == 200
    refused = client.post("/api/v1/figure-confirmations", data={"token": token})
    assert refused.status_code == 412 and group_row(db, group_id).free_places == 0


def test_a_new_proposal_reaches_its_provider_live_and_no_one_else(client, world):
    from tests.factories import create_referral

    with (
        client.websocket_connect("/api/v1/live", headers=world.headers("provider_a")) as mine,
        client.websocket_connect("/api/v1/live", headers=world.headers("provider_b")) as theirs,
    ):
        assert mine.receive_json()["type"] == "hello" and theirs.receive_json()["type"] == "hello"
        referral = create_referral(client, world)
        sent = client.post(
            f"/api/v1/referrals/{referral['id']}/proposals",
            json={"group_id": world.groups_a[0]},
            headers=world.headers("coordinator"),
        )
        assert sent.status_code == 201
        while (message := mine.receive_json())["type"] != "notification.new":
            pass
        assert message["notification"]["trigger"] == "proposal_new"
        assert message["for_user_id"] == world.users["provider_a"].id
        # Provider B's socket gets the next event of its own and never saw this one.
        client.put(
            f"/api/v1/groups/{world.groups_b[0]}/availability",
            json={"free_places": 1},
            headers=world.headers("provider_b"),
        )
        while (other := theirs.receive_json())["type"] != "availability.changed":
            assert other["type"] != "notification.new"
    inbox = client.get("/api/v1/notifications", headers=world.headers("provider_a")).json()
    assert inbox["unread"] == 1
    read = client.post(
        f"/api/v1/notifications/{inbox['notifications'][0]['id']}/read", headers=world.headers("provider_a")
    )
    assert read.json() == {"read": 1}
    assert client.get("/api/v1/notifications", headers=world.headers("provider_a")).json()["unread"] == 0
    assert (
        client.post(
            f"/api/v1/notifications/{inbox['notifications'][0]['id']}/read", headers=world.headers("provider_b")
        ).status_code
        == 404
    )


def test_the_scan_tells_of_an_expiring_proposal_and_a_long_wait_once(client, world, db):
    from sqlmodel import select

    from backend.notifications.models import Notification
    from backend.proposals.models import Proposal
    from backend.referrals.models import Referral
    from tests.factories import create_referral

    waiting = create_referral(client, world, "TW-WACHT")
    proposed = create_referral(client, world, "TW-VOORSTEL")
    sent = client.post(
        f"/api/v1/referrals/{proposed['id']}/proposals",
        json={"group_id": world.groups_a[0]},
        headers=world.headers("coordinator"),
    ).json()
    with db.transaction() as session:  # arranging time: a long wait, and an expiry in two hours
        session.execute(
            update(Referral).where(Referral.id == waiting["id"]).values(waiting_since=utcnow() - timedelta(days=15))
        )
        session.execute(
            update(Proposal).where(Proposal.id == sent["id"]).values(expires_at=utcnow() + timedelta(hours=2))
        )
    assert triggers.scan(db) == 2  # provider_a in the app; the coordinator in the app
    assert triggers.scan(db) == 0
    with db.transaction(write=False) as session:
        found = {(n.trigger, n.user_id) for n in session.exec(select(Notification))}
    assert ("proposal_expiring", world.users["provider_a"].id) in found
    assert ("youth_waiting", world.users["coordinator"].id) in found
    inbox = client.get("/api/v1/notifications", headers=world.headers("coordinator")).json()
    assert any(f"Verwijzing {waiting['id']} wacht" in n["subject"] for n in inbox["notifications"])
    assert not any("TW-WACHT" in n["body"] for n in inbox["notifications"])  # no youth reference
