"""Deterministic Twente demo data: 14 municipalities, about 30 providers, about 150 groups
covering every care form, 3 crisis providers, and a demo user for every role; then the
domains' demo loaders (``backend/registry.py``).

The region itself is a register file that goes through the register import, as a real region's
does: the demo, the tests and a live region take one path."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.availability import service as places
from backend.availability.service import Notice
from backend.domain import AVAILABILITY_FUNDED_CARE_FORMS, CARE_FORMS, NEED_TAGS, utcnow
from backend.providers.models import Group, Provider
from backend.regions.models import Region
from backend.regions.service import change_settings
from backend.regions.settings import region_settings
from backend.regions.twente import TWENTE_MUNICIPALITIES
from backend.register import importer
from backend.register import sheets as S
from backend.register.models import FAMILY_HOME_LEVELS
from backend.registry import DEMO_LOADERS
from backend.users.service import create_api_key, create_user

# Typical net hours per child per day by care form (low, high), inside each form's maximum.
TYPICAL_HOURS = {
    "pleegzorg": (0.3, 0.9),
    "gezinshuis": (1.0, 2.5),
    "woongroep": (3.0, 5.5),
    "khw": (7.0, 10.5),
    "behandelgroep": (5.0, 8.5),
    "driemilieu": (9.0, 15.0),
    "jeugdzorgplus": (12.0, 20.0),
    "kamertraining": (0.5, 2.5),
    "ggz_verblijf": (6.0, 9.5),
    "ouder_kind": (3.0, 5.0),
    "deeltijd": (2.0, 4.0),
    "crisis": (6.0, 9.0),
    "crisispleegzorg": (0.3, 0.9),
}
CAPACITY = {
    "pleegzorg": (1, 3),
    "gezinshuis": (4, 6),
    "woongroep": (6, 10),
    "khw": (4, 6),
    "behandelgroep": (6, 10),
    "driemilieu": (6, 10),
    "jeugdzorgplus": (6, 10),
    "kamertraining": (4, 8),
    "ggz_verblijf": (6, 10),
    "ouder_kind": (3, 6),
    "deeltijd": (4, 8),
    "crisis": (3, 8),
    "crisispleegzorg": (1, 3),
}
AGE_RANGE = {
    "kamertraining": (16, 21),
    "ouder_kind": (15, 23),
    "jeugdzorgplus": (12, 18),
    "pleegzorg": (0, 18),
    "gezinshuis": (4, 18),
    "deeltijd": (6, 18),
}
DAY_TARIFF = {
    "pleegzorg": 54.77,
    "gezinshuis": 140.0,
    "woongroep": 190.0,
    "khw": 420.0,
    "behandelgroep": 330.0,
    "driemilieu": 480.0,
    "jeugdzorgplus": 620.0,
    "kamertraining": 95.0,
    "ggz_verblijf": 450.0,
    "ouder_kind": 210.0,
    "deeltijd": 160.0,
    "crisis": 380.0,
    "crisispleegzorg": 54.77,  # P×Q, 2024 price level (seed 000)
}
PROVIDER_WORDS = [
    "De Linde",
    "Het Anker",
    "Twentse Zorg",
    "De Boei",
    "Elker",
    "Het Baken",
    "De Kapstok",
    "Horizon",
    "Ambiq",
    "Lindenhout",
    "Sprank",
    "De Hoeve",
    "Karakter",
    "Jarabee",
    "De Noaber",
    "Het Roessingh",
    "Zonnebloem",
    "Mikado",
    "De Wending",
    "Kompaan",
    "Het Stroomdal",
    "De Kern",
    "Veldzicht",
    "Dinkeloord",
    "Tubantia",
    "Hofhuis",
    "Reggedal",
]
CRISIS_PROVIDERS = ["Crisisdienst Twente (Jarabee)", "Spoedhulp Oost (Elker)", "Crisiscentrum Karakter"]
GROUP_WORDS = [
    "Esdoorn",
    "Beuk",
    "Eik",
    "Wilg",
    "Berk",
    "Linde",
    "Kastanje",
    "Populier",
    "Iep",
    "Els",
    "Hazelaar",
    "Vlier",
    "Meidoorn",
    "Lijsterbes",
    "Den",
    "Spar",
    "Taxus",
    "Hulst",
    "Brem",
    "Heide",
]
DEMO_USERS = [
    ("admin", "admin", None),
    ("coordinator", "coordinator", None),
    ("crisis", "crisis", None),
    ("crisis2", "crisis", None),
    ("viewer", "viewer", None),
]


@dataclass
class DemoSummary:
    providers: int
    groups: int
    users: list[tuple[str, str, int | None]]
    users_file: Path
    api_key: str


def demo_register(rng: random.Random) -> tuple[dict[str, list[dict[str, Any]]], list[DemoReport]]:
    """The Twente demo as a register file (rows per sheet, as the import reads them), and the
    reports its providers made (free places, admitting, when). Draws from ``rng`` in the order
    the demo always has, so the domains' loaders after it see the same stream as before."""
    today = utcnow().date()
    start = today.replace(month=1, day=1) - timedelta(days=3 * 365)
    tables: dict[str, list[dict[str, Any]]] = {
        "regio": [{"code": "JZ14", "name": "Twente"}],
        "gemeenten": [
            {"cbs_code": code, "name": name, "lat": lat, "lon": lon}
            for name, code, lat, lon, _pc4 in TWENTE_MUNICIPALITIES
        ],
        "aanbieders": [],
        "locaties": [],
        "groepen": [],
        "contracten": [],
        "tarieven": [],
    }
    providers: list[tuple[str, str, bool]] = []
    for index, word in enumerate(PROVIDER_WORDS):
        providers.append((f"{41000000 + index * 317:08d}", f"Stichting {word}", False))
        tables["aanbieders"].append(
            {
                "agb_code": providers[-1][0],
                "name": providers[-1][1],
                "phone_24h": f"053-{rng.randint(1000000, 9999999)}",
            }
        )
    for index, name in enumerate(CRISIS_PROVIDERS):
        providers.append((f"{42900000 + index * 11:08d}", name, True))
        tables["aanbieders"].append(
            {"agb_code": providers[-1][0], "name": name, "phone_24h": f"088-{rng.randint(1000000, 9999999)}"}
        )
    for row in tables["aanbieders"]:
        row.update(contact_email=None, active_from=start, active_to=None)

    regular_forms = [form for form, info in CARE_FORMS.items() if info.segment != "crisis"]
    tags = list(NEED_TAGS)
    now = utcnow()
    reports: list[DemoReport] = []
    for index, (agb, provider_name, crisis) in enumerate(providers):
        n_locations = 2 if crisis else rng.randint(1, 3)
        locations = []
        for number in range(n_locations):
            name, cbs, lat, lon, pc4 = rng.choice(TWENTE_MUNICIPALITIES)
            locations.append(f"L{number + 1}")
            tables["locaties"].append(
                {
                    "agb_code": agb,
                    "code": locations[-1],
                    "name": f"{provider_name.removeprefix('Stichting ')} {name}",
                    "postcode": pc4,
                    "municipality": cbs,
                    "lat": round(lat + rng.uniform(-0.02, 0.02), 5),
                    "lon": round(lon + rng.uniform(-0.03, 0.03), 5),
                }
            )
        n_groups = 2 if crisis else 5
        for g in range(n_groups):
            # Cycle through the care forms so that every one is present.
            if crisis:
                form = "crisispleegzorg" if g == 1 else "crisis"
            else:
                form = regular_forms[(index * n_groups + g) % len(regular_forms)]
            capacity = rng.randint(*CAPACITY[form])
            low, high = TYPICAL_HOURS[form]
            hours = rng.uniform(low, high)
            norm = 1.0 if CARE_FORMS[form].segment == "crisis" else 0.95
            roster = round(hours * capacity * norm * 7, 1)
            age_min, age_max = AGE_RANGE.get(form, (rng.choice([6, 8, 12]), rng.choice([17, 18])))
            if form == "crisispleegzorg":
                name = f"Crisispleeggezin {GROUP_WORDS[(index + g) % len(GROUP_WORDS)]}"
            else:
                name = f"{CARE_FORMS[form][0].split(' /')[0]} {GROUP_WORDS[(index * 3 + g) % len(GROUP_WORDS)]}"
            risk = (
                "ABC"
                if form in ("jeugdzorgplus", "crisis", "crisispleegzorg", "driemilieu")
                else rng.choice(["A", "AB", "AB", "ABC"])
            )
            code = f"G{g + 1}"
            location = rng.choice(locations)
            gender = rng.choice(["gemengd", "gemengd", "gemengd", "jongens", "meisjes"])
            expertise = sorted(rng.sample(tags, rng.randint(1, 4)))
            tables["groepen"].append(
                {
                    "agb_code": agb,
                    "code": code,
                    "location_code": location,
                    "name": name,
                    "care_form": form,
                    "level": FAMILY_HOME_LEVELS[index % len(FAMILY_HOME_LEVELS)] if form == "gezinshuis" else None,
                    "age_min": age_min,
                    "age_max": age_max,
                    "gender_policy": gender,
                    "risk_profiles": risk,
                    "expertise": expertise,
                    "weekly_roster_hours": roster,
                    "occupancy_norm": norm,
                    "is_crisis": CARE_FORMS[form].segment == "crisis",
                    "active_from": start,
                    "active_to": None,
                }
            )
            tables["contracten"].append(
                {
                    "agb_code": agb,
                    "group_code": code,
                    "valid_from": start,
                    "valid_to": None,
                    "contracted_places": capacity,
                    "day_tariff": DAY_TARIFF[form],
                    "availability_funded": form in AVAILABILITY_FUNDED_CARE_FORMS,
                    "availability_share": None,
                }
            )
            free = rng.randint(0, min(2, capacity))
            # Some groups report every day, some have not reported for a while (stale).
            reported_at = now - timedelta(hours=rng.choice([0.2, 1, 3, 8, 20, 30, 72]))
            closed = rng.random() < 0.1
            reports.append(
                DemoReport(
                    agb_code=agb,
                    group_code=code,
                    free_places=free,
                    admitting=not closed,
                    reason=rng.choice(["Personeelstekort", "Groepsdynamiek"]) if closed else None,
                    reported_at=reported_at,
                )
            )
    return tables, reports


