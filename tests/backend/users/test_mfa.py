"""The second factor: enrolment at first login, login with a real TOTP code (pyotp), one-time
recovery codes, wrong and reused codes refused, and no second step when the setting is empty."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlmodel import select
from starlette.testclient import TestClient

from backend.audit.models import AuditEntry
from backend.domain import utcnow
from backend.main import create_app
from backend.users.mfa import new_recovery_codes
from backend.users.models import MfaChallenge, RecoveryCode, User
from tests.conftest import make_settings
from tests.factories import PASSWORD, add_user, login, totp_code


def _password(client, username):
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def _code(client, challenge, code):
    return client.post("/api/v1/auth/mfa", json={"mfa_token": challenge["mfa_token"], "code": code})


def _new_coordinator(db, world, name="coordinator-nieuw"):
    with db.transaction() as session:
        add_user(session, world.settings, name, "coordinator", region_id=world.region_id)
    return name


def test_first_login_enrols_totp_then_logs_in_with_a_code(client, db, world):
    name = _new_coordinator(db, world)
    challenge = _password(client, name)
    # No session yet: the enrolment, with the secret as text and as a QR code made here.
    assert "access_token" not in challenge and challenge["mfa_required"] == "enrol"
    enrolment = challenge["enrolment"]
    assert enrolment["otpauth_uri"].startswith(f"otpauth://totp/plekwijzer:{name}?secret={enrolment['secret']}")
    assert enrolment["qr_svg"].startswith("data:image/svg+xml")
    secret = enrolment["secret"]

    wrong = _code(client, challenge, "000000" if totp_code(secret) != "000000" else "111111")
    assert wrong.status_code == 401 and wrong.json()["code"] == "mfa_code_invalid"
    assert "De code klopt niet" in wrong.json()["detail"]

    done = _code(client, challenge, totp_code(secret))
    assert done.status_code == 200, done.text
    body = done.json()
    assert len(body["recovery_codes"]) == 10 and len(set(body["recovery_codes"])) == 10
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["name"] == name

    # The challenge was single-use.
    again = _code(client, challenge, totp_code(secret, step_offset=1))
    assert again.status_code == 401 and again.json()["code"] == "mfa_challenge_invalid"
    with db.transaction(write=False) as session:
        user = session.exec(select(User).where(User.username == name)).one()
        assert user.mfa_secret == secret and user.mfa_enabled_at is not None
        stored = session.exec(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
        assert len(stored) == 10 and not set(stored) & {c.replace("-", "") for c in body["recovery_codes"]}
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "user.mfa_enrolled")).all()
        assert [a.object_id for a in audit] == [str(user.id)]

    # The next login asks for a code only (no new secret); the code the app shows now works.
    second = _password(client, name)
    assert second["mfa_required"] == "verify" and second["enrolment"] is None
    assert login(client, name, totp_secret=secret).status_code == 200


def test_login_with_a_code_and_a_code_is_accepted_once(client, world):
    code = totp_code(world.totp_secrets["coordinator"])
    first = _code(client, _password(client, "coordinator"), code)
    assert first.status_code == 200 and first.json()["recovery_codes"] == []
    reused = _code(client, _password(client, "coordinator"), code)
    assert reused.status_code == 401 and reused.json()["code"] == "mfa_code_reused"
    assert "al gebruikt" in reused.json()["detail"]


def test_recovery_code_works_once(client, db, world):
    with db.transaction() as session:
        codes = new_recovery_codes(session=session, user=session.get(User, world.users["crisis"].id))
    ok = _code(client, _password(client, "crisis"), codes[0])
    assert ok.status_code == 200, ok.text
    spent = _code(client, _password(client, "crisis"), codes[0])
    assert spent.status_code == 401 and spent.json()["code"] == "mfa_code_invalid"
    # Typed with capitals and spaces instead of dashes: still the code.
    other = _code(client, _password(client, "crisis"), codes[1].upper().replace("-", " "))
    assert other.status_code == 200, other.text
    with db.transaction(write=False) as session:
        used = session.exec(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).all()  # type: ignore[union-attr]
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "user.mfa_recovery_code_used")).all()
    assert len(used) == 2 and len(audit) == 2


def test_wrong_codes_use_up_the_challenge_and_count_as_failures(client, world):
    secret = world.totp_secrets["admin"]
    challenge = _password(client, "admin")
    right = totp_code(secret)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        assert _code(client, challenge, wrong).status_code == 401
    spent = _code(client, challenge, right)
    assert spent.status_code == 401 and spent.json()["code"] == "mfa_challenge_invalid"
    # Five wrong codes are five failures of this account from this client, like passwords.
    locked = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    assert locked.status_code == 429


def test_expired_or_unknown_challenge_is_refused(client, db, world):
    secret = world.totp_secrets["coordinator"]
    challenge = _password(client, "coordinator")
    with db.transaction() as session:
        row = session.exec(select(MfaChallenge)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    expired = _code(client, challenge, totp_code(secret))
    assert expired.status_code == 401 and "verlopen" in expired.json()["detail"]
    unknown = client.post("/api/v1/auth/mfa", json={"mfa_token": "bestaat-niet", "code": totp_code(secret)})
    assert unknown.status_code == 401 and unknown.json()["code"] == "mfa_challenge_invalid"


def test_no_second_step_when_the_setting_is_empty(database_url, world):
    settings = make_settings(database_url, mfa_roles="")
    with TestClient(create_app(settings)) as client:
        response = client.post("/api/v1/auth/token", data={"username": "coordinator", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["access_token"]
    assert "mfa_token" not in response.json()


def test_only_the_configured_roles_need_it(database_url, world):
    settings = make_settings(database_url, mfa_roles="viewer")
    with TestClient(create_app(settings)) as client:
        viewer = client.post("/api/v1/auth/token", data={"username": "viewer", "password": PASSWORD})
        coordinator = client.post("/api/v1/auth/token", data={"username": "coordinator", "password": PASSWORD})
    assert viewer.json()["mfa_required"] == "enrol"
    assert coordinator.json()["access_token"]
    assert pyotp.TOTP(viewer.json()["enrolment"]["secret"]).now().isdigit()


def test_reset_second_factor_means_enrolling_again(client, db, world):
    from backend.auth import Principal
    from backend.users.mfa import reset_second_factor

    with db.transaction() as session:
        new_recovery_codes(session=session, user=session.get(User, world.users["coordinator"].id))
        actor = Principal(kind="cli", id=0, name="beheer", role="admin", provider_id=None)
        reset_second_factor(session=session, username="coordinator", actor=actor)
    challenge = _password(client, "coordinator")
    assert (
        challenge["mfa_required"] == "enrol" and challenge["enrolment"]["secret"] != world.totp_secrets["coordinator"]
    )
    with db.transaction(write=False) as session:
        assert session.exec(select(RecoveryCode)).all() == []
        assert (
            session.exec(select(AuditEntry).where(AuditEntry.action == "user.mfa_reset")).one().actor == "cli:0:beheer"
        )


def test_old_attempts_and_spent_challenges_are_purged(client, db, world):
    from backend.users.models import LoginThrottle
    from backend.users.throttle import purge_old_attempts

    challenge = _password(client, "coordinator")  # a challenge, and a throttle row or three
    client.post("/api/v1/auth/token", data={"username": "viewer", "password": "fout"})
    with db.transaction() as session:
        long_ago = utcnow() - timedelta(days=1)
        for row in session.exec(select(LoginThrottle)).all():
            row.window_start = row.last_at = long_ago
            session.add(row)
        for row in session.exec(select(MfaChallenge)).all():
            row.expires_at = long_ago
            session.add(row)
    fresh = client.post("/api/v1/auth/token", data={"username": "viewer", "password": "fout"})
    assert fresh.status_code == 401 and challenge["mfa_token"]
    purge_old_attempts(db)
    with db.transaction(write=False) as session:
        assert session.exec(select(MfaChallenge)).all() == []
        # Only the counts of the last attempt are left (its pair, client and account; the
        # coordinator's account count is gone), each starting a new window.
        assert [row.failures for row in session.exec(select(LoginThrottle)).all()] == [1, 1, 1]
