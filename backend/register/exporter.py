"""Exporting a region's register in the import's template, so that exporting and importing
again changes nothing (every derived value, such as coordinates, is written out as it is)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from backend.providers.models import Group, Location, Provider
from backend.regions.models import Municipality, Region
from backend.register.models import TERM_APPROVED, ContractTerm, Tariff


def register_tables(*, session: Session, region: Region) -> dict[str, list[dict[str, Any]]]:
    """The region's register as rows per sheet (fields as in ``sheets``), in a stable order."""
    municipalities = list(
        session.exec(
            select(Municipality).where(Municipality.region_id == region.id).order_by(col(Municipality.cbs_code))
        )
    )
    providers = list(
        session.exec(select(Provider).where(Provider.region_id == region.id).order_by(col(Provider.agb_code)))
    )
    agb = {p.id: p.agb_code for p in providers}
    cbs = {m.id: m.cbs_code for m in municipalities}
    provider_ids = list(agb)
    locations = (
        list(session.exec(select(Location).where(col(Location.provider_id).in_(provider_ids))).all())
        if provider_ids
        else []
    )
    location_code = {loc.id: loc.code for loc in locations}
    groups = list(session.exec(select(Group).where(Group.region_id == region.id)).all())
    group_key = {g.id: (agb[g.provider_id], g.code) for g in groups}
    terms = list(
        session.exec(
            select(ContractTerm).where(ContractTerm.region_id == region.id, ContractTerm.status == TERM_APPROVED)
        ).all()
    )
    tariffs = list(session.exec(select(Tariff).where(Tariff.region_id == region.id)).all())
    return {
        "regio": [{"code": region.code, "name": region.name}],
        "gemeenten": [{"cbs_code": m.cbs_code, "name": m.name, "lat": m.lat, "lon": m.lon} for m in municipalities],
        "aanbieders": [
            {
                "agb_code": p.agb_code,
                "name": p.name,
                "phone_24h": p.phone_24h,
                "contact_email": p.contact_email,
                "active_from": p.active_from,
                "active_to": p.active_to,
            }
            for p in providers
        ],
        "locaties": sorted(
            (
                {
                    "agb_code": agb[loc.provider_id],
                    "code": loc.code,
                    "name": loc.name,
                    "postcode": loc.postcode,
                    "municipality": cbs.get(loc.municipality_id),
                    "lat": loc.lat,
                    "lon": loc.lon,
                }
                for loc in locations
            ),
            key=lambda row: (row["agb_code"], row["code"]),
        ),
        "groepen": sorted(
            (
                {
                    "agb_code": agb[g.provider_id],
                    "code": g.code,
                    "location_code": location_code[g.location_id],
                    "name": g.name,
                    "care_form": g.care_form,
                    "level": g.level,
                    "age_min": g.age_min,
                    "age_max": g.age_max,
                    "gender_policy": g.gender_policy,
                    "risk_profiles": g.risk_profiles,
                    "expertise": list(g.expertise),
                    "weekly_roster_hours": g.weekly_roster_hours,
                    "occupancy_norm": g.occupancy_norm,
                    "is_crisis": g.is_crisis,
                    "active_from": g.active_from,
                    "active_to": g.active_to,
                }
                for g in groups
            ),
            key=lambda row: (row["agb_code"], row["code"]),
        ),
        "contracten": sorted(
            (
                {
                    "agb_code": group_key[t.group_id][0],
                    "group_code": group_key[t.group_id][1],
                    "valid_from": t.valid_from,
                    "valid_to": t.valid_to,
                    "contracted_places": t.contracted_places,
                    "day_tariff": t.day_tariff,
                    "availability_funded": t.availability_funded,
                    "availability_share": t.availability_share,
                }
                for t in terms
                if t.group_id in group_key
            ),
            key=lambda row: (row["agb_code"], row["group_code"], row["valid_from"]),
        ),
        "tarieven": sorted(
            (
                {
                    "care_form": t.care_form,
                    "intensity": t.intensity or None,
                    "day_tariff": t.day_tariff,
                    "valid_from": t.valid_from,
                    "valid_to": t.valid_to,
                }
                for t in tariffs
            ),
            key=lambda row: (row["care_form"], row["intensity"] or "", row["valid_from"]),
        ),
    }
