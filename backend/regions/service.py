"""Regions, municipalities and postcodes: loading reference data and resolving places; reading
and changing a region's settings."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, delete, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal, ensure_region_access
from backend.errors import NotFound, PreconditionFailed, RuleViolation
from backend.events.service import append_event
from backend.providers.models import Group
from backend.regions.models import Postcode, Region
from backend.regions.setting_docs import FIELD_LABELS, SETTING_DOCS, WEIGHT_DOCS
from backend.regions.settings import (
    MANAGED_KEYS,
    RegionSettings,
    RegionSettingsView,
    ServiceDefaults,
    forget_stale_hours,
    load_settings,
)
from backend.users.models import Role

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


# --- region settings ----------------------------------------------------------------------------

SETTINGS_CHANGED = "region.settings_changed"
# Who sees the change in the live feed (the event says which settings changed, not the values).
SETTINGS_AUDIENCE = [Role.admin.value, Role.coordinator.value, Role.viewer.value]


def settings_region(*, session: Session, principal: Principal, code: str, for_update: bool = False) -> Region:
    """The region whose settings the caller may read or change: 404 for another region, as
    ``ensure_region_access`` answers. An admin bound to a region acts for that region only;
    an admin bound to none acts for every region."""
    query = select(Region).where(Region.code == code.strip().upper())
    if for_update:
        query = query.with_for_update()
    region = session.exec(query).first()
    if region is None:
        raise NotFound("Regio niet gevonden.")
    ensure_region_access(principal, region.id, what="Regio")
    return region


def settings_version(region: Region) -> str:
    """A fingerprint of the stored settings, sent as the ETag: a save with an older If-Match
    is refused (412) instead of overwriting someone else's change."""
    text = json.dumps(region.settings or {}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def settings_view(*, region: Region, defaults: ServiceDefaults) -> RegionSettingsView:
    settings, problems = load_settings(region.settings)
    return RegionSettingsView.model_validate(
        {
            "region": {"code": region.code, "name": region.name},
            "settings": settings,
            "service_defaults": defaults,
            "fields": {name: {"label": label, "help": text} for name, (label, text) in SETTING_DOCS.items()},
            "weights": {name: {"label": label, "help": text} for name, (label, text) in WEIGHT_DOCS.items()},
            "problems": problems,
            "version": settings_version(region),
        }
    )


def _problem(field: str, text: str) -> dict[str, str]:
    return {"field": field, "message": f"{FIELD_LABELS[field]}: {text}"}


def _database_rules(
    session: Session, region: Region, before: RegionSettings, after: RegionSettings
) -> list[dict[str, str]]:
    """The rules that need the database or the settings as they were."""
    problems = []
    if region.code in after.neighbours:
        problems.append(_problem("neighbours", "de regio zelf kan niet haar eigen buurregio zijn"))
    others = [code for code in after.neighbours if code != region.code]
    if others:
        known = set(session.exec(select(Region.code).where(col(Region.code).in_(others))).all())
        unknown = [code for code in others if code not in known]
        if unknown:
            problems.append(_problem("neighbours", f"onbekende regio {', '.join(unknown)}"))
    group_ids = [int(key) for key in after.availability_share_by_group]
    if group_ids:
        own = set(
            session.exec(select(Group.id).where(col(Group.id).in_(group_ids), Group.region_id == region.id)).all()
        )
        foreign = [str(group_id) for group_id in group_ids if group_id not in own]
        if foreign:
            problems.append(
                _problem("availability_share_by_group", f"groep {', '.join(foreign)} hoort niet bij deze regio")
            )
    kept = {reason.code for reason in after.decline_reasons}
    removed = [reason.code for reason in before.decline_reasons if reason.code not in kept]
    if removed:
        problems.append(
            _problem(
                "decline_reasons",
                f"een bestaande reden kan niet worden verwijderd, alleen vervallen verklaard ({', '.join(removed)})",
            )
        )
    return problems


def change_settings(
    *,
    session: Session,
    principal: Principal,
    code: str,
    new: RegionSettings,
    expected_version: str | None = None,
) -> Region:
    """Replace a region's settings as a whole (what the body leaves out takes its default).

    All rules are checked before anything is written; a refusal names every field that is
    wrong and changes nothing. A change writes the settings, one audit row with the old and the
    new value of each changed setting, and one event, all in the caller's transaction. Keys in
    the stored JSON that these settings do not manage are kept."""
    region = settings_region(session=session, principal=principal, code=code, for_update=True)
    if expected_version is not None and expected_version != settings_version(region):
        raise PreconditionFailed(
            "Iemand anders heeft de regio-instellingen intussen gewijzigd. Laad ze opnieuw en probeer het nog eens.",
            code="version_conflict",
        )
    stored: dict[str, Any] = dict(region.settings or {})
    before, broken = load_settings(stored)
    problems = _database_rules(session, region, before, new)
    if problems:
        raise RuleViolation(
            "; ".join(problem["message"] for problem in problems), code="invalid_input", extra={"errors": problems}
        )
    old = before.model_dump(mode="json")
    for problem in broken:  # a stored value that broke the rules: the audit shows what it was
        key = (problem["field"] or "").split(".")[0]
        if key in stored:
            old[key] = stored[key]
    now = new.model_dump(mode="json")
    changed = {key: {"before": old[key], "after": now[key]} for key in now if old[key] != now[key]}
    if not changed:
        return region
    region.settings = {key: value for key, value in stored.items() if key not in MANAGED_KEYS} | new.stored()
    session.add(region)
    session.flush()
    forget_stale_hours(session)
    audit.record(
        session=session,
        actor=principal,
        action="region.settings_change",
        object_type="region",
        object_id=region.id or 0,
        purpose=Purpose.region_settings,
        detail={"region": region.code, "changed": changed},
        region_id=region.id,
    )
    append_event(
        session=session,
        type=SETTINGS_CHANGED,
        payload={"region": region.code, "changed": sorted(changed), "audience": SETTINGS_AUDIENCE},
        region_id=region.id,
        actor=principal.label,
    )
    return region
