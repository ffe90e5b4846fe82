"""A small, realistic world for tests: one region, two providers with groups, a user of every
role, and API keys. Built through the real service functions. Below it, the requests and
read-backs that tests in several folders share."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pyotp
from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.auth import hash_password, new_api_key
from backend.config import Settings
from backend.db import Database
from backend.domain import utcnow
from backend.events.models import Event
from backend.providers.models import Group, Location, Provider
from backend.providers.service import create_group
from backend.regions.models import Municipality, Region
from backend.users.models import ApiKey, User
from backend.users.sessions import start_session
from backend.users.totp_secrets import encrypt

# Passes the password rules (backend/users/passwords.py): long, not common, not the username.
PASSWORD = "Esdoorn-bij-de-Linde-1987"


@lru_cache
def password_hash() -> str:
    # argon2 is deliberately slow; hash once per run and reuse it for every test user.
    return hash_password(PASSWORD)


@dataclass
class World:
    settings: Settings
    region_id: int
    municipality_ids: dict[str, int]
    provider_a: int
    provider_b: int
    groups_a: list[int]
    groups_b: list[int]
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)
    # TOTP secrets of the users whose role needs a second factor (``login`` uses them).
    totp_secrets: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """Auth headers: a user name (admin, coordinator, crisis, viewer, provider_a,
        provider_b) or an API key (key_a, key_b)."""
        if who in self.api_keys:
            return {"X-API-Key": self.api_keys[who]}
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def add_user(
    session: Any,
    settings: Settings,
    username: str,
    role: str,
    provider_id: int | None = None,
    region_id: int | None = None,
    totp_secret: str | None = None,
) -> tuple[User, str]:
    """A user with ``PASSWORD``; ``totp_secret``: with a second factor already enrolled."""
    user = User(
        username=username,
        password_hash=password_hash(),
        role=role,
        provider_id=provider_id,
        region_id=region_id,
        created_at=utcnow(),
        mfa_secret=encrypt(settings, totp_secret) if totp_secret else None,
        mfa_enabled_at=utcnow() if totp_secret else None,
    )
    session.add(user)
    session.flush()
    # A real login session, so that ending it (deactivation, logout) refuses this token.
    token = start_session(session=session, user=user, settings=settings).access_token
    return user, token


def add_api_key(session: Any, provider_id: int) -> str:
    full, prefix, key_hash = new_api_key()
    session.add(ApiKey(provider_id=provider_id, prefix=prefix, key_hash=key_hash, created_at=utcnow()))
    return full


def add_group(session: Any, location: Location, **overrides: Any) -> Group:
    values: dict[str, Any] = {
        "name": "Woongroep Esdoorn",
        "care_form": "woongroep",
        "capacity": 8,
        "age_min": 12,
        "age_max": 18,
        "weekly_roster_hours": 220.0,
        "free_places": 2,
        "expertise": ["trauma", "lvb"],
        "risk_profiles": "AB",
        "day_tariff": 200.0,
    }
    values.update(overrides)
    return create_group(session=session, location=location, **values)


def build_world(db: Database, settings: Settings) -> World:
    with db.transaction() as session:
        region = Region(code="JZ14", name="Twente", settings={})
        session.add(region)
        session.flush()
        enschede = Municipality(region_id=region.id, cbs_code="GM0153", name="Enschede", lat=52.218, lon=6.891)
        almelo = Municipality(region_id=region.id, cbs_code="GM0141", name="Almelo", lat=52.356, lon=6.659)
        session.add_all([enschede, almelo])
        session.flush()
        provider_a = Provider(
            region_id=region.id, name="Stichting De Linde", agb_code="41000001", phone_24h="053-1234567"
        )
        provider_b = Provider(
            region_id=region.id, name="Stichting Het Anker", agb_code="41000002", phone_24h="0546-765432"
        )
        session.add_all([provider_a, provider_b])
        session.flush()
        loc_a = Location(
            code="ENS",
            provider_id=provider_a.id,
            municipality_id=enschede.id,
            name="De Linde Enschede",
            postcode="7511",
            lat=52.22,
            lon=6.89,
        )
        loc_b = Location(
            code="ALM",
            provider_id=provider_b.id,
            municipality_id=almelo.id,
            name="Het Anker Almelo",
            postcode="7600",
            lat=52.36,
            lon=6.66,
        )
        session.add_all([loc_a, loc_b])
        session.flush()
        groups_a = [
            add_group(session, loc_a),
            add_group(
                session,
                loc_a,
                name="Behandelgroep Eik",
                care_form="behandelgroep",
                capacity=6,
                weekly_roster_hours=260.0,
                free_places=1,
            ),
        ]
        groups_b = [
            add_group(
                session,
                loc_b,
                name="Gezinshuis Beuk",
                care_form="gezinshuis",
                level="middel",
                capacity=5,
                weekly_roster_hours=60.0,
                free_places=1,
            ),
            add_group(
                session,
                loc_b,
                name="Crisisgroep Wilg",
                care_form="crisis",
                capacity=4,
                weekly_roster_hours=200.0,
                free_places=1,
            ),
        ]
        world = World(
            settings=settings,
            region_id=region.id,  # type: ignore[arg-type]
            municipality_ids={"Enschede": enschede.id, "Almelo": almelo.id},  # type: ignore[dict-item]
            provider_a=provider_a.id,
            provider_b=provider_b.id,  # type: ignore[arg-type]
            groups_a=[g.id for g in groups_a],  # type: ignore[misc]
            groups_b=[g.id for g in groups_b],
        )  # type: ignore[misc]
        for name, role, provider in [
            ("admin", "admin", None),
            ("coordinator", "coordinator", None),
            ("crisis", "crisis", None),
            ("viewer", "viewer", None),
            ("provider_a", "provider", provider_a.id),
            ("provider_b", "provider", provider_b.id),
        ]:
            secret = pyotp.random_base32() if role in settings.mfa_role_set else None
            user, token = add_user(session, settings, name, role, provider, region.id, totp_secret=secret)
            world.users[name] = user
            world.tokens[name] = token
            if secret:
                world.totp_secrets[name] = secret
        world.api_keys["key_a"] = add_api_key(session, provider_a.id)  # type: ignore[arg-type]
        world.api_keys["key_b"] = add_api_key(session, provider_b.id)  # type: ignore[arg-type]
    return world


# Requests and read-backs that tests in several folders share.


def totp_code(secret: str, *, step_offset: int = 0) -> str:
    """The code an authenticator app shows now (``step_offset=1``: the next 30-second one)."""
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() + 30 * step_offset)


def login(client: Any, username: str, password: str = PASSWORD, *, totp_secret: str | None = None) -> Any:
    """Logs in through the API as a person does, with a real TOTP code for the second step when
    the server asks for one; returns the last response (the session, or the refusal).

    A code is accepted once only (RFC 6238); when this step's code was used already (a second
    login within 30 seconds) the next step's code is sent, which the server also accepts."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    if response.status_code != 200 or "mfa_token" not in response.json():
        return response
    challenge = response.json()
    secret = totp_secret or (challenge.get("enrolment") or {}).get("secret")
    assert secret, "the server asks for a code but the test has no TOTP secret for this user"
    for offset in (0, 1):
        response = client.post(
            "/api/v1/auth/mfa",
            json={"mfa_token": challenge["mfa_token"], "code": totp_code(secret, step_offset=offset)},
        )
        if response.status_code != 401 or response.json().get("code") != "mfa_code_reused":
            break
    return response


