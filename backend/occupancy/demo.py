"""Demo: a plausible past year of admissions and discharges for every demo group, so that the
occupancy views and the post-calculation have something to show; the crisis groups and about a
third of the others follow the feed for their free places.

Each bed is simulated on its own (a stay, a gap, a stay, ...), so no group is ever over its
places. Crisis stays are short (days to weeks), other stays months; some groups run well
below 50% so the report's flag shows. Crisis groups take a share of youths from other regions.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from backend.auth import Principal
from backend.availability.service import set_places_from_feed
from backend.domain import utcnow
from backend.occupancy.bulk import StaySpec, bulk_insert_stays
from backend.providers.models import Group, is_stale
from backend.regions.models import Region
from backend.users.models import Role

OTHER_REGIONS = ["JZ07", "JZ25", "JZ17", "JZ13", "JZ29", "JZ22"]
MEAN_STAY_DAYS = {"crisis": 12.0, "deeltijd": 10.0, "pleegzorg": 300.0, "gezinshuis": 400.0}
OTHER_REGION_SHARE = {"crisis": 0.35, "driemilieu": 0.2, "jeugdzorgplus": 0.3}


def simulate_stays(
    *, rng: random.Random, group: Group, own_code: str, days: int, end: datetime, label: str
) -> list[StaySpec]:
    """Stays of one group over ``days`` days up to ``end`` (an aware datetime)."""
    mean_stay = MEAN_STAY_DAYS.get(group.care_form, 150.0)
    target = rng.choice([0.35, 0.45, 0.7, 0.8, 0.9, 0.95]) if group.availability_funded else rng.uniform(0.6, 0.97)
    mean_gap = mean_stay * (1 - target) / target
    share_other = OTHER_REGION_SHARE.get(group.care_form, 0.08)
    start = end - timedelta(days=days)
    stays: list[StaySpec] = []
    for bed in range(group.capacity):
        # Start somewhere in a stay or a gap, so the year does not begin empty.
        moment = start - timedelta(days=rng.uniform(0, mean_stay + mean_gap))
        number = 0
        while True:
            length = timedelta(days=max(0.3, rng.expovariate(1 / mean_stay)))
            admitted = moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=rng.randint(8, 20))
            discharged = admitted + length
            if admitted >= end:
                break
            origin = rng.choice(OTHER_REGIONS) if rng.random() < share_other else own_code
            stays.append(
                StaySpec(
                    group_id=group.id,  # type: ignore[arg-type]
                    provider_id=group.provider_id,
                    stay_reference=f"{label}-{group.id}-{bed}-{number}",
                    origin_region_code=origin,
                    admitted_at=admitted,
                    discharged_at=discharged if discharged < end else None,
                )
            )
            number += 1
            if discharged >= end:
                break
            moment = discharged + timedelta(days=rng.expovariate(1 / mean_gap) if mean_gap > 0 else 0)
    return stays


def load_occupancy_demo(*, session: Session, rng: random.Random, region: Region, **_: Any) -> None:
    rng = random.Random(14)  # own randomness: other loaders' draws stay as they were
    codes = {r.id: r.code for r in session.exec(select(Region)).all()}
    end = utcnow() - timedelta(hours=1)
    stays: list[StaySpec] = []
    for group in session.exec(select(Group).order_by(col(Group.id))).all():
        stays.extend(
            simulate_stays(rng=rng, group=group, own_code=codes[group.region_id], days=400, end=end, label="demo")
        )
    bulk_insert_stays(session=session, stays=stays, source="demo")
    follow_feed_in_demo(session=session, rng=rng)


# The demo's own actor: bound to no region, so it may switch any demo group.
DEMO_ACTOR = Principal(kind="system", id=0, name="demo", role=Role.admin, provider_id=None)


def follow_feed_in_demo(*, session: Session, rng: random.Random) -> None:
    """Every crisis group and about a third of the others follow the feed, so that for them free
    places and the feed agree (the rest keep reporting by hand, and some disagree). A group whose
    provider let its figure go stale has no feed either: the stale warnings stay to be seen."""
    for group in session.exec(select(Group).order_by(col(Group.id))).all():
        draw = rng.random()
        if is_stale(group.reported_at, stale_after_hours=24.0):
            continue
        if group.is_crisis or draw < 1 / 3:
            set_places_from_feed(
                session=session,
                principal=DEMO_ACTOR,
                group_id=group.id,  # type: ignore[arg-type]
                follow=True,
                stale_after_hours=24.0,
            )
