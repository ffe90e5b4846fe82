"""The Python client (backend/client.py) against the real app: typed results, Dutch errors as
``PlekwijzerError``, and retries that reuse the idempotency key so a change lands once.

Failures are injected in the transport only (a dropped connection before or after the server
did the work, a 503 from a proxy); behind it is the real app and database.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
import pytest
from sqlmodel import select

from backend.client import AsyncPlekwijzerClient, GroupAvailability, PlekwijzerClient, PlekwijzerError
from backend.events.models import Event
from backend.providers.models import Group
from tests.servers import running_server


class FlakyTransport(httpx.BaseTransport):
    """Forwards to a real server; the first ``failures`` attempts fail in the given way."""

    def __init__(self, mode: str, failures: int = 1) -> None:
        self.inner = httpx.HTTPTransport()
        self.mode = mode
        self.failures = failures
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if len(self.seen) > self.failures:
            return self.inner.handle_request(request)
        if self.mode == "connect":
            raise httpx.ConnectError("verbinding geweigerd", request=request)
        if self.mode == "503":
            return httpx.Response(503, json={"detail": "proxy: geen backend"}, request=request)
        # "lost": the server does the work, but the answer never arrives.
        response = self.inner.handle_request(request)
        response.read()
        response.close()
        raise httpx.ReadError("verbinding verbroken", request=request)

    def close(self) -> None:
        self.inner.close()


class AsyncFlakyTransport(httpx.AsyncBaseTransport):
    """The same for the async client, in front of the app through ASGI."""

    def __init__(self, app, failures: int = 1) -> None:  # type: ignore[no-untyped-def]
        self.inner = httpx.ASGITransport(app=app)
        self.failures = failures
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        response = await self.inner.handle_async_request(request)
        if len(self.seen) > self.failures:
            return response
        await response.aread()
        raise httpx.ReadError("verbinding verbroken", request=request)


def group_state(db, group_id: int) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        group = session.get(Group, group_id)
        events = session.exec(select(Event).where(Event.group_id == group_id)).all()
        return group.free_places, group.version, len(events)


@pytest.mark.parametrize("mode", ["lost", "connect", "503"])
def test_retry_reuses_idempotency_key_and_change_lands_once(settings, db, world, mode):
    group_id = world.groups_a[0]
    _, version, _ = group_state(db, group_id)
    transport = FlakyTransport(mode)
    with (
        running_server(settings) as base_url,
        # A generous timeout: on a loaded machine a slow answer must not count as one more failure.
        PlekwijzerClient(
            base_url, api_key=world.api_keys["key_a"], backoff=0.01, transport=transport, timeout=60
        ) as client,
    ):
        group = client.set_availability(group_id, free_places=4, waiting_list=2)
    assert isinstance(group, GroupAvailability)
    assert (group.id, group.free_places, group.waiting_list) == (group_id, 4, 2)
    keys = [r.headers["Idempotency-Key"] for r in transport.seen]
    assert len(keys) == 2 and keys[0] == keys[1]
    # One change, one version, one event, even when the first attempt had already landed.
    assert group_state(db, group_id) == (4, version + 1, 1)
    assert group.version == version + 1


def test_retries_give_up_after_the_configured_number(settings, world):
    transport = FlakyTransport("connect", failures=10)
    with (
        running_server(settings) as base_url,
        PlekwijzerClient(
            base_url, api_key=world.api_keys["key_a"], retries=2, backoff=0.01, transport=transport
        ) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.set_availability(world.groups_a[0], free_places=1)
    assert len(transport.seen) == 3


def test_typed_reads_and_dutch_errors(settings, db, world):
    with running_server(settings) as base_url, PlekwijzerClient(base_url, token=world.tokens["provider_a"]) as client:
        groups = client.availability()
        single = client.group(world.groups_a[1])
        with pytest.raises(PlekwijzerError) as too_many:
            client.set_availability(world.groups_a[0], free_places=99)
        with pytest.raises(PlekwijzerError) as foreign:
            client.set_availability(world.groups_b[0], free_places=1)
        with pytest.raises(PlekwijzerError) as stale:
            client.set_availability(world.groups_a[0], free_places=1, if_match=41)
        with pytest.raises(PlekwijzerError) as no_reason:
            client.set_availability(world.groups_a[0], free_places=1, admitting=False)
        closed = client.set_availability(
            world.groups_a[0], free_places=0, admitting=False, reason="Groepsdynamiek", if_match=1
        )
    assert [g.id for g in groups] == world.groups_a  # a provider sees only its own groups
    assert all(isinstance(g, GroupAvailability) and isinstance(g.reported_at, datetime) for g in groups)
    assert single.care_form == "behandelgroep" and single.capacity == 6
    assert (too_many.value.status_code, too_many.value.code) == (422, "free_places_above_capacity")
    assert "kan niet meer zijn dan de capaciteit" in too_many.value.detail
    assert (foreign.value.status_code, foreign.value.detail) == (404, "Groep niet gevonden.")
    assert stale.value.status_code == 412 and "intussen gewijzigd" in stale.value.detail
    assert no_reason.value.status_code == 422 and "Geef een reden op" in no_reason.value.detail
    assert (closed.admitting, closed.reason, closed.version) == (False, "Groepsdynamiek", 2)
    assert group_state(db, world.groups_a[0]) == (0, 2, 1)


def test_login_with_password(settings, world):
    from tests.factories import PASSWORD, totp_code

    with running_server(settings) as base_url, PlekwijzerClient(base_url) as client:
        with pytest.raises(PlekwijzerError) as wrong:
            client.login("coordinator", "fout-wachtwoord")
        client.login("coordinator", PASSWORD, code=lambda: totp_code(world.totp_secrets["coordinator"]))
        groups = client.availability(care_form="crisis")
    assert wrong.value.status_code == 401
    assert [g.id for g in groups] == [world.groups_b[1]]


def test_async_client_retry_reuses_key_and_returns_typed_group(app, db, world):
    group_id = world.groups_b[1]
    _, version, _ = group_state(db, group_id)
    transport = AsyncFlakyTransport(app)

    async def scenario() -> tuple[GroupAvailability, list[GroupAvailability]]:
        async with AsyncPlekwijzerClient(
            "http://plekwijzer", api_key=world.api_keys["key_b"], backoff=0.01, transport=transport
        ) as client:
            group = await client.set_availability(group_id, free_places=3)
            listed = await client.availability(care_form="crisis")
            with pytest.raises(PlekwijzerError) as error:
                await client.set_availability(world.groups_a[0], free_places=1)
            assert error.value.status_code == 404
            return group, listed

    group, listed = asyncio.run(scenario())
    keys = [r.headers.get("Idempotency-Key") for r in transport.seen[:2]]
    assert keys[0] is not None and keys[0] == keys[1]
    assert (group.free_places, group.version) == (3, version + 1)
    assert group_state(db, group_id) == (3, version + 1, 1)
    assert [(g.id, g.free_places) for g in listed] == [(group_id, 3)]


def test_the_client_renews_an_expired_access_token_with_its_refresh_token(settings, world):
    """After ``login`` the client keeps working past the access token's 15 minutes: the server
    says the token expired, the client renews it once with the refresh token and goes on."""
    from datetime import timedelta

    import jwt

    from backend.domain import utcnow
    from tests.factories import PASSWORD

    with running_server(settings) as base_url, PlekwijzerClient(base_url) as client:
        token = client.login("provider_a", PASSWORD)
        claims = jwt.decode(token, settings.secret_key, algorithms=["HS256"])
        claims["exp"] = utcnow() - timedelta(seconds=5)
        expired = "Bearer " + jwt.encode(claims, settings.secret_key, algorithm="HS256")
        client._http.headers["Authorization"] = expired
        first_refresh = client._refresh_token
        groups = client.availability()
        renewed = client._http.headers["Authorization"]
        next_refresh = client._refresh_token
    assert {g.provider_id for g in groups} == {world.provider_a}
    assert renewed != expired and next_refresh not in (None, first_refresh)