def referral_body(reference: str = "TW-0001", **overrides: Any) -> dict[str, Any]:
    today = utcnow().date()
    body: dict[str, Any] = {
        "reference": reference,
        "birth_year": today.year - 14,
        "birth_month": 1,
        "gender": "m",
        "home_municipality": "Enschede",
        "care_forms": ["woongroep", "behandelgroep"],
        "required_intensity": "C",
        "risk_profile": "A",
        "needs": ["trauma"],
        "urgency": 3,
    }
    body.update(overrides)
    return body


def create_referral(client: Any, world: Any, reference: str = "TW-0001", **overrides: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/referrals", json=referral_body(reference, **overrides), headers=world.headers("coordinator")
    )
    assert response.status_code == 201, response.text
    return response.json()


def group_row(db: Any, group_id: int) -> Any:
    with db.transaction(write=False) as session:
        return session.get(Group, group_id)


def set_free(client: Any, world: Any, group_id: int, free: int, who: str, **extra: Any) -> None:
    response = client.put(
        f"/api/v1/groups/{group_id}/availability", json={"free_places": free, **extra}, headers=world.headers(who)
    )
    assert response.status_code == 200, response.text


def put_availability(
    client: Any, world: Any, group_id: int, body: dict[str, Any], who: str = "provider_a", **headers: str
) -> Any:
    """A raw availability report (the response is returned, whatever its status)."""
    return client.put(f"/api/v1/groups/{group_id}/availability", json=body, headers={**world.headers(who), **headers})


def count_events_and_audit(db: Any) -> tuple[int, int]:
    with db.transaction(write=False) as session:
        return (len(session.exec(select(Event)).all()), len(session.exec(select(AuditEntry)).all()))


# Register workbooks as a contract manager edits them: sheet -> rows (the header row first).


def sheet_rows(data: bytes) -> dict[str, list[list[Any]]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    return {name: [list(row) for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}


def workbook(rows: dict[str, list[list[Any]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, values in rows.items():
        sheet = book.create_sheet(name)
        for row in values:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