@dataclass
class DemoReport:
    agb_code: str
    group_code: str
    free_places: int
    admitting: bool
    reason: str | None
    reported_at: datetime


DEMO_ACTOR = Principal(kind="demo", id=0, name="demodata", role="admin", provider_id=None)
DEMO_COORDINATOR_CONTACT = "Coördinatiepunt Jeugdhulp Twente, 053 481 00 00, plaatsing@jeugdhulptwente.example"


def load_demo(*, session: Session, seed: int = 2025, users_file: Path) -> DemoSummary:
    """The demo goes the way a real region goes: its register through the import, then its
    providers' reports through the owner of the places."""
    if session.exec(select(Region).where(Region.code == "JZ14")).first() is not None:
        raise ValueError(f"De demodata is al geladen in deze database; de wachtwoorden staan in {users_file}.")
    rng = random.Random(seed)
    tables, reports = demo_register(rng)
    raw = {
        sheet.name: [
            (
                number,
                {
                    c.header: c_value
                    for c in sheet.columns
                    if (c_value := S.write_cell(c, row.get(c.field))) is not None
                },
            )
            for number, row in enumerate(tables[sheet.name], start=2)
        ]
        for sheet in S.SHEETS
    }
    plan = importer.check(session=session, raw=raw)
    if plan.problems:
        raise AssertionError("the demo register is invalid: " + "; ".join(p.text() for p in plan.problems[:5]))
    settings_stale = 24.0
    importer.apply(session=session, plan=plan, actor=DEMO_ACTOR, stale_after_hours=settings_stale)
    region = session.exec(select(Region).where(Region.code == "JZ14")).one()
    assert region.id is not None
    # Whom a provider asks about a proposal (shown on every proposal card).
    change_settings(
        session=session,
        principal=DEMO_ACTOR,
        code="JZ14",
        new=region_settings(region).model_copy(update={"coordinator_contact": DEMO_COORDINATOR_CONTACT}),
    )
    group_ids = {
        (agb, code): gid
        for gid, code, agb in session.exec(
            select(Group.id, Group.code, Provider.agb_code).join(Provider, col(Provider.id) == Group.provider_id)
        ).all()
    }
    for item in reports:
        group_id = group_ids[(item.agb_code, item.group_code)]
        places.seed(
            session=session,
            group_id=group_id,  # type: ignore[arg-type]
            free_places=item.free_places,
            admitting=item.admitting,
            reason=item.reason,
            reported_at=item.reported_at,
            notice=Notice(
                "availability.changed",
                DEMO_ACTOR,
                "availability.update",
                "group",
                group_id,  # type: ignore[arg-type]
                Purpose.demo_data,
            ),
            stale_after_hours=settings_stale,
        )
    providers = list(
        session.exec(select(Provider).where(Provider.region_id == region.id).order_by(col(Provider.agb_code))).all()
    )
    group_count = len(reports)

    passwords: list[tuple[str, str, str, int | None]] = []
    for username, role, provider_id in DEMO_USERS:
        password = secrets.token_urlsafe(12)  # 16 random characters: passes the password rules
        create_user(
            session=session,
            username=username,
            password=password,
            role=role,
            provider_id=provider_id,
            region_id=region.id,
        )
        passwords.append((username, role, password, provider_id))
    for number, provider in enumerate(providers[:3], start=1):
        password = secrets.token_urlsafe(12)
        create_user(
            session=session,
            username=f"aanbieder{number}",
            password=password,
            role="provider",
            provider_id=provider.id,
            region_id=region.id,
            # The first provider's user also manages its planners and API keys.
            manages_provider=number == 1,
        )
        passwords.append((f"aanbieder{number}", "provider", password, provider.id))
    assert providers[0].id is not None
    _key, api_key = create_api_key(session=session, provider_id=providers[0].id, name="demo-koppeling")

    for loader in DEMO_LOADERS:
        loader(session=session, rng=rng, region=region)
    session.flush()

    lines = [
        "# plekwijzer demo-gebruikers (alleen voor de demo; niet voor productie)",
        "# Tweestapsverificatie (TOTP) geldt voor de rollen in PLEKWIJZER_MFA_ROLES; scripts/demo.sh zet",
        "# haar UIT voor de demo. Met haar aan stelt u bij de eerste keer inloggen een authenticator-app in.",
        "# gebruikersnaam\trol\twachtwoord\taanbieder",
    ]
    lines += [f"{u}\t{r}\t{p}\t{pid or ''}" for u, r, p, pid in passwords]
    lines.append(f"# API-sleutel van aanbieder {providers[0].id}: {api_key}")
    users_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    users_file.chmod(0o600)
    return DemoSummary(
        providers=len(providers),
        groups=group_count,
        users=[(u, r, pid) for u, r, _p, pid in passwords],
        users_file=users_file,
        api_key=api_key,
    )
