"""Checking and applying a national register; prints a markdown table.

    .venv/bin/python benchmarks/bench_register.py [--database sqlite|postgresql|both]
        [--providers 500] [--locations 1500] [--groups 5000] [--terms 10000]

Fixed seed. A register of the given size (the default is national scale: 500 providers, 1,500
locations, 5,000 groups, 10,000 contract rows, in one region) is written as an Excel workbook,
then, on a fresh migrated database:

1. check: the workbook read and every row checked against the (empty) database, as a dry run;
2. apply: the same file checked and applied in one transaction (the import as it runs);
3. check again: the same file against the filled database (nothing to change);
4. a second apply of the same file (nothing written but the import's own audit row and event).

Times are wall-clock seconds for the whole call, file reading included. Targets (issue #12):
check under 5 s, apply under 15 s, on both databases.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.auth import Principal  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.domain import CARE_FORMS, NEED_TAGS  # noqa: E402
from backend.register import importer  # noqa: E402
from backend.register import sheets as S  # noqa: E402
from backend.register.models import FAMILY_HOME_LEVELS  # noqa: E402
from benchmarks.common import empty_database  # noqa: E402

ACTOR = Principal(kind="bench", id=0, name="bench", role="admin", provider_id=None)
FORMS = [f for f in CARE_FORMS if f not in ("pleegzorg", "crisispleegzorg")]
HOURS = {"kamertraining": 1.5, "driemilieu": 9.0, "jeugdzorgplus": 12.0, "gezinshuis": 1.5}


def national_register(*, providers: int, locations: int, groups: int, terms: int, seed: int = 12) -> dict[str, Any]:
    rng = random.Random(seed)
    municipalities = [
        {"cbs_code": f"GM{1000 + i:04d}", "name": f"Gemeente {i}", "lat": 51.5 + i * 0.004, "lon": 4.5 + i * 0.006}
        for i in range(342)
    ]
    tables: dict[str, list[dict[str, Any]]] = {
        "regio": [{"code": "JZ99", "name": "Nederland (bench)"}],
        "gemeenten": municipalities,
        "aanbieders": [
            {
                "agb_code": f"{50000000 + i:08d}",
                "name": f"Aanbieder {i}",
                "phone_24h": "088-1234567",
                "contact_email": f"info{i}@aanbieder.nl",
                "active_from": date(2020, 1, 1),
                "active_to": None,
            }
            for i in range(providers)
        ],
        "locaties": [],
        "groepen": [],
        "contracten": [],
        "tarieven": [],
    }
    for i in range(locations):
        town = municipalities[i % len(municipalities)]
        tables["locaties"].append(
            {
                "agb_code": f"{50000000 + i % providers:08d}",
                "code": f"L{i}",
                "name": f"Locatie {i}",
                "postcode": "1234",
                "municipality": town["cbs_code"],
                "lat": round(town["lat"] + rng.uniform(-0.01, 0.01), 5),
                "lon": round(town["lon"] + rng.uniform(-0.01, 0.01), 5),
            }
        )
    per_group = max(1, terms // groups)
    for g in range(groups):
        location = tables["locaties"][g % locations]
        form = FORMS[g % len(FORMS)]
        places = 5 if form == "gezinshuis" else rng.randint(4, 10)
        norm = 1.0 if form == "crisis" else 0.95
        hours = HOURS.get(form, 4.5) * places * norm * 7
        tables["groepen"].append(
            {
                "agb_code": location["agb_code"],
                "code": f"G{g}",
                "location_code": location["code"],
                "name": f"Groep {g}",
                "care_form": form,
                "level": FAMILY_HOME_LEVELS[g % 3] if form == "gezinshuis" else None,
                "age_min": 12,
                "age_max": 18,
                "gender_policy": "gemengd",
                "risk_profiles": "AB",
                "expertise": sorted(rng.sample(list(NEED_TAGS), 2)),
                "weekly_roster_hours": round(hours, 1),
                "occupancy_norm": norm,
                "is_crisis": form == "crisis",
                "active_from": date(2020, 1, 1),
                "active_to": None,
            }
        )
        for version in range(per_group):
            tables["contracten"].append(
                {
                    "agb_code": location["agb_code"],
                    "group_code": f"G{g}",
                    "valid_from": date(2020 + 2 * version, 1, 1),
                    "valid_to": None,
                    "contracted_places": places,
                    "day_tariff": 150.0 + version * 10,
                    "availability_funded": form in ("crisis", "driemilieu", "jeugdzorgplus"),
                    "availability_share": None,
                }
            )
    return tables


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(kind: str, workbook: bytes) -> dict[str, float]:
    figures: dict[str, float] = {}
    with empty_database(kind) as url:
        db = Database(Settings(database_url=url, environment="test", secret_key="x" * 32))
        try:

            def check() -> importer.Plan:
                with db.transaction(write=False) as session:
                    plan = importer.check(session=session, raw=S.read_workbook(workbook))
                assert not plan.problems, plan.problems[:3]
                return plan

            def apply() -> importer.Plan:
                with db.transaction() as session:
                    plan = importer.check(session=session, raw=S.read_workbook(workbook))
                    assert not plan.problems, plan.problems[:3]
                    importer.apply(session=session, plan=plan, actor=ACTOR, stale_after_hours=24)
                return plan

            figures["check (empty database)"], plan = timed(check)
            figures["changes planned"] = len(plan.changes)
            figures["apply"], _ = timed(apply)
            figures["check again (nothing to change)"], again = timed(check)
            assert not again.changes, again.changes[:3]
            figures["apply again"], _ = timed(apply)
        finally:
            db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--providers", type=int, default=500)
    parser.add_argument("--locations", type=int, default=1500)
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--terms", type=int, default=10000)
    args = parser.parse_args()
    tables = national_register(providers=args.providers, locations=args.locations, groups=args.groups, terms=args.terms)
    seconds, workbook = timed(lambda: S.write_workbook(tables))
    print(
        f"Register: {args.providers} providers, {args.locations} locations, {args.groups} groups, "
        f"{len(tables['contracten'])} contract rows; workbook {len(workbook) / 1e6:.1f} MB written in {seconds:.1f} s\n"
    )
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = {kind: run(kind, workbook) for kind in kinds}
    names = list(next(iter(results.values())))
    print("| measure | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for name in names:
        cells = [f"{results[k][name]:.0f}" if name == "changes planned" else f"{results[k][name]:.1f} s" for k in kinds]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
