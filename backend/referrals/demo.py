"""Demo referrals: about 40 youths waiting in Twente, with realistic needs, some sibling sets and
some with risk profile C. Home postcodes come from the Twente municipalities; when the postcode
table was not imported, the municipality centre is used (resolve_home falls back)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlmodel import Session, select

from backend.domain import utcnow
from backend.referrals.models import Referral
from backend.referrals.service import resolve_home
from backend.regions.models import Municipality, Region
from backend.regions.twente import TWENTE_MUNICIPALITIES

# (care forms in order of preference, required intensity, typical needs, age range)
PROFILES = [
    (["pleegzorg", "gezinshuis"], "A", ["hechting", "trauma"], (4, 12)),
    (["gezinshuis", "woongroep"], "B", ["hechting", "lvb"], (8, 15)),
    (["woongroep", "gezinshuis"], "C", ["trauma", "agressie"], (12, 17)),
    (["behandelgroep", "woongroep"], "D", ["autisme", "jeugd_ggz"], (10, 17)),
    (["ggz_verblijf", "behandelgroep"], "E", ["jeugd_ggz", "eetstoornis"], (13, 18)),
    (["kamertraining", "woongroep"], "B", ["zelfstandigheid"], (16, 18)),
    (["driemilieu", "behandelgroep"], "F", ["lvb", "agressie", "trauma"], (10, 17)),
    (["jeugdzorgplus"], "G", ["verslaving", "loverboy"], (13, 18)),
    (["khw", "behandelgroep"], "F", ["autisme", "lvb"], (8, 17)),
    (["ouder_kind"], "C", ["jonge_moeder"], (16, 21)),
    (["woongroep", "behandelgroep"], "C", ["shg", "lvb"], (12, 17)),
]


def demo_referral(
    session: Session,
    rng: random.Random,
    region: Region,
    municipalities: list[Municipality],
    profile: tuple[list[str], str, list[str], tuple[int, int]],
    *,
    reference: str,
    since: datetime | None = None,
    sibling: str | None = None,
    home: Municipality | None = None,
    age: int | None = None,
) -> Referral:
    """A waiting demo referral of ``profile`` since ``since`` (default: 1 to 240 days ago), added
    to the session."""
    pc4_of = {code: pc4 for _n, code, _la, _lo, pc4 in TWENTE_MUNICIPALITIES}
    today = utcnow()
    forms, intensity, needs, (lo, hi) = profile
    mun = home or rng.choice(municipalities)
    years = age if age is not None else rng.randint(lo, hi)
    postcode, mun_id, lat, lon = resolve_home(
        session=session,
        region_id=region.id,  # type: ignore[arg-type]
        postcode=pc4_of.get(mun.cbs_code),
        municipality=mun.name,
    )
    risk = rng.choice(["A", "A", "B", "B", "C"]) if intensity >= "C" else rng.choice(["A", "B"])
    if since is None:
        since = today - timedelta(days=rng.randint(1, 240))
    referral = Referral(
        region_id=region.id,  # type: ignore[arg-type]
        reference=reference,
        # born in a month already past this year, so the age is exactly ``years``
        birth_year=today.year - years,
        birth_month=rng.randint(1, today.month),
        gender=rng.choice(["m", "v", "m", "v", "x"]),
        home_postcode=postcode,
        home_municipality_id=mun_id,
        home_lat=lat,
        home_lon=lon,
        origin_region_code=region.code if rng.random() < 0.9 else "JZ13",
        care_forms=list(forms),
        required_intensity=intensity,
        risk_profile=risk,
        needs=sorted(set(rng.sample(needs, rng.randint(1, len(needs))))),
        urgency=rng.choice([2, 3, 3, 4, 5]),
        secure_authorisation="jeugdzorgplus" in forms,
        max_distance_km=rng.choice([None, None, 30.0, 50.0]),
        sibling_set=sibling,
        together="group",
        excluded_provider_ids=[],
        excluded_group_ids=[],
        waiting_since=since,
        status="waiting",
        created_at=since,
        updated_at=since,
    )
    session.add(referral)
    return referral


def load_referral_demo(*, session: Session, rng: random.Random, region: Region) -> None:
    municipalities = list(session.exec(select(Municipality).where(Municipality.region_id == region.id)).all())
    if not municipalities:
        return
    today = utcnow()
    number = 0

    def add(
        profile: tuple[list[str], str, list[str], tuple[int, int]],
        *,
        sibling: str | None = None,
        home: Municipality | None = None,
        age: int | None = None,
    ) -> Referral:
        nonlocal number
        number += 1
        return demo_referral(
            session, rng, region, municipalities, profile,
            reference=f"TW-{today.year}-{number:04d}", sibling=sibling, home=home, age=age,
        )  # fmt: skip

    for _ in range(34):
        add(rng.choice(PROFILES))
    # Three sibling sets that ask to live in the same group (foster care or family home).
    for set_number, size in enumerate((2, 2, 2), start=1):
        home = rng.choice(municipalities)
        key = f"broers-zussen-{set_number}"
        for _ in range(size):
            add(PROFILES[0], sibling=key, home=home, age=rng.randint(5, 11))
    session.flush()
