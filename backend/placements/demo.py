"""Demo: a year of the region's placement history, so that the steering indicators and the
what-if simulation have something to show. Referrals came in over the past year; proposals were
sent for them (accepted, declined with a reason, or left to expire), youths arrived and left
again. All of it ended before the demo's today: no open proposal or placement and no youth in
care, so the present (free places, the waiting list, the feed) stays as the other demo loaders
made it. (The occupancy feed's stays are the occupancy demo's own; these placements have none.)"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from backend.domain import utcnow
from backend.placements.models import CHOSEN_DESTINATIONS, Placement
from backend.proposals.models import DECLINE_REASONS, Proposal
from backend.providers.models import Group
from backend.referrals.demo import PROFILES, demo_referral
from backend.regions.models import Municipality, Region

REFERRALS = 260
# The reasons providers give, roughly as often as in practice ("anders" needs a text).
REASONS = [r for r in DECLINE_REASONS if r != "anders"]


def load_placement_history_demo(*, session: Session, rng: random.Random, region: Region, **_: Any) -> None:
    # Own randomness, so adding this loader does not change what other loaders generate.
    rng = random.Random(17)
    municipalities = list(session.exec(select(Municipality).where(Municipality.region_id == region.id)).all())
    groups = list(session.exec(select(Group).where(Group.region_id == region.id)).all())
    if not municipalities or not groups:
        return
    by_form: dict[str, list[Group]] = {}
    for group in groups:
        by_form.setdefault(group.care_form, []).append(group)
    now = utcnow()
    end = now - timedelta(days=2)  # everything of the history ended by then
    for number in range(1, REFERRALS + 1):
        since = now - timedelta(days=rng.uniform(30, 365))
        referral = demo_referral(
            session, rng, region, municipalities, rng.choice(PROFILES), reference=f"TW-H-{number:04d}", since=since
        )
        session.flush()
        options = [g for form in referral.care_forms for g in by_form.get(form, [])]
        moment = since
        placed = False
        for attempt in range(3):
            moment += timedelta(days=rng.expovariate(1 / (12.0 if attempt == 0 else 6.0)))
            if not options or moment > end - timedelta(days=20):
                break
            group = rng.choice(options)
            outcome = rng.choices(["accepted", "declined", "expired"], weights=[6, 3, 1])[0]
            answered = moment + timedelta(hours=rng.uniform(2, 40))
            proposal = Proposal(
                referral_id=referral.id,  # type: ignore[arg-type]
                group_id=group.id,  # type: ignore[arg-type]
                provider_id=group.provider_id,
                region_id=region.id,  # type: ignore[arg-type]
                components={},
                status=outcome,
                created_at=moment,
                created_by="demo",
                expires_at=moment + timedelta(days=2),
                answered_at=answered if outcome != "expired" else None,
                answered_by="demo" if outcome != "expired" else None,
                decline_reason=rng.choice(REASONS) if outcome == "declined" else None,
            )
            session.add(proposal)
            session.flush()
            moment = answered if outcome != "expired" else moment + timedelta(days=2)
            if outcome != "accepted":
                continue
            arrived = answered + timedelta(days=rng.uniform(1, 10))
            left = min(arrived + timedelta(days=rng.uniform(15, 220)), end - timedelta(days=rng.uniform(0, 20)))
            if left <= arrived:
                left = arrived + timedelta(days=1)
            session.add(
                Placement(
                    referral_id=referral.id,  # type: ignore[arg-type]
                    group_id=group.id,  # type: ignore[arg-type]
                    provider_id=group.provider_id,
                    region_id=region.id,  # type: ignore[arg-type]
                    proposal_id=proposal.id,
                    status="discharged",
                    expected_arrival=arrived.date(),
                    stay_reference=f"demo-{referral.reference}",
                    arrived_at=arrived,
                    discharged_at=left,
                    destination=rng.choice(CHOSEN_DESTINATIONS),
                    created_at=answered,
                    created_by="demo",
                    updated_at=left,
                )
            )
            referral.status, referral.updated_at = "discharged", left
            placed = True
            break
        if not placed:
            # Found nothing in time: the referral was withdrawn (another solution, another region).
            referral.status = "withdrawn"
            referral.updated_at = min(moment + timedelta(days=rng.uniform(5, 40)), end)
        session.add(referral)
    session.flush()
