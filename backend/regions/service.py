"""Regions, municipalities and postcodes: loading reference data and resolving places."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlmodel import Session, delete

from backend.errors import RuleViolation
from backend.regions.models import Postcode

ADDRESS_KINDS = {"Adres", "Adres + Postbus"}


def import_postcodes(*, session: Session, path: Path) -> int:
    """Load PC4 centroids from a CSV shaped like the public '4pp' dataset.

    PO-box postcodes carry town-centre coordinates, so only address postcodes are kept.
    The table is replaced as a whole, inside the caller's transaction.
    """
    rows: list[Postcode] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        required = {"postcode", "woonplaats", "latitude", "longitude", "soort"}
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise RuleViolation(f"Kolommen ontbreken in {path.name}: {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            if row["soort"] not in ADDRESS_KINDS:
                continue
            pc4 = row["postcode"].strip()
            try:
                lat, lon = float(row["latitude"]), float(row["longitude"])
            except ValueError as exc:
                raise RuleViolation(f"Regel {line}: coördinaten zijn geen getallen") from exc
            if len(pc4) != 4 or not pc4.isdigit():
                raise RuleViolation(f"Regel {line}: '{pc4}' is geen postcode van 4 cijfers")
            rows.append(
                Postcode(
                    pc4=pc4,
                    place=row["woonplaats"],
                    lat=lat,
                    lon=lon,
                    municipality_name=row.get("gemeente") or "",
                    province=row.get("provincie") or "",
                )
            )
    session.exec(delete(Postcode))
    session.add_all(rows)
    session.flush()
    return len(rows)


def resolve_postcode(*, session: Session, pc4: str) -> tuple[float, float]:
    """Coordinates of a 4-digit postcode area (its centroid)."""
    if len(pc4) != 4 or not pc4.isdigit():
        raise RuleViolation(f"'{pc4}' is geen postcode van 4 cijfers.", code="postcode_invalid")
    postcode = session.get(Postcode, pc4)
    if postcode is None:
        raise RuleViolation(f"Postcode {pc4} is onbekend (geen adrespostcode).", code="postcode_unknown")
    return postcode.lat, postcode.lon
