"""A typed Python client for plekwijzer's availability API, on httpx (sync and async).

Writes carry an ``Idempotency-Key``; a retry after a network error or a 5xx reuses the same key,
so the server applies the change once however often the request is sent. Credentials go in
headers only (``X-API-Key`` or ``Authorization``), never in a URL. After ``login`` the client
renews its short-lived access token with the refresh token when the server says it has expired::

    with PlekwijzerClient("http://localhost:8000", api_key="pw_...") as client:
        group = client.set_availability(12, free_places=2)
        print(group.free_places, group.version)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

RETRY_STATUS = {502, 503, 504}


class GroupAvailability(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    provider_id: int
    name: str
    care_form: str
    capacity: int
    free_places: int
    admitting: bool
    reason: str | None = None
    expected_free_date: date | None = None
    waiting_list: int | None = None
    reported_at: datetime | None = None
    stale: bool
    version: int


class PlekwijzerError(Exception):
    """An error answer from the server, with its Dutch message."""

    def __init__(self, status_code: int, detail: str, code: str | None = None) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail
        self.code = code


def _second_step(challenge: dict[str, Any], code: Callable[[], str] | None) -> dict[str, str]:
    """The body of the second login step, for a role that needs a second factor."""
    if challenge.get("mfa_required") != "verify":
        raise PlekwijzerError(
            401,
            "Stel eerst tweestapsverificatie in door in te loggen in de webapp; daarna kunt u hier inloggen.",
            "mfa_enrolment_required",
        )
    if code is None:
        raise PlekwijzerError(
            401, "Voor deze gebruiker is ook een code uit de authenticator-app nodig.", "mfa_required"
        )
    return {"mfa_token": str(challenge["mfa_token"]), "code": code()}


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
        detail, code = body.get("detail", response.text), body.get("code")
    except ValueError:
        detail, code = response.text, None
    raise PlekwijzerError(response.status_code, str(detail), code)


def _code(response: httpx.Response) -> str | None:
    try:
        return response.json().get("code")  # type: ignore[no-any-return]
    except ValueError:
        return None


def _availability_body(
    free_places: int, admitting: bool, reason: str | None, expected_free_date: date | None, waiting_list: int | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"free_places": free_places, "admitting": admitting}
    if reason is not None:
        body["reason"] = reason
    if expected_free_date is not None:
        body["expected_free_date"] = expected_free_date.isoformat()
    if waiting_list is not None:
        body["waiting_list"] = waiting_list
    return body


def _auth_headers(token: str | None, api_key: str | None) -> dict[str, str]:
    if api_key:
        return {"X-API-Key": api_key}
    if token:
        return {"Authorization": f"Bearer {token}"}
    return {}


class PlekwijzerClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        retries: int = 3,
        backoff: float = 0.2,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self._refresh_token: str | None = None
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, headers=_auth_headers(token, api_key), transport=transport
        )

    def __enter__(self) -> PlekwijzerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def login(self, username: str, password: str, *, code: Callable[[], str] | None = None) -> str:
        """Logs in; for a role with a second factor ``code`` gives the code of the
        authenticator app (asked only when the server wants it)."""
        response = self._http.post("/api/v1/auth/token", data={"username": username, "password": password})
        _raise_for(response)
        body = response.json()
        if "access_token" not in body:
            response = self._http.post("/api/v1/auth/mfa", json=_second_step(body, code))
            _raise_for(response)
            body = response.json()
        return self._use_tokens(body)

    def _use_tokens(self, body: dict[str, Any]) -> str:
        token = str(body["access_token"])
        self._refresh_token = body.get("refresh_token")
        self._http.headers["Authorization"] = f"Bearer {token}"
        return token

    def _renewed(self, response: httpx.Response) -> bool:
        """After a 401 for an expired access token: renew it (once) with the refresh token."""
        if response.status_code != 401 or not self._refresh_token or _code(response) != "token_expired":
            return False
        renewed = self._http.post("/api/v1/auth/refresh", json={"refresh_token": self._refresh_token})
        self._refresh_token = None
        if not renewed.is_success:
            return False
        self._use_tokens(renewed.json())
        return True

    def _send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.request(method, url, json=json, headers=headers, params=params)
                if self._renewed(response):
                    response = self._http.request(method, url, json=json, headers=headers, params=params)
                if response.status_code not in RETRY_STATUS or attempt >= self.retries:
                    return response
            except httpx.TransportError:
                if attempt >= self.retries:
                    raise
            attempt += 1
            time.sleep(self.backoff * 2 ** (attempt - 1))

    def set_availability(
        self,
        group_id: int,
        *,
        free_places: int,
        admitting: bool = True,
        reason: str | None = None,
        expected_free_date: date | None = None,
        waiting_list: int | None = None,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> GroupAvailability:
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        response = self._send(
            "PUT",
            f"/api/v1/groups/{group_id}/availability",
            json=_availability_body(free_places, admitting, reason, expected_free_date, waiting_list),
            headers=headers,
        )
        _raise_for(response)
        return GroupAvailability.model_validate(response.json())

    def availability(self, **filters: Any) -> list[GroupAvailability]:
        response = self._send("GET", "/api/v1/availability", params=filters)
        _raise_for(response)
        return [GroupAvailability.model_validate(g) for g in response.json()["groups"]]

    def group(self, group_id: int) -> GroupAvailability:
        response = self._send("GET", f"/api/v1/groups/{group_id}")
        _raise_for(response)
        return GroupAvailability.model_validate(response.json())


class AsyncPlekwijzerClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        retries: int = 3,
        backoff: float = 0.2,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self._refresh_token: str | None = None
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers=_auth_headers(token, api_key),
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def __aenter__(self) -> AsyncPlekwijzerClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def login(self, username: str, password: str, *, code: Callable[[], str] | None = None) -> str:
        response = await self._http.post("/api/v1/auth/token", data={"username": username, "password": password})
        _raise_for(response)
        body = response.json()
        if "access_token" not in body:
            response = await self._http.post("/api/v1/auth/mfa", json=_second_step(body, code))
            _raise_for(response)
            body = response.json()
        return self._use_tokens(body)

    def _use_tokens(self, body: dict[str, Any]) -> str:
        token = str(body["access_token"])
        self._refresh_token = body.get("refresh_token")
        self._http.headers["Authorization"] = f"Bearer {token}"
        return token

    async def _renewed(self, response: httpx.Response) -> bool:
        if response.status_code != 401 or not self._refresh_token or _code(response) != "token_expired":
            return False
        renewed = await self._http.post("/api/v1/auth/refresh", json={"refresh_token": self._refresh_token})
        self._refresh_token = None
        if not renewed.is_success:
            return False
        self._use_tokens(renewed.json())
        return True

    async def _send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, url, json=json, headers=headers, params=params)
                if await self._renewed(response):
                    response = await self._http.request(method, url, json=json, headers=headers, params=params)
                if response.status_code not in RETRY_STATUS or attempt >= self.retries:
                    return response
            except httpx.TransportError:
                if attempt >= self.retries:
                    raise
            attempt += 1
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))

    async def set_availability(
        self,
        group_id: int,
        *,
        free_places: int,
        admitting: bool = True,
        reason: str | None = None,
        expected_free_date: date | None = None,
        waiting_list: int | None = None,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> GroupAvailability:
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        response = await self._send(
            "PUT",
            f"/api/v1/groups/{group_id}/availability",
            json=_availability_body(free_places, admitting, reason, expected_free_date, waiting_list),
            headers=headers,
        )
        _raise_for(response)
        return GroupAvailability.model_validate(response.json())

    async def availability(self, **filters: Any) -> list[GroupAvailability]:
        response = await self._send("GET", "/api/v1/availability", params=filters)
        _raise_for(response)
        return [GroupAvailability.model_validate(g) for g in response.json()["groups"]]

    async def group(self, group_id: int) -> GroupAvailability:
        response = await self._send("GET", f"/api/v1/groups/{group_id}")
        _raise_for(response)
        return GroupAvailability.model_validate(response.json())
