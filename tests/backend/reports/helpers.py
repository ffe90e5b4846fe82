"""Setting up the register's history and the occupancy feed for post-calculation tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import select

from backend.domain import utcnow
from backend.providers.models import Group
from backend.register.models import TERM_APPROVED, ContractTerm, Tariff
from backend.register.service import insert_version

LONG_AGO = date(2020, 1, 1)


def at(day: str, hour: int = 14) -> str:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC).isoformat()


def admit(event_id: str, group_id: int, day: str, ref: str, origin: str = "JZ14", hour: int = 14) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "kind": "admission",
        "group_id": group_id,
        "at": at(day, hour),
        "stay_reference": ref,
        "origin_region_code": origin,
    }


def discharge(event_id: str, group_id: int, day: str, ref: str, hour: int = 10) -> dict[str, Any]:
    return {"event_id": event_id, "kind": "discharge", "group_id": group_id, "at": at(day, hour), "stay_reference": ref}


def send(client: Any, world: Any, events: list[dict[str, Any]], who: str = "key_b") -> dict[str, Any]:
    body = client.post("/api/v1/occupancy/events", json={"events": events}, headers=world.headers(who)).json()
    assert body["refused"] == 0, body
    return body


def report(client: Any, world: Any, who: str = "coordinator", **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/post-calculation", params={"region": "JZ14", **params}, headers=world.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def row(body: dict[str, Any], group_id: int) -> dict[str, Any]:
    return next(r for r in body["groups"] if r["group_id"] == group_id)


def group_ids(body: dict[str, Any]) -> list[int]:
    return [r["group_id"] for r in body["groups"]]


def since(db: Any, group_ids: list[int], day: date = LONG_AGO) -> None:
    """Groups made by the factories start today; these existed (active, with their first
    contract term) from ``day``."""
    with db.transaction() as session:
        for group_id in group_ids:
            group = session.get(Group, group_id)
            group.active_from = day
            session.add(group)
            for term in session.exec(select(ContractTerm).where(ContractTerm.group_id == group_id)).all():
                term.valid_from = day
                session.add(term)


def add_term(
    db: Any,
    group_id: int,
    valid_from: date,
    *,
    places: int,
    day_tariff: float | None = None,
    funded: bool = True,
    share: float | None = None,
    valid_to: date | None = None,
    status: str = TERM_APPROVED,
) -> int:
    """A new approved contract version from ``valid_from`` (the open version before it ends the
    day before), written with the ORM as the register would."""
    with db.transaction() as session:
        group = session.get(Group, group_id)
        term = ContractTerm(
            region_id=group.region_id,
            group_id=group_id,
            valid_from=valid_from,
            valid_to=valid_to,
            contracted_places=places,
            day_tariff=day_tariff,
            availability_funded=funded,
            availability_share=share,
            status=status,
            created_at=utcnow(),
            created_by="test",
        )
        if status == TERM_APPROVED:
            insert_version(session, term)
        else:
            session.add(term)
            session.flush()
        return term.id


def add_tariff(
    db: Any, region_id: int, care_form: str, intensity: str, day_tariff: float, valid_from: date = LONG_AGO
) -> None:
    with db.transaction() as session:
        session.add(
            Tariff(
                region_id=region_id,
                care_form=care_form,
                intensity=intensity,
                day_tariff=day_tariff,
                valid_from=valid_from,
            )
        )


def set_region_settings(db: Any, **settings: Any) -> None:
    from backend.regions.models import Region

    with db.transaction() as session:
        region = session.exec(select(Region)).one()
        region.settings = {**(region.settings or {}), **settings}
        session.add(region)
