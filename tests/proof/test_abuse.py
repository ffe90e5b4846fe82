"""Abuse: every route probed the way an attacker or a careless client would.

The routes come from walking the app (``routes.py``), so a route a domain adds later is probed
too: without credentials, with expired and forged tokens, from a role that may not use it
(function level), with another provider's object ids (object level), with fields a client may
not set (mass assignment), and with oversized and malformed bodies. Plus login brute force.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.domain import utcnow
from backend.events.models import Event
from backend.providers.models import Group
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import PASSWORD
from tests.proof.objects import MISSING_ID, materialize_all, owned_by_a
from tests.proof.routes import PUBLIC, ROLES, api_operations, body_fields, minimal_body

ROLE_USER = {
    "admin": "admin",
    "coordinator": "coordinator",
    "crisis": "crisis",
    "viewer": "viewer",
    "provider": "provider_a",
}
# Fields no client may set on any write: the server owns them.
SERVER_OWNED = ["id", "version", "provider_id", "created_at", "updated_at", "reported_at", "reported_by", "held_places"]


def _fingerprint(db) -> tuple:
    """Everything a write would leave behind."""
    with db.transaction(write=False) as session:
        events = session.execute(select(func.count()).select_from(Event)).scalar_one()
        audit_writes = session.execute(
            # A refusal on youth data leaves one trace on purpose: its own audit row (NEN 7513).
            select(func.count())
            .select_from(AuditEntry)
            .where(~AuditEntry.action.like("%.read"), AuditEntry.action != "access.refused")  # type: ignore[attr-defined]
        ).scalar_one()
        groups = tuple(
            session.execute(
                select(Group.id, Group.version, Group.free_places, Group.held_places).order_by(Group.id)
            ).all()
        )
    return events, audit_writes, groups


def _send(client, op, url, headers, body=None, raw=None, content_type=None):
    kwargs = {"headers": dict(headers)}
    if raw is not None:
        kwargs["content"] = raw
        kwargs["headers"]["Content-Type"] = content_type or "application/json"
    elif body is not None and op.body_media == "application/json":
        kwargs["json"] = body
    elif body is not None:
        kwargs["data"] = body
    return client.request(op.method, url, **kwargs)


def _assert_dutch_error(response, status):
    assert response.status_code == status, (response.status_code, response.text)
    payload = response.json()
    assert isinstance(payload.get("detail"), str) and len(payload["detail"]) > 5, payload
    assert payload.get("code"), payload


@pytest.fixture
def operations(app, client, world, db):
    materialize_all(client, world, db)
    return api_operations(app)


def test_the_walk_finds_the_routes(app):
    operations = api_operations(app)
    labels = {op.label for op in operations}
    assert {
        "PUT /api/v1/groups/{group_id}/availability",
        "GET /api/v1/availability",
        "GET /api/v1/audit",
        "POST /api/v1/auth/token",
    } <= labels
    put = next(op for op in operations if op.label == "PUT /api/v1/groups/{group_id}/availability")
    assert put.allowed_roles == {"provider", "admin"} and put.authenticates


def test_every_route_authenticates(app):
    operations = api_operations(app)
    unguarded = [op.label for op in operations if not op.authenticates and (op.method, op.path) not in PUBLIC]
    assert unguarded == [], f"routes zonder authenticatie: {unguarded}"


def _bad_tokens(world) -> dict[str, dict[str, str]]:
    now = utcnow()
    admin = world.users["admin"]
    claims = {"sub": str(admin.id), "name": "admin", "role": "admin", "provider_id": None}
    expired = jwt.encode(
        {**claims, "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)}, TEST_SECRET, algorithm="HS256"
    )
    wrong_secret = jwt.encode({**claims, "exp": now + timedelta(hours=1)}, "een-ander-geheim-" * 3, algorithm="HS256")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(
        json.dumps({**claims, "exp": int((now + timedelta(hours=1)).timestamp())}).encode()
    ).rstrip(b"=")
    alg_none = f"{header.decode()}.{body.decode()}."
    # A provider's real token with the role in the payload changed to admin, signature kept.
    real = world.tokens["provider_a"]
    head, payload, signature = real.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded.update(role="admin", provider_id=None)
    tampered_payload = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    tampered = f"{head}.{tampered_payload}.{signature}"
    return {
        "none": {},
        "expired": {"Authorization": f"Bearer {expired}"},
        "wrong_secret": {"Authorization": f"Bearer {wrong_secret}"},
        "alg_none": {"Authorization": f"Bearer {alg_none}"},
        "tampered_role": {"Authorization": f"Bearer {tampered}"},
        "garbage": {"Authorization": "Bearer dit.is.geen.token"},
        "bad_api_key": {"X-API-Key": "pw_000000000000.verzonnen"},
        "tampered_api_key": {"X-API-Key": world.api_keys["key_a"][:-2] + "xx"},
    }


def _revoked_key(db, world) -> str:
    from backend.users.models import ApiKey
    from tests.factories import add_api_key

    with db.transaction() as session:
        key = add_api_key(session, world.provider_a)
        session.flush()
        prefix = key.removeprefix("pw_").split(".", 1)[0]
        record = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).scalars().one()
        record.revoked = True
        session.add(record)
    return key


def test_missing_expired_and_forged_credentials_are_refused_everywhere(client, world, db, operations):
    bad = {**_bad_tokens(world), "revoked_api_key": {"X-API-Key": _revoked_key(db, world)}}
    before = _fingerprint(db)
    doc = client.app.openapi()
    for op in operations:
        if (op.method, op.path) in PUBLIC:
            continue
        values, _ = owned_by_a(op.path_params, client, world, db)
        body = minimal_body(op.body_schema, doc)
        for name, headers in bad.items():
            response = _send(client, op, op.url(values), headers, body)
            assert response.status_code == 401, (op.label, name, response.text)
            assert response.json()["detail"], (op.label, name)
    expired = client.get("/api/v1/auth/me", headers=_bad_tokens(world)["expired"])
    assert expired.json()["code"] == "token_expired" and "verlopen" in expired.json()["detail"]
    assert _fingerprint(db) == before


def test_live_feed_refuses_missing_and_forged_credentials(client, world):
    from starlette.websockets import WebSocketDisconnect

    for name, headers in _bad_tokens(world).items():
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/api/v1/live", headers=headers) as ws,
        ):
            ws.receive_text()
        assert closed.value.code == 1008, name


def test_roles_outside_a_route_get_403_and_change_nothing(client, world, db, operations):
    before = _fingerprint(db)
    doc = client.app.openapi()
    checked = 0
    for op in operations:
        if op.allowed_roles is None:
            continue
        values, _ = owned_by_a(op.path_params, client, world, db)
        body = minimal_body(op.body_schema, doc)
        for role in ROLES:
            if role in op.allowed_roles:
                continue
            response = _send(client, op, op.url(values), world.headers(ROLE_USER[role]), body)
            _assert_dutch_error(response, 403)
            checked += 1
    assert checked >= 4  # at least the availability report and the audit log
    assert _fingerprint(db) == before


def test_routes_for_people_only_refuse_every_api_key_and_change_nothing(client, world, db, operations):
    # The notification centre and form drafts belong to a person: a provider system's key gets a
    # Dutch 403 (its notifications arrive as webhooks), whatever the path or body.
    before = _fingerprint(db)
    doc = client.app.openapi()
    people_only = [op for op in operations if op.people_only]
    assert {"GET /api/v1/notifications", "PUT /api/v1/notifications/preferences"} <= {op.label for op in people_only}
    assert any(op.path.startswith("/api/v1/drafts") for op in people_only)
    for op in people_only:
        values, _ = owned_by_a(op.path_params, client, world, db)
        response = _send(client, op, op.url(values), world.headers("key_a"), minimal_body(op.body_schema, doc))
        _assert_dutch_error(response, 403)
        assert response.json()["code"] == "person_only", (op.label, response.text)
    inbox = client.get("/api/v1/notifications", headers=world.headers("provider_a"))
    assert inbox.status_code == 200, inbox.text
    assert _fingerprint(db) == before


def test_another_providers_objects_are_not_found(client, world, db, operations):
    """Provider B (user and API key) probing provider A's objects must learn nothing: the
    answer is the same as for an id that does not exist (404, or 403 when B's role may not use
    the route, or the same input error), never a 2xx or 5xx, and nothing changes."""
    doc = client.app.openapi()
    before = _fingerprint(db)
    probed = []
    for op in operations:
        if not op.path_params:
            continue
        values, all_known = owned_by_a(op.path_params, client, world, db)
        missing = {name: MISSING_ID for name in op.path_params}
        body = minimal_body(op.body_schema, doc)
        if all_known and op.method == "GET" and (op.allowed_roles is None or "provider" in op.allowed_roles):
            own = _send(client, op, op.url(values), world.headers("provider_a"))
            # The id is real and A's: A is not told it does not exist (a 422 for a missing
            # query parameter such as a period is fine here).
            assert own.status_code not in (401, 403, 404) and own.status_code < 500, (op.label, own.text)
        for who in ("provider_b", "key_b"):
            response = _send(client, op, op.url(values), world.headers(who), body)
            nothing = _send(client, op, op.url(missing), world.headers(who), body)
            assert response.status_code in (400, 403, 404, 422), (op.label, who, response.text)
            _assert_dutch_error(response, response.status_code)
            assert (response.status_code, response.json()["code"]) == (nothing.status_code, nothing.json()["code"]), (
                op.label,
                who,
                response.text,
                nothing.text,
            )
            # When B's role may use the route and the body passes, the ownership check answers.
            # A route for people only (the notification centre, drafts) refuses every API key
            # before it looks at the id: the same 403 for A's id and a missing one, checked above.
            provider_may = op.allowed_roles is None or "provider" in op.allowed_roles
            if who == "key_b" and op.people_only:
                assert response.status_code == 403, (op.label, response.text)
            elif provider_may and response.status_code != 422:
                assert response.status_code == 404, (op.label, response.text)
        probed.append(op.label)
    assert "PUT /api/v1/groups/{group_id}/availability" in probed
    assert _fingerprint(db) == before


def test_lists_and_filters_never_show_another_providers_groups(client, world):
    for path in ("/api/v1/groups", f"/api/v1/groups?provider_id={world.provider_a}", "/api/v1/providers"):
        rows = client.get(path, headers=world.headers("key_b")).json()
        ids = {row.get("provider_id", row.get("id")) for row in rows}
        assert world.provider_a not in ids, path
    availability = client.get("/api/v1/availability", headers=world.headers("provider_b")).json()
    assert {g["provider_id"] for g in availability["groups"]} == {world.provider_b}


def test_live_feed_does_not_leak_another_providers_events(client, world):
    for who, group in (("provider_a", world.groups_a[0]), ("provider_b", world.groups_b[0])):
        assert (
            client.put(
                f"/api/v1/groups/{group}/availability", json={"free_places": 1}, headers=world.headers(who)
            ).status_code
            == 200
        )
    with client.websocket_connect("/api/v1/live?since=0", headers=world.headers("key_b")) as ws:
        seen = []
        while True:
            message = ws.receive_json()
            if message.get("type") == "hello":
                break
            seen.append(message)
    assert [m["group_id"] for m in seen] == [world.groups_b[0]]


def test_server_owned_fields_cannot_be_set(client, world, db, operations):
    """Mass assignment: every body refuses fields it does not declare (422, naming the field),
    and no route declares a field the server owns."""
    doc = client.app.openapi()
    before = _fingerprint(db)
    writes = [op for op in operations if op.body_media == "application/json"]
    assert writes, "geen routes met een JSON-body gevonden"
    for op in writes:
        declared = body_fields(op.body_schema, doc)
        assert not (declared & {"id", "version", "provider_id", "created_at", "reported_at", "held_places"}), (
            op.label,
            declared,
        )
        values, _ = owned_by_a(op.path_params, client, world, db)
        body = minimal_body(op.body_schema, doc)
        role = "admin" if op.allowed_roles is None or "admin" in op.allowed_roles else sorted(op.allowed_roles)[0]
        for field in SERVER_OWNED:
            if field in declared:
                continue
            response = _send(client, op, op.url(values), world.headers(ROLE_USER[role]), {**body, field: 99})
            _assert_dutch_error(response, 422)
            assert f"{field} is geen bekend veld" in response.json()["detail"], (op.label, field)
    assert _fingerprint(db) == before


def test_oversized_and_malformed_bodies_are_refused_in_dutch(client, world, db, operations):
    before = _fingerprint(db)
    from backend.main import body_limit

    settings = client.app.state.settings
    writes = [op for op in operations if op.body_media == "application/json"]
    for op in writes:
        values, _ = owned_by_a(op.path_params, client, world, db)
        role = "admin" if op.allowed_roles is None or "admin" in op.allowed_roles else sorted(op.allowed_roles)[0]
        headers = world.headers(ROLE_USER[role])
        url = op.url(values)
        # The occupancy feed takes larger bodies (a year of history); every other route the general limit.
        limit = body_limit(settings, url)
        big = b'{"x": "' + b"a" * (limit + 10) + b'"}'
        response = _send(client, op, url, headers, raw=big)
        _assert_dutch_error(response, 413)
        assert "te groot" in response.json()["detail"]

        # No Content-Length (chunked): the limit is enforced while reading.
        def chunks(limit: int = limit):
            for _ in range(limit // 65536 + 2):
                yield b"a" * 65536

        response = client.request(
            op.method, url, content=chunks(), headers={**headers, "Content-Type": "application/json"}
        )
        _assert_dutch_error(response, 413)
        for raw, content_type in (
            (b'{"free_places": ', None),
            (b"\x00\xff\xfe", None),
            (b"[1, 2, 3]", None),
            (b'"tekst"', None),
            (b"free_places=1", "text/plain"),
            (b"{" * 5000 + b"}" * 5000, None),
        ):
            response = _send(client, op, url, headers, raw=raw, content_type=content_type)
            # 400 when the bytes cannot even be read as text, 422 when they are not valid input.
            _assert_dutch_error(response, 400 if raw.startswith(b"\x00") else 422)
            assert "There was" not in response.text and "JSON decode" not in response.text
    assert _fingerprint(db) == before


def test_login_brute_force_gets_429_with_retry_after(database_url, world):
    from starlette.testclient import TestClient

    from backend.main import create_app

    # The number of failures is configurable; a small one keeps the test short.
    settings = make_settings(database_url, login_max_failures=3, login_lockout_seconds=120)
    with TestClient(create_app(settings)) as client:

        def login(username, password):
            return client.post("/api/v1/auth/token", data={"username": username, "password": password})

        for _ in range(3):
            _assert_dutch_error(login("coordinator", "raden-maar"), 401)
        blocked = login("coordinator", "raden-maar")
        _assert_dutch_error(blocked, 429)
        # The time left of the window that the first failure opened.
        assert 0 < int(blocked.headers["Retry-After"]) <= 120
        assert "Te veel mislukte inlogpogingen" in blocked.json()["detail"]
        # Locked out even with the right password: the guesser must not learn it was right.
        _assert_dutch_error(login("coordinator", PASSWORD), 429)
        # Another user is not locked out by someone hammering the coordinator.
        assert login("viewer", PASSWORD).status_code == 200
        # Unknown usernames are counted too (no way to probe which names exist).
        for _ in range(3):
            _assert_dutch_error(login("bestaat-niet", "x"), 401)
        _assert_dutch_error(login("bestaat-niet", "x"), 429)


def test_every_read_of_youth_data_is_audited_with_who_and_why(client, world, db, operations):
    """Referrals, proposals, placements and holds carry a youth's (pseudonymous) data: every GET of one of
    them leaves an audit row naming the reader and a purpose."""
    from sqlmodel import col
    from sqlmodel import select as sm_select

    youth_params = ("referral_id", "proposal_id", "hold_id", "placement_id")
    reads = [
        op
        for op in operations
        if op.method == "GET" and (any(p in youth_params for p in op.path_params) or op.path in ("/api/v1/referrals",))
    ]
    assert any("{referral_id}" in op.path for op in reads), "geen verwijzingsroutes gevonden"
    checked = []
    for op in reads:
        values, all_known = owned_by_a(op.path_params, client, world, db)
        if not all_known:
            continue
        with db.transaction(write=False) as session:
            last = session.exec(sm_select(func.max(AuditEntry.id))).one() or 0
        reader = "coordinator" if op.allowed_roles is None or "coordinator" in op.allowed_roles else "admin"
        response = client.get(op.url(values), headers=world.headers(reader))
        if response.status_code != 200:
            continue  # e.g. a required period: not a read that happened
        with db.transaction(write=False) as session:
            rows = session.exec(sm_select(AuditEntry).where(col(AuditEntry.id) > last)).all()
        label = f"user:{world.users[reader].id}:{reader}"
        assert any(r.actor == label and r.purpose for r in rows), (op.label, [(r.actor, r.action) for r in rows])
        checked.append(op.label)
    assert "GET /api/v1/referrals/{referral_id}" in checked, checked
