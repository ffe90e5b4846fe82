"""Demo: two neighbouring regions of Twente with a few crisis places each, so that the crisis
search shows "own region first, then neighbours".

IJsselland (JZ07) and Achterhoek (JZ25) border Twente (JZ14); codes and names from the CBS list
of youth-care regions 2025. Municipality centres are approximate (town centres). Also a year
of Twente's crisis searches, as counted for the indicators (backend/crisis/searchlog.py).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from backend.availability.service import open_places
from backend.crisis.models import CrisisSearchCount
from backend.domain import utcnow
from backend.providers.models import Location, Provider
from backend.providers.service import create_group
from backend.regions.models import Municipality, Region

NEIGHBOURS = {
    "JZ07": (
        "IJsselland",
        [
            ("Deventer", "GM0150", 52.255, 6.160, "7411"),
            ("Zwolle", "GM0193", 52.512, 6.094, "8011"),
            ("Raalte", "GM0177", 52.387, 6.276, "8102"),
        ],
    ),
    "JZ25": (
        "Achterhoek",
        [
            ("Doetinchem", "GM0222", 51.965, 6.289, "7001"),
            ("Winterswijk", "GM0294", 51.972, 6.720, "7101"),
            ("Berkelland", "GM1859", 52.113, 6.520, "7271"),
        ],
    ),
}
TWENTE_NEIGHBOURS = ["JZ07", "JZ25"]


def load_crisis_demo(*, session: Session, rng: random.Random, region: Region, **_: Any) -> None:
    # Own randomness, so adding this loader does not change what other loaders generate.
    rng = random.Random(7)
    settings = dict(region.settings or {})
    settings["neighbours"] = list(TWENTE_NEIGHBOURS)
    region.settings = settings  # a new dict, so the JSON column is seen as changed
    session.add(region)
    now = utcnow()
    for number, (code, (name, municipalities)) in enumerate(NEIGHBOURS.items()):
        if session.exec(select(Region).where(Region.code == code)).first() is not None:
            continue
        neighbour = Region(code=code, name=name, settings={"neighbours": [region.code], "hold_minutes": 90})
        session.add(neighbour)
        session.flush()
        provider = Provider(
            region_id=neighbour.id,  # type: ignore[arg-type]
            name=f"Crisisopvang {name}",
            agb_code=f"{43100000 + number * 13:08d}",
            phone_24h=f"088-{rng.randint(1000000, 9999999)}",
        )
        session.add(provider)
        session.flush()
        for index, (town, cbs, lat, lon, pc4) in enumerate(municipalities):
            municipality = Municipality(
                region_id=neighbour.id,  # type: ignore[arg-type]
                cbs_code=cbs,
                name=town,
                lat=lat,
                lon=lon,
            )
            session.add(municipality)
            session.flush()
            location = Location(
                code=f"C{town}",
                provider_id=provider.id,  # type: ignore[arg-type]
                municipality_id=municipality.id,  # type: ignore[arg-type]
                name=f"Crisisopvang {town}",
                postcode=pc4,
                lat=round(lat + rng.uniform(-0.01, 0.01), 5),
                lon=round(lon + rng.uniform(-0.01, 0.01), 5),
            )
            session.add(location)
            session.flush()
            foster = index == 2
            capacity = 2 if foster else rng.randint(4, 8)
            group = create_group(
                session=session,
                location=location,
                name=f"Crisispleeggezin {town}" if foster else f"Crisisgroep {town}",
                care_form="crisis",
                capacity=capacity,
                age_min=0 if foster else 12,
                age_max=18,
                weekly_roster_hours=round(7.0 * capacity * 7, 1),
                risk_profiles="ABC",
                expertise=["trauma"] if foster else ["trauma", "agressie"],
                day_tariff=380.0,
                free_places=rng.randint(1, min(2, capacity)),
            )
            open_places(
                group, free_places=group.free_places, reported_at=now - timedelta(hours=rng.choice([0.5, 2, 6]))
            )
            session.add(group)
    session.flush()
    _search_history(session, region, now)


def _search_history(session: Session, region: Region, now: datetime) -> None:
    """A year of the crisis team's searches for the indicators: two to six a week, more in the
    winter months; most find a place, most of those in the own region (once: not again when the
    demo is loaded into a database that has them)."""
    if session.exec(select(CrisisSearchCount.id).where(CrisisSearchCount.region_id == region.id)).first():
        return
    rng = random.Random(11)
    rows = []
    day = now - timedelta(days=365)
    while day < now - timedelta(hours=1):
        winter = day.month in (11, 12, 1, 2)
        day += timedelta(days=rng.expovariate((5.0 if winter else 3.0) / 7.0))
        if day >= now:
            break
        places = 0 if rng.random() < 0.12 else rng.randint(1, 6)
        rows.append(
            CrisisSearchCount(
                region_id=region.id,  # type: ignore[arg-type]
                searched_at=day,
                places_found=places,
                own_region_found=places > 0 and rng.random() < 0.75,
            )
        )
    session.add_all(rows)
