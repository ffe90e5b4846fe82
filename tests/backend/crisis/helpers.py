"""Shared arrangements for the crisis tests: neighbouring regions, crisis places, postcodes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import select

from backend.events.models import Event
from backend.providers.models import Group, Location, Provider
from backend.regions.models import Municipality, Postcode, Region
from tests.factories import add_group


@dataclass
class CrisisPlaces:
    wilg: int  # world's crisis group of provider_b in Almelo (own region)
    enschede: int  # provider_a crisis group in Enschede (own region)
    foster: int  # provider_a crisis foster family in Enschede, girls only, 0-12
    deventer: int  # neighbouring region IJsselland
    amsterdam: int  # far away, not a neighbour
    secure: int  # provider_a jeugdzorgplus group (only with the secure-care flag)


def set_places(db, group_id: int, *, free: int, held: int = 0, admitting: bool = True) -> None:
    with db.transaction() as session:
        session.execute(
            update(Group).where(Group.id == group_id).values(free_places=free, held_places=held, admitting=admitting)
        )


def group_row(db, group_id: int) -> Group:
    with db.transaction(write=False) as session:
        return session.get(Group, group_id)


def events(db, prefix: str = "hold.") -> list[Event]:
    with db.transaction(write=False) as session:
        rows = session.exec(select(Event).order_by(Event.seq)).all()
    return [e for e in rows if e.type.startswith(prefix)]


def _region_with_group(session, *, code, name, town, cbs, lat, lon, agb, group_name, settings=None):
    region = Region(code=code, name=name, settings=settings or {})
    session.add(region)
    session.flush()
    municipality = Municipality(region_id=region.id, cbs_code=cbs, name=town, lat=lat, lon=lon)
    session.add(municipality)
    session.flush()
    provider = Provider(region_id=region.id, name=f"Crisis {town}", agb_code=agb, phone_24h="088-1111111")
    session.add(provider)
    session.flush()
    location = Location(
        code=town,
        provider_id=provider.id,
        municipality_id=municipality.id,
        name=town,
        postcode="1000",
        lat=lat,
        lon=lon,
    )
    session.add(location)
    session.flush()
    return add_group(
        session,
        location,
        name=group_name,
        care_form="crisis",
        capacity=6,
        weekly_roster_hours=300.0,
        free_places=2,
        age_min=12,
        age_max=18,
        expertise=["trauma"],
    ).id


def build_crisis_places(db, world) -> CrisisPlaces:
    with db.transaction() as session:
        twente = session.get(Region, world.region_id)
        twente.settings = {"neighbours": ["JZ07"]}
        session.add(twente)
        loc_a = session.exec(select(Location).where(Location.provider_id == world.provider_a)).first()
        enschede = add_group(
            session,
            loc_a,
            name="Crisisgroep Es",
            care_form="crisis",
            capacity=6,
            weekly_roster_hours=300.0,
            free_places=2,
            age_min=12,
            age_max=18,
            expertise=["trauma", "agressie"],
        ).id
        foster = add_group(
            session,
            loc_a,
            name="Crisispleeggezin Hulst",
            care_form="crisis",
            capacity=2,
            weekly_roster_hours=90.0,
            free_places=1,
            age_min=0,
            age_max=12,
            gender_policy="meisjes",
            expertise=["hechting"],
        ).id
        secure = add_group(
            session,
            loc_a,
            name="Jeugdzorgplus De Poort",
            care_form="jeugdzorgplus",
            capacity=8,
            weekly_roster_hours=700.0,
            free_places=1,
            age_min=12,
            age_max=18,
            risk_profiles="ABC",
        ).id
        deventer = _region_with_group(
            session,
            code="JZ07",
            name="IJsselland",
            town="Deventer",
            cbs="GM0150",
            lat=52.255,
            lon=6.160,
            agb="43100000",
            group_name="Crisisgroep Deventer",
            settings={"hold_minutes": 45},
        )
        amsterdam = _region_with_group(
            session,
            code="JZ13",
            name="Amsterdam-Amstelland",
            town="Amsterdam",
            cbs="GM0363",
            lat=52.37,
            lon=4.89,
            agb="43100013",
            group_name="Crisisgroep Amsterdam",
        )
        session.add_all(
            [
                Postcode(pc4="7511", place="Enschede", lat=52.2215, lon=6.8937),
                Postcode(pc4="7600", place="Almelo", lat=52.3567, lon=6.6625),
            ]
        )
    return CrisisPlaces(
        wilg=world.groups_b[1], enschede=enschede, foster=foster, deventer=deventer, amsterdam=amsterdam, secure=secure
    )
