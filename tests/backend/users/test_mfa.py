"""The second factor: enrolment at first login, login with a real TOTP code (pyotp), one-time
recovery codes, wrong and reused codes refused, and no second step when the setting is empty."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlmodel import col, select
from starlette.testclient import TestClient

from backend.audit.models import AuditEntry
from backend.domain import utcnow
from backend.main import create_app
from backend.users.mfa import new_recovery_codes
from backend.users.models import MfaChallenge, RecoveryCode, User
from backend.users.totp_secrets import decrypt
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
        # Stored encrypted: the database alone does not give the codes away.
        assert user.mfa_secret.startswith("fernet:") and secret not in user.mfa_secret
        assert decrypt(world.settings, user.mfa_secret) == secret and user.mfa_enabled_at is not None
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


# -- secrets at rest ---------------------------------------------------------------------------


def test_a_pending_secret_is_encrypted_too_and_a_plaintext_one_from_before_is_read_and_encrypted(client, db, world):
    name = _new_coordinator(db, world)
    challenge = _password(client, name)
    with db.transaction(write=False) as session:
        pending = session.exec(select(MfaChallenge.pending_secret)).all()
    assert pending and all(p.startswith("fernet:") for p in pending if p)
    assert challenge["enrolment"]["secret"] not in " ".join(p for p in pending if p)

    # A secret stored in the clear before encryption at rest still works, and is encrypted then.
    plain = pyotp.random_base32()
    with db.transaction() as session:
        user = session.exec(select(User).where(User.username == "crisis")).one()
        user.mfa_secret = plain
        session.add(user)
    assert login(client, "crisis", totp_secret=plain).status_code == 200
    with db.transaction(write=False) as session:
        stored = session.exec(select(User.mfa_secret).where(User.username == "crisis")).one()
    assert stored.startswith("fernet:") and decrypt(world.settings, stored) == plain


def test_an_own_key_takes_over_and_the_derived_key_still_opens_older_secrets(database_url, world):
    from backend.users.totp_secrets import encrypt, new_key

    derived = make_settings(database_url)
    secret = pyotp.random_base32()
    old = encrypt(derived, secret)
    first, second = new_key(), new_key()
    own = make_settings(database_url, totp_encryption_keys=f"{first},{second}")
    assert decrypt(own, old) == secret  # the derived key is always a decryptor
    fresh = encrypt(own, secret)
    assert decrypt(make_settings(database_url, totp_encryption_keys=first), fresh) == secret  # the first encrypts
    # Another secret key and no configured key: unreadable, said plainly (not a wrong code).
    import pytest

    from backend.users.totp_secrets import UnreadableSecret

    with pytest.raises(UnreadableSecret):
        decrypt(make_settings(database_url, secret_key="x" * 40), old)
    with pytest.raises(ValueError, match="TOTP_ENCRYPTION_KEYS") as refused:
        make_settings(database_url, totp_encryption_keys="geen-sleutel")
    assert "geen-sleutel" not in str(refused.value)


def test_rotating_encrypts_every_secret_under_the_first_key(database_url, db, world, monkeypatch, capsys):
    from backend.cli import main
    from backend.config import get_settings
    from backend.users.totp_secrets import new_key

    key = new_key()
    with db.transaction() as session:
        user = session.exec(select(User).where(User.username == "admin")).one()
        user.mfa_secret = world.totp_secrets["admin"]  # one in the clear, from before
        session.add(user)
    monkeypatch.setenv("PLEKWIJZER_DATABASE_URL", database_url)
    monkeypatch.setenv("PLEKWIJZER_TOTP_ENCRYPTION_KEYS", key)
    monkeypatch.setenv("PLEKWIJZER_ENVIRONMENT", "test")
    monkeypatch.setenv("PLEKWIJZER_SECRET_KEY", world.settings.secret_key)
    get_settings.cache_clear()
    try:
        assert main(["users", "rotate-totp-key"]) == 0
    finally:
        get_settings.cache_clear()
    assert "opnieuw versleuteld" in capsys.readouterr().out
    only_new_key = make_settings(database_url, totp_encryption_keys=key, secret_key="y" * 40)
    with db.transaction(write=False) as session:
        users = session.exec(select(User).where(col(User.mfa_secret).is_not(None))).all()
        assert users and all(u.mfa_secret.startswith("fernet:") for u in users)
        # Readable with the new key alone (without the derived one): all moved to it.
        opened = {u.username: decrypt(only_new_key, u.mfa_secret) for u in users}
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "user.mfa_secrets_rotated")).all()
    assert {name: opened[name] for name in world.totp_secrets} == world.totp_secrets
    assert len(rows) == 1 and rows[0].purpose == "account_security"


# -- moving to a new authenticator app while logged in -------------------------------------------


def _session_of(client, world, username="coordinator"):  # type: ignore[no-untyped-def]
    response = login(client, username, totp_secret=world.totp_secrets[username])
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_moving_to_a_new_app_replaces_the_secret_only_after_its_code_is_confirmed(client, db, world):
    old = world.totp_secrets["coordinator"]
    headers = _session_of(client, world)
    # Proven with the current app's next code (the one used at login is spent).
    started = client.post("/api/v1/auth/mfa/re-enrol", json={"code": totp_code(old, step_offset=1)}, headers=headers)
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["mfa_required"] == "reenrol" and body["enrolment"]["qr_svg"].startswith("data:image/svg+xml")
    new = body["enrolment"]["secret"]
    assert new != old

    # Not confirmed yet: the old app still logs in, the new one does not.
    with db.transaction(write=False) as session:
        stored = session.exec(select(User.mfa_secret).where(User.username == "coordinator")).one()
    assert decrypt(world.settings, stored) == old
    # The re-enrolment's token is no login step.
    assert _code(client, body, totp_code(new)).json()["code"] == "mfa_challenge_invalid"

    confirm = "/api/v1/auth/mfa/re-enrol/confirm"
    wrong = client.post(
        confirm, json={"mfa_token": body["mfa_token"], "code": totp_code(old, step_offset=1)}, headers=headers
    )
    assert wrong.status_code == 401 and "nieuwe app" in wrong.json()["detail"]
    done = client.post(confirm, json={"mfa_token": body["mfa_token"], "code": totp_code(new)}, headers=headers)
    assert done.status_code == 204, done.text
    again = client.post(
        confirm, json={"mfa_token": body["mfa_token"], "code": totp_code(new, step_offset=1)}, headers=headers
    )
    assert again.status_code == 401 and again.json()["code"] == "mfa_challenge_invalid"

    with db.transaction(write=False) as session:
        stored = session.exec(select(User.mfa_secret).where(User.username == "coordinator")).one()
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "user.mfa_reenrolled")).all()
    assert stored.startswith("fernet:") and decrypt(world.settings, stored) == new
    assert [(r.purpose, r.object_id, r.region_id) for r in rows] == [
        ("account_security", str(world.users["coordinator"].id), world.region_id)
    ]
    assert new not in str(rows[0].detail)
    # From now on the new app's codes log in; the old app's do not.
    old_code = _code(client, _password(client, "coordinator"), totp_code(old, step_offset=1))
    assert old_code.status_code == 401
    assert _code(client, _password(client, "coordinator"), totp_code(new, step_offset=1)).status_code == 200


def test_moving_to_a_new_app_needs_the_current_code_or_the_password(client, db, world):
    headers = _session_of(client, world)
    url = "/api/v1/auth/mfa/re-enrol"
    for body in ({}, {"code": "123456"}, {"password": "niet-het-wachtwoord"}):
        refused = client.post(url, json=body, headers=headers)
        assert refused.status_code == 401 and refused.json()["code"] == "mfa_confirm_invalid", refused.text
        assert "klopt niet" in refused.json()["detail"]
    with db.transaction(write=False) as session:
        assert not session.exec(select(MfaChallenge).where(MfaChallenge.step == "reenrol")).all()
    by_password = client.post(url, json={"password": PASSWORD}, headers=headers)
    assert by_password.status_code == 200 and by_password.json()["enrolment"]["secret"]
    # Not for a provider system, nor for a person without a second factor.
    assert client.post(url, json={"password": PASSWORD}, headers=world.headers("key_a")).status_code == 403
    viewer = client.post(url, json={"password": PASSWORD}, headers=world.headers("viewer"))
    assert viewer.status_code == 422 and viewer.json()["code"] == "mfa_not_enrolled"
    assert client.post(url, json={"password": PASSWORD}).status_code == 401


def test_guessing_through_the_re_enrolment_is_limited_like_a_login(client, world):
    headers = _session_of(client, world)
    answers = [
        client.post("/api/v1/auth/mfa/re-enrol", json={"password": f"fout-{n}"}, headers=headers).status_code
        for n in range(world.settings.login_max_failures + 2)
    ]
    assert answers.count(401) == world.settings.login_max_failures and answers[-1] == 429, answers
