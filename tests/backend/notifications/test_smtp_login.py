"""E-mail through a mail server that demands STARTTLS and a login (as most do): the settings
PLEKWIJZER_SMTP_USER, _PASSWORD and _TLS are used, and a wrong password or an untrusted
certificate makes a retry and then a dead letter with a Dutch reason, never a crash."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from backend.db import Database
from backend.domain import utcnow
from backend.notifications import dispatcher
from backend.notifications.models import DEAD, DELIVERED, PENDING, Notification
from tests.backend.notifications.receivers import Login, self_signed_certificate, smtp_server
from tests.backend.notifications.test_delivery import hold_on_crisis_group, rows
from tests.conftest import make_settings


@pytest.fixture
def certificate(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    cert = self_signed_certificate(tmp_path)
    # Trusted the way an operator trusts a private CA: OpenSSL's SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    return cert


def mail_settings(db, port: int, **overrides):  # type: ignore[no-untyped-def]
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "meldingen@plekwijzer.test"}
    return Database(make_settings(db.settings.database_url, **(values | overrides)))


def crisis_mail(client, world) -> None:  # type: ignore[no-untyped-def]
    contact = {"name": "Crisisdienst", "email": "crisis@anker.test", "crisis": True}
    response = client.post(
        f"/api/v1/providers/{world.provider_b}/contacts", json=contact, headers=world.headers("provider_b")
    )
    assert response.status_code == 201, response.text
    hold_on_crisis_group(client, world)


def test_mail_is_sent_after_starttls_and_login(client, world, db, certificate):
    login = Login("meldingen", "Juist-wachtwoord-42")
    with smtp_server(login, certificate) as (port, mailbox):
        crisis_mail(client, world)
        ndb = mail_settings(db, port, smtp_user="meldingen", smtp_password="Juist-wachtwoord-42", smtp_tls=True)
        assert dispatcher.dispatch_once(ndb) == 1
    assert login.attempts == [("meldingen", True, True)]  # logged in, over the encrypted connection
    assert [m["X-Rcpt-To"] for m in mailbox.messages] == ["crisis@anker.test"]
    assert rows(db, channel="email")[0].status == DELIVERED


def test_a_wrong_password_is_retried_then_a_dead_letter_with_a_dutch_reason(client, world, db, certificate):
    login = Login("meldingen", "Juist-wachtwoord-42")
    with smtp_server(login, certificate) as (port, mailbox):
        crisis_mail(client, world)
        ndb = mail_settings(db, port, smtp_user="meldingen", smtp_password="fout", smtp_tls=True, notify_max_attempts=2)
        assert dispatcher.dispatch_once(ndb) == 1
        (row,) = rows(db, channel="email")
        assert row.status == PENDING and row.attempts == 1
        assert "de mailserver weigert de inlog" in (row.last_error or "")
        with db.transaction() as session:  # arranging time: the retry is due now
            session.execute(update(Notification).where(Notification.id == row.id).values(due_at=utcnow()))
        assert dispatcher.dispatch_once(ndb) == 1
        (row,) = rows(db, channel="email")
        assert row.status == DEAD and "controleer gebruikersnaam en wachtwoord" in (row.last_error or "")
    assert mailbox.messages == []
    # Each round tried (smtplib tries PLAIN, then LOGIN), always over the encrypted connection.
    assert len(login.attempts) >= 2 and set(login.attempts) == {("meldingen", False, True)}
    # The administrator sees it on the dead-letter list, with the reason.
    dead = client.get("/api/v1/notifications/dead-letters", headers=world.headers("admin")).json()
    assert [(d["id"], "weigert de inlog" in d["last_error"]) for d in dead] == [(row.id, True)]


def test_without_tls_the_server_refuses_and_an_untrusted_certificate_is_not_used(client, world, db, tmp_path):
    login = Login("meldingen", "Juist-wachtwoord-42")
    # No SSL_CERT_FILE here: the server's self-made certificate is trusted by no one.
    with smtp_server(login, self_signed_certificate(tmp_path)) as (port, mailbox):
        crisis_mail(client, world)
        plain = mail_settings(db, port, smtp_user="meldingen", smtp_password="Juist-wachtwoord-42")
        assert dispatcher.dispatch_once(plain) == 1
        (row,) = rows(db, channel="email")
        assert row.status == PENDING and "de mailserver biedt dit niet aan" in (row.last_error or "")
        with db.transaction() as session:
            session.execute(update(Notification).where(Notification.id == row.id).values(due_at=utcnow()))
        untrusted = mail_settings(db, port, smtp_user="meldingen", smtp_password="Juist-wachtwoord-42", smtp_tls=True)
        assert dispatcher.dispatch_once(untrusted) == 1
        (row,) = rows(db, channel="email")
        assert row.status == PENDING and "certificaat van de mailserver is niet te vertrouwen" in (row.last_error or "")
    assert mailbox.messages == [] and login.attempts == []  # the password never left unencrypted
