"""Importing a region's register: check the whole file, plan the changes, then apply them.

The import is an upsert on stable keys (AGB code; the provider's own location and group codes;
a contract version by its group and start date), so exporting and importing again changes
nothing. ``check`` reads every row and compares it with the database without writing: it
returns every problem (sheet, row, column, Dutch message) and the plan of what would be added,
changed and ended. ``apply`` writes a plan that has no problems, all in the caller's
transaction: any invalid row refuses the whole file and nothing changes.

Nothing is deleted: a provider or group that stops gets an end date ("ended"); a row that is
missing from the file is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from backend.audit.models import AuditEntry
from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.availability import service as places
from backend.availability.service import Notice
from backend.domain import (
    CARE_FORMS,
    CRISIS_OCCUPANCY_NORM,
    GENDER_POLICIES,
    INTENSITY_LETTERS,
    NEED_TAGS,
    ORDINARY_OCCUPANCY_NORM,
    care_form_max_intensity,
    intensity_index,
    utcnow,
)
from backend.events.service import append_event, append_events
from backend.intensity.service import open_band_reassessment
from backend.providers.models import Group, Location, Provider, group_public_json
from backend.providers.service import derive_intensity, region_bands
from backend.regions.models import Municipality, Postcode, Region
from backend.register import sheets as S
from backend.register.models import FAMILY_HOME_LEVELS, TERM_APPROVED, ContractTerm, Tariff
from backend.register.service import check_term, family_home_max, mirror_term, move_groups_with
from backend.register.terms import TermValues, chain_versions
from solver.vocabulary import OWN_NORM_CARE_FORMS

GROUP_CREATED = "group.created"
GROUP_CHANGED = "group.changed"
AGB = re.compile(r"^\d{8}$")
CBS = re.compile(r"^GM\d{4}$")
REGION_CODE = re.compile(r"^[A-Z]{2}\d{2}$")
PC4 = re.compile(r"^\d{4}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The Netherlands, generously: a coordinate outside is a typing error (or lat and lon swapped).
LAT_RANGE, LON_RANGE = (50.5, 53.8), (3.0, 7.4)
ADDED, CHANGED, ENDED = "added", "changed", "ended"
PREVIEW_LINES = 500


@dataclass
class Problem:
    sheet: str
    row: int | None
    column: str | None
    message: str

    def text(self) -> str:
        where = [f"tabblad {self.sheet}"]
        if self.row is not None:
            where.append(f"rij {self.row}")
        if self.column:
            where.append(f"kolom '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


@dataclass
class Change:
    sheet: str
    key: str
    kind: str  # added | changed | ended
    fields: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """What the file would do. ``writes`` are applied in order by ``apply``."""

    region_code: str
    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    writes: list[Callable[[Session, Principal, float], None]] = field(default_factory=list)
    new_region: tuple[str, str] | None = None
    # Rows to insert, per sheet (the bulk of a first import), and the new groups with their terms.
    adds: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {s.name: [] for s in S.SHEETS})
    new_groups: list[_NewGroup] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out = {s.name: {ADDED: 0, CHANGED: 0, ENDED: 0} for s in S.SHEETS}
        for change in self.changes:
            out[change.sheet][change.kind] += 1
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "region": self.region_code,
            "valid": not self.problems,
            "problems": [
                {"sheet": p.sheet, "row": p.row, "column": p.column, "message": p.message, "text": p.text()}
                for p in self.problems
            ],
            "counts": self.counts(),
            "changes": [
                {"sheet": c.sheet, "key": c.key, "kind": c.kind, "fields": c.fields}
                for c in self.changes[:PREVIEW_LINES]
            ],
            "changes_total": len(self.changes),
        }


Row = tuple[int, dict[str, Any]]  # row number, {field: value}


class _Reader:
    """Reads the raw sheets into typed rows, collecting every cell problem."""

    def __init__(self, raw: S.RawSheets) -> None:
        self.problems: list[Problem] = []
        self.rows: dict[str, list[Row]] = {}
        for sheet in S.SHEETS:
            typed: list[Row] = []
            seen: dict[tuple[Any, ...], int] = {}
            for number, cells in raw.get(sheet.name, []):
                values: dict[str, Any] = {}
                ok = True
                for column in sheet.columns:
                    try:
                        values[column.field] = S.read_cell(column, cells.get(column.header))
                    except S.CellError as exc:
                        self.problem(sheet, number, column.field, str(exc))
                        ok = False
                        continue
                    if column.required and values[column.field] is None:
                        self.problem(sheet, number, column.field, "is verplicht")
                        ok = False
                key = tuple(values.get(k) for k in sheet.key)
                if ok and key in seen:
                    self.problem(sheet, number, sheet.key[-1], f"deze sleutel staat ook in rij {seen[key]}")
                    ok = False
                if ok:
                    seen[key] = number
                    typed.append((number, values))
            self.rows[sheet.name] = typed

    def problem(self, sheet: S.Sheet, row: int | None, field_name: str | None, message: str) -> None:
        header = sheet.column(field_name).header if field_name else None
        self.problems.append(Problem(sheet.name, row, header, message))


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return [name for name, value in wanted.items() if current.get(name) != value]


def _fields_of(obj: Any, names: list[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def check(*, session: Session, raw: S.RawSheets, region_code: str | None = None, today: date | None = None) -> Plan:
    """Every problem of the file and the plan of its changes; writes nothing."""
    return _Checker(session, raw, region_code, today or utcnow().date()).plan


class _Checker:
    def __init__(self, session: Session, raw: S.RawSheets, region_code: str | None, today: date) -> None:
        self.session = session
        self.today = today
        self.reader = _Reader(raw)
        self.rows = self.reader.rows
        self.plan = Plan(region_code=(region_code or "").strip().upper())
        self.region = self._region(region_code)
        if self.region is None and self.plan.new_region is None:
            self.plan.problems = self.reader.problems
            return
        settings = self.region.settings if self.region else {}
        self.family_home_max = family_home_max(settings)
        self.bands = region_bands(self.region)
        self._municipalities()
        self._providers()
        self._locations()
        self._groups_and_terms()
        self._tariffs()
        self.plan.problems = self.reader.problems

    def problem(self, sheet: S.Sheet, row: int | None, field_name: str | None, message: str) -> None:
        self.reader.problem(sheet, row, field_name, message)

    def change(self, sheet: S.Sheet, key: str, kind: str, fields: list[str] | None = None) -> None:
        self.plan.changes.append(Change(sheet.name, key, kind, fields or []))

    def write(self, fn: Callable[[Session, Principal, float], None]) -> None:
        self.plan.writes.append(fn)

    # -- region -------------------------------------------------------------------------------

    def _region(self, asked: str | None) -> Region | None:
        rows = self.rows["regio"]
        in_file = rows[0][1] if len(rows) == 1 else None
        if len(rows) > 1:
            self.problem(S.REGION, rows[1][0], None, "het tabblad regio heeft precies één rij")
        code = (asked or (in_file or {}).get("code") or "").strip().upper()
        if in_file and asked and in_file["code"].upper() != asked.strip().upper():
            self.problem(S.REGION, rows[0][0], "code", f"het bestand is van regio {in_file['code']}, niet van {asked}")
            return None
        if not code:
            self.problem(S.REGION, None, None, "geef de regio op (tabblad regio of --region)")
            return None
        self.plan.region_code = code
        region = self.session.exec(select(Region).where(Region.code == code)).first()
        if region is None:
            if not REGION_CODE.match(code):
                self.problem(S.REGION, rows[0][0] if rows else None, "code", f"'{code}' is geen regiocode zoals JZ14")
                return None
            if not in_file:
                self.problem(S.REGION, None, "name", f"regio {code} is nieuw: geef haar naam in het tabblad regio")
                return None
            self.plan.new_region = (code, in_file["name"])
            self.change(S.REGION, code, ADDED)
        elif in_file and in_file["name"] != region.name:
            self.change(S.REGION, code, CHANGED, ["name"])
            name = in_file["name"]

            def rename(session: Session, _actor: Principal, _stale: float) -> None:
                target = session.get(Region, region.id)
                assert target is not None
                target.name = name
                session.add(target)

            self.write(rename)
        return region

    def _region_id(self, session: Session) -> int:
        return region_id_of(session, self.plan.region_code)

    # -- municipalities ---------------------------------------------------------------------------

    def _municipalities(self) -> None:
        existing = {m.cbs_code: m for m in self.session.exec(select(Municipality)).all()}
        region_id = self.region.id if self.region else None
        self.municipalities: dict[str, Municipality | dict[str, Any]] = {
            code: m for code, m in existing.items() if m.region_id == region_id
        }
        centres = self._postcode_centres()
        for number, row in self.rows["gemeenten"]:
            code = row["cbs_code"].upper()
            if not CBS.match(code):
                self.problem(S.MUNICIPALITIES, number, "cbs_code", f"'{row['cbs_code']}' is geen CBS-code zoals GM0153")
                continue
            if not self._coordinates(S.MUNICIPALITIES, number, row):
                continue
            if row["lat"] is None:
                centre = centres.get(row["name"].lower())
                if centre is None:
                    self.problem(
                        S.MUNICIPALITIES,
                        number,
                        "lat",
                        f"geen adrespostcodes van {row['name']} bekend: vul breedtegraad en lengtegraad in",
                    )
                    continue
                row["lat"], row["lon"] = centre
            current = existing.get(code)
            if current is not None and current.region_id != region_id:
                self.problem(S.MUNICIPALITIES, number, "cbs_code", f"gemeente {code} hoort bij een andere regio")
                continue
            wanted = {"name": row["name"], "lat": row["lat"], "lon": row["lon"]}
            if current is None:
                self.municipalities[code] = {"cbs_code": code, **wanted}
                self.change(S.MUNICIPALITIES, code, ADDED)
                self.plan.adds["gemeenten"].append({"cbs_code": code, **wanted})
            elif changed := _differs(_fields_of(current, list(wanted)), wanted):
                self.change(S.MUNICIPALITIES, code, CHANGED, changed)
                self.write(_update(Municipality, current.id, wanted))

    def _postcode_centres(self) -> dict[str, tuple[float, float]]:
        """Each municipality's centre: the mean of its address postcodes' centroids."""
        sums: dict[str, list[float]] = {}
        for name, lat, lon in self.session.exec(select(Postcode.municipality_name, Postcode.lat, Postcode.lon)).all():
            entry = sums.setdefault(name.lower(), [0.0, 0.0, 0])
            entry[0] += lat
            entry[1] += lon
            entry[2] += 1
        return {name: (round(s[0] / s[2], 5), round(s[1] / s[2], 5)) for name, s in sums.items()}

    def _coordinates(self, sheet: S.Sheet, number: int, row: dict[str, Any]) -> bool:
        lat, lon = row.get("lat"), row.get("lon")
        if (lat is None) != (lon is None):
            self.problem(
                sheet, number, "lon" if lon is None else "lat", "vul breedtegraad én lengtegraad in, of geen van beide"
            )
            return False
        if (
            lat is not None
            and lon is not None
            and not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1])
        ):
            self.problem(
                sheet, number, "lat", f"{lat}, {lon} ligt niet in Nederland (breedtegraad en lengtegraad verwisseld?)"
            )
            return False
        return True

    # -- providers ---------------------------------------------------------------------------------

    PROVIDER_FIELDS = ("name", "phone_24h", "contact_email", "active_from", "active_to")

    def _providers(self) -> None:
        existing = {p.agb_code: p for p in self.session.exec(select(Provider)).all()}
        region_id = self.region.id if self.region else None
        self.providers: dict[str, Provider | None] = {agb: p for agb, p in existing.items() if p.region_id == region_id}
        for number, row in self.rows["aanbieders"]:
            agb = row["agb_code"]
            if not AGB.match(agb):
                digits = sum(ch.isdigit() for ch in agb)
                self.problem(
                    S.PROVIDERS, number, "agb_code", f"een AGB-code heeft 8 cijfers; '{agb}' heeft er {digits}"
                )
                continue
            ok = True
            if row["contact_email"] and not EMAIL.match(row["contact_email"]):
                self.problem(S.PROVIDERS, number, "contact_email", f"'{row['contact_email']}' is geen e-mailadres")
                ok = False
            if len(row["name"]) > 200:
                self.problem(S.PROVIDERS, number, "name", "de naam is langer dan 200 tekens")
                ok = False
            if row["phone_24h"] and len(row["phone_24h"]) > 30:
                self.problem(S.PROVIDERS, number, "phone_24h", "het telefoonnummer is langer dan 30 tekens")
                ok = False
            if not self._period(S.PROVIDERS, number, row, "active_from", "active_to"):
                ok = False
            current = existing.get(agb)
            if current is not None and current.region_id != region_id:
                self.problem(
                    S.PROVIDERS, number, "agb_code", f"aanbieder {agb} staat in het register van een andere regio"
                )
                ok = False
            if not ok:
                self.providers.setdefault(agb, None)
                continue
            wanted = {name: row[name] for name in self.PROVIDER_FIELDS}
            if current is None:
                self.providers[agb] = None
                self.change(S.PROVIDERS, agb, ADDED)
                self.plan.adds["aanbieders"].append({"agb_code": agb, **wanted})
            elif changed := _differs(_fields_of(current, list(wanted)), wanted):
                kind = ENDED if wanted["active_to"] and current.active_to is None else CHANGED
                self.change(S.PROVIDERS, agb, kind, changed)
                self.write(_update(Provider, current.id, wanted))
        self.new_providers = {agb for agb, p in self.providers.items() if p is None}

    def _period(self, sheet: S.Sheet, number: int, row: dict[str, Any], start: str, end: str) -> bool:
        if row[start] is not None and row[end] is not None and row[end] < row[start]:
            self.problem(sheet, number, end, f"ligt vóór '{sheet.column(start).header}'")
            return False
        return True

    def _known_provider(self, sheet: S.Sheet, number: int, agb: str) -> bool:
        if agb in self.providers:
            return self.providers[agb] is not None or agb in self.new_providers
        self.problem(sheet, number, "agb_code", f"aanbieder {agb} staat niet in het tabblad aanbieders of het register")
        return False

    # -- locations --------------------------------------------------------------------------------

    LOCATION_FIELDS = ("name", "postcode", "lat", "lon")

    def _locations(self) -> None:
        provider_ids = [p.id for p in self.providers.values() if p is not None]
        existing: dict[tuple[str, str], Location] = {}
        agb_of = {p.id: agb for agb, p in self.providers.items() if p is not None}
        if provider_ids:
            for loc in self.session.exec(select(Location).where(col(Location.provider_id).in_(provider_ids))).all():
                existing[(agb_of[loc.provider_id], loc.code)] = loc
        self.locations: dict[tuple[str, str], Location | dict[str, Any]] = dict(existing)
        municipality_ids = {m.id: code for code, m in self.municipalities.items() if isinstance(m, Municipality)}
        by_name = {
            (m.name if isinstance(m, Municipality) else m["name"]).lower(): code
            for code, m in self.municipalities.items()
        }
        postcodes = {pc.pc4: pc for pc in self.session.exec(select(Postcode)).all()}
        for number, row in self.rows["locaties"]:
            agb, code = row["agb_code"], row["code"]
            if not self._known_provider(S.LOCATIONS, number, agb):
                continue
            if not PC4.match(row["postcode"]):
                self.problem(S.LOCATIONS, number, "postcode", f"'{row['postcode']}' is geen postcode van 4 cijfers")
                continue
            if len(code) > 40:
                self.problem(S.LOCATIONS, number, "code", "de locatiecode is langer dan 40 tekens")
                continue
            if not self._coordinates(S.LOCATIONS, number, row):
                continue
            known = postcodes.get(row["postcode"])
            if row["lat"] is None:
                if known is None:
                    self.problem(
                        S.LOCATIONS,
                        number,
                        "postcode",
                        f"postcode {row['postcode']} is onbekend: vul breedtegraad en lengtegraad in",
                    )
                    continue
                row["lat"], row["lon"] = known.lat, known.lon
            municipality = (row["municipality"] or "").upper() or (
                by_name.get(known.municipality_name.lower()) if known is not None else None
            )
            if municipality is None:
                self.problem(
                    S.LOCATIONS,
                    number,
                    "municipality",
                    "vul de gemeente in (CBS-code): de postcode ligt niet in een gemeente van de regio",
                )
                continue
            if municipality not in self.municipalities:
                self.problem(S.LOCATIONS, number, "municipality", f"gemeente {municipality} hoort niet bij de regio")
                continue
            wanted = {name: row[name] for name in self.LOCATION_FIELDS} | {"municipality": municipality}
            current = existing.get((agb, code))
            if current is None:
                self.locations[(agb, code)] = wanted
                self.change(S.LOCATIONS, f"{agb}/{code}", ADDED)
                self.plan.adds["locaties"].append({"agb_code": agb, "code": code, **wanted})
                continue
            now = _fields_of(current, list(self.LOCATION_FIELDS)) | {
                "municipality": municipality_ids.get(current.municipality_id)
            }
            if changed := _differs(now, wanted):
                self.change(S.LOCATIONS, f"{agb}/{code}", CHANGED, changed)
                self.write(self._update_location(current.id, wanted))  # type: ignore[arg-type]

    def _municipality_id(self, session: Session, code: str) -> int:
        found = session.exec(select(Municipality.id).where(Municipality.cbs_code == code)).first()
        assert found is not None
        return found

    def _provider_id(self, session: Session, agb: str) -> int:
        found = session.exec(select(Provider.id).where(Provider.agb_code == agb)).first()
        assert found is not None
        return found

    def _update_location(self, location_id: int, values: dict[str, Any]) -> Callable[[Session, Principal, float], None]:
        def write(session: Session, actor: Principal, stale: float) -> None:
            location = session.get(Location, location_id)
            assert location is not None
            for name in self.LOCATION_FIELDS:
                setattr(location, name, values[name])
            location.municipality_id = self._municipality_id(session, values["municipality"])
            session.add(location)
            session.flush()
            move_groups_with(session, location, actor=actor, stale_after_hours=stale)

        return write

    # -- groups and their contract terms ----------------------------------------------------------

    PROFILE_FIELDS = (
        "name",
        "care_form",
        "level",
        "age_min",
        "age_max",
        "gender_policy",
        "risk_profiles",
        "expertise",
        "weekly_roster_hours",
        "occupancy_norm",
        "is_crisis",
        "active_from",
        "active_to",
    )

    def _groups_and_terms(self) -> None:
        provider_ids = [p.id for p in self.providers.values() if p is not None]
        agb_of = {p.id: agb for agb, p in self.providers.items() if p is not None}
        existing: dict[tuple[str, str], Group] = {}
        if provider_ids:
            for group in self.session.exec(select(Group).where(col(Group.provider_id).in_(provider_ids))).all():
                existing[(agb_of[group.provider_id], group.code)] = group
        location_key = {loc.id: key for key, loc in self.locations.items() if isinstance(loc, Location)}
        stored_terms: dict[int, list[ContractTerm]] = {}
        if existing:
            ids = [g.id for g in existing.values()]
            for term in self.session.exec(
                select(ContractTerm).where(col(ContractTerm.group_id).in_(ids), ContractTerm.status == TERM_APPROVED)
            ).all():
                stored_terms.setdefault(term.group_id, []).append(term)

        # The groups sheet first: which groups exist after the import, with which care form.
        wanted_groups: dict[tuple[str, str], tuple[int | None, dict[str, Any] | None]] = {}
        for row_number, row in self.rows["groepen"]:
            key = (row["agb_code"], row["code"])
            if not self._known_provider(S.GROUPS, row_number, row["agb_code"]):
                continue
            checked = self._group_values(row_number, row)
            if checked is not None:
                wanted_groups[key] = (row_number, checked)

        # Then the terms, per group: file rows and stored versions chained into one history.
        file_terms: dict[tuple[str, str], list[Row]] = {}
        in_file = {(row["agb_code"], row["code"]) for _n, row in self.rows["groepen"]}
        for term_row, row in self.rows["contracten"]:
            key = (row["agb_code"], row["group_code"])
            if key not in wanted_groups and key not in existing:
                if key in in_file:
                    continue  # its groups row has a problem of its own, listed already
                if self._known_provider(S.TERMS, term_row, row["agb_code"]):
                    self.problem(
                        S.TERMS, term_row, "group_code", f"groep {row['group_code']} van {row['agb_code']} is onbekend"
                    )
                continue
            file_terms.setdefault(key, []).append((term_row, row))

        for key in sorted(set(wanted_groups) | set(file_terms)):
            current = existing.get(key)
            number, values = wanted_groups.get(key, (None, None))
            if values is None:
                if current is None:
                    continue  # its groups row had problems, already listed
                values = _fields_of(current, list(self.PROFILE_FIELDS))
                values["location"] = location_key.get(current.location_id)
            care_form = values["care_form"]
            terms = self._terms_for(
                key,
                care_form,
                file_terms.get(key, []),
                stored_terms.get(current.id, []) if current and current.id else [],
            )
            if terms is None:
                continue
            if not terms:
                self.problem(S.GROUPS, number, "code", "deze groep heeft geen regel in het tabblad contracten")
                continue
            mirror = mirror_term([t for t, _n, _c in terms], self.today)
            assert mirror is not None
            capacity = mirror.contracted_places
            intensity = self._intensity(number, values, capacity)
            if intensity is None:
                continue
            # A group that follows the feed derives its free places from the new capacity; its
            # held places must still fit.
            floor = (current.held_places if current.places_from_feed else current.free_places) if current else 0
            if current is not None and capacity < floor and capacity != current.capacity:
                self.problem(
                    S.TERMS,
                    next((n for t, n, _c in terms if t is mirror and n), None),
                    "contracted_places",
                    f"groep {key[1]} {'houdt nu' if current.places_from_feed else 'meldt nu'} {floor} "
                    f"{'plaatsen vast' if current.places_from_feed else 'vrije plaatsen'}; "
                    f"met {capacity} plaatsen kan dat niet",
                )
                continue
            self._plan_group(key, number, values, current, terms, mirror, intensity)

    def _group_values(self, number: int, row: dict[str, Any]) -> dict[str, Any] | None:
        ok = True
        care_form = row["care_form"].strip().lower()
        if care_form not in CARE_FORMS:
            self.problem(
                S.GROUPS,
                number,
                "care_form",
                f"onbekende zorgvorm '{row['care_form']}'; kies uit {', '.join(CARE_FORMS)}",
            )
            return None
        level = (row["level"] or "").strip().lower() or None
        if care_form == "gezinshuis":
            if level not in FAMILY_HOME_LEVELS:
                self.problem(S.GROUPS, number, "level", "een gezinshuis heeft een niveau: licht, middel of zwaar")
                ok = False
        elif level is not None:
            self.problem(S.GROUPS, number, "level", "alleen een gezinshuis heeft een niveau")
            ok = False
        if not 0 <= row["age_min"] <= row["age_max"] <= 27:
            self.problem(S.GROUPS, number, "age_max", "leeftijden van 0 tot 27, 'van' niet boven 'tot'")
            ok = False
        gender = row["gender_policy"].strip().lower()
        if gender not in GENDER_POLICIES:
            self.problem(S.GROUPS, number, "gender_policy", f"kies uit {', '.join(GENDER_POLICIES)}")
            ok = False
        risk = row["risk_profiles"].strip().upper()
        if not risk or any(ch not in "ABC" for ch in risk):
            self.problem(S.GROUPS, number, "risk_profiles", "risicoprofielen zijn A, B en/of C, bijvoorbeeld AB")
            ok = False
        expertise = row["expertise"] or []
        unknown = [tag for tag in expertise if tag not in NEED_TAGS]
        if unknown:
            self.problem(S.GROUPS, number, "expertise", f"onbekende expertise: {', '.join(unknown)}")
            ok = False
        if row["weekly_roster_hours"] <= 0:
            self.problem(S.GROUPS, number, "weekly_roster_hours", "de roosteruren moeten meer dan 0 zijn")
            ok = False
        crisis = CARE_FORMS[care_form].segment == "crisis"
        norm = row["occupancy_norm"] or (CRISIS_OCCUPANCY_NORM if crisis else ORDINARY_OCCUPANCY_NORM)
        if not 0 < norm <= 1:
            self.problem(S.GROUPS, number, "occupancy_norm", "de bezettingsnorm ligt tussen 0 en 1, bijvoorbeeld 0.95")
            ok = False
        if row["is_crisis"] is not None and row["is_crisis"] != crisis:
            self.problem(S.GROUPS, number, "is_crisis", f"zorgvorm {care_form} is {'wel' if crisis else 'geen'} crisis")
            ok = False
        if len(row["code"]) > 40 or len(row["name"]) > 200:
            self.problem(S.GROUPS, number, "code", "de code (40) of de naam (200 tekens) is te lang")
            ok = False
        if not self._period(S.GROUPS, number, row, "active_from", "active_to"):
            ok = False
        location = (row["agb_code"], row["location_code"])
        if location not in self.locations:
            self.problem(
                S.GROUPS, number, "location_code", f"locatie {row['location_code']} van {row['agb_code']} is onbekend"
            )
            ok = False
        if not ok:
            return None
        return {
            "name": row["name"],
            "care_form": care_form,
            "level": level,
            "age_min": row["age_min"],
            "age_max": row["age_max"],
            "gender_policy": gender,
            "risk_profiles": "".join(sorted(set(risk))),
            "expertise": sorted(set(expertise)),
            "weekly_roster_hours": row["weekly_roster_hours"],
            "occupancy_norm": norm,
            "is_crisis": crisis,
            "active_from": row["active_from"],
            "active_to": row["active_to"],
            "location": location,
        }

    def _terms_for(
        self, key: tuple[str, str], care_form: str, rows: list[Row], stored: list[ContractTerm]
    ) -> list[tuple[TermValues, int | None, ContractTerm | None]] | None:
        """The group's history after the import: (version, file row, the stored version it
        replaces). None when a row is invalid (its problem is listed)."""
        ok = True
        by_start = {t.valid_from: t for t in stored}
        merged: dict[date, tuple[TermValues, int | None, ContractTerm | None]] = {
            t.valid_from: (_values_of(t), None, t) for t in stored
        }
        explicit_end: dict[date, date | None] = {t.valid_from: t.valid_to for t in stored}
        for number, row in rows:
            problems = check_term(
                care_form=care_form,
                contracted_places=row["contracted_places"],
                availability_funded=row["availability_funded"],
                availability_share=row["availability_share"],
                day_tariff=row["day_tariff"],
                valid_from=row["valid_from"],
                valid_to=row["valid_to"],
                family_home_max=self.family_home_max,
            )
            for field_name, message in problems:
                self.problem(S.TERMS, number, field_name, message)
            if problems:
                ok = False
                continue
            term = TermValues(
                valid_from=row["valid_from"],
                valid_to=row["valid_to"],
                contracted_places=row["contracted_places"],
                day_tariff=row["day_tariff"],
                availability_funded=row["availability_funded"],
                availability_share=row["availability_share"],
            )
            merged[row["valid_from"]] = (term, number, by_start.get(row["valid_from"]))
            explicit_end[row["valid_from"]] = row["valid_to"]
        if not ok:
            return None
        try:
            chained = chain_versions([(start, explicit_end[start]) for start in merged])
        except ValueError as exc:
            last = rows[-1][0] if rows else None
            self.problem(S.TERMS, last, "valid_to", f"groep {key[1]}: {exc}")
            return None
        out: list[tuple[TermValues, int | None, ContractTerm | None]] = []
        for start, end in chained:
            term, row_number, replaces = merged[start]
            term.valid_to = end
            out.append((term, row_number, replaces))
        return out

    def _intensity(self, number: int | None, values: dict[str, Any], capacity: int) -> str | None:
        letter = derive_intensity(
            weekly_roster_hours=values["weekly_roster_hours"],
            capacity=capacity,
            occupancy_norm=values["occupancy_norm"],
            bands=self.bands,
        )
        top = care_form_max_intensity(values["care_form"])
        if intensity_index(letter) > intensity_index(top) and values["care_form"] not in OWN_NORM_CARE_FORMS:
            self.problem(
                S.GROUPS,
                number,
                "weekly_roster_hours",
                f"met deze roosteruren en {capacity} plaatsen komt de groep op intensiteit {letter}, "
                f"boven het maximum {top} van de zorgvorm",
            )
            return None
        return letter

    def _plan_group(
        self,
        key: tuple[str, str],
        number: int | None,
        values: dict[str, Any],
        current: Group | None,
        terms: list[tuple[TermValues, int | None, ContractTerm | None]],
        mirror: TermValues,
        intensity: str,
    ) -> None:
        label = f"{key[0]}/{key[1]}"
        for term, _number, replaces in terms:
            if replaces is None:
                self.change(S.TERMS, f"{label}/{term.valid_from.isoformat()}", ADDED)
            elif changed := _differs(_term_fields(replaces), _term_fields(term)):
                kind = ENDED if "valid_to" in changed and replaces.valid_to is None else CHANGED
                self.change(S.TERMS, f"{label}/{term.valid_from.isoformat()}", kind, changed)
        profile = {name: values[name] for name in self.PROFILE_FIELDS}
        if current is None:
            self.change(S.GROUPS, label, ADDED)
        else:
            now = _fields_of(current, list(self.PROFILE_FIELDS))
            changed = _differs(now, profile)
            if values["location"] != self._location_key_of(current):
                changed.append("location")
            if changed:
                kind = ENDED if profile["active_to"] and current.active_to is None else CHANGED
                self.change(S.GROUPS, label, kind, changed)
        if current is None:
            self.plan.new_groups.append(_NewGroup(key, values, [t for t, _n, _r in terms], mirror, intensity))
            return
        self.write(_GroupWrite(self, key, values, current, terms, mirror, intensity))

    def _location_key_of(self, group: Group) -> tuple[str, str] | None:
        if not hasattr(self, "_key_of_location"):
            self._key_of_location = {loc.id: key for key, loc in self.locations.items() if isinstance(loc, Location)}
        return self._key_of_location.get(group.location_id)

    # -- the tariff table -------------------------------------------------------------------------

    def _tariffs(self) -> None:
        region_id = self.region.id if self.region else None
        stored = list(self.session.exec(select(Tariff).where(Tariff.region_id == region_id)).all()) if region_id else []
        by_key = {(t.care_form, t.intensity, t.valid_from): t for t in stored}
        chains: dict[tuple[str, str], dict[date, tuple[date | None, int | None]]] = {}
        for t in stored:
            chains.setdefault((t.care_form, t.intensity), {})[t.valid_from] = (t.valid_to, None)
        rows: dict[tuple[str, str, date], tuple[int, dict[str, Any]]] = {}
        for number, row in self.rows["tarieven"]:
            care_form = row["care_form"].strip().lower()
            if care_form not in CARE_FORMS:
                self.problem(S.TARIFFS, number, "care_form", f"onbekende zorgvorm '{row['care_form']}'")
                continue
            intensity = (row["intensity"] or "").strip()
            allowed = (
                ("", *FAMILY_HOME_LEVELS)
                if care_form == "gezinshuis"
                else ("",)
                if care_form in OWN_NORM_CARE_FORMS
                else ("", *INTENSITY_LETTERS)
            )
            intensity = intensity.lower() if care_form == "gezinshuis" else intensity.upper()
            if intensity not in allowed:
                self.problem(
                    S.TARIFFS,
                    number,
                    "intensity",
                    f"voor {care_form} kan hier staan: {', '.join(a or '(leeg)' for a in allowed)}",
                )
                continue
            if row["day_tariff"] < 0:
                self.problem(S.TARIFFS, number, "day_tariff", "het dagtarief mag niet negatief zijn")
                continue
            if not self._period(S.TARIFFS, number, row, "valid_from", "valid_to"):
                continue
            chains.setdefault((care_form, intensity), {})[row["valid_from"]] = (row["valid_to"], number)
            rows[(care_form, intensity, row["valid_from"])] = (number, row)
        for (care_form, intensity), versions in chains.items():
            try:
                chained = chain_versions([(start, end) for start, (end, _n) in versions.items()])
            except ValueError as exc:
                last = max((n for _e, n in versions.values() if n), default=None)
                self.problem(S.TARIFFS, last, "valid_to", f"{care_form} {intensity}: {exc}")
                continue
            for start, end in chained:
                key = (care_form, intensity, start)
                found = rows.get(key)
                wanted = {"day_tariff": found[1]["day_tariff"] if found else by_key[key].day_tariff, "valid_to": end}
                label = f"{care_form}/{intensity or '-'}/{start.isoformat()}"
                current = by_key.get(key)
                if current is None:
                    self.change(S.TARIFFS, label, ADDED)
                    self.plan.adds["tarieven"].append(
                        {"care_form": care_form, "intensity": intensity, "valid_from": start, **wanted}
                    )
                elif changed := _differs(_fields_of(current, list(wanted)), wanted):
                    self.change(S.TARIFFS, label, CHANGED, changed)
                    self.write(_update(Tariff, current.id, wanted))


def _values_of(term: ContractTerm) -> TermValues:
    return TermValues(
        valid_from=term.valid_from,
        valid_to=term.valid_to,
        contracted_places=term.contracted_places,
        day_tariff=term.day_tariff,
        availability_funded=term.availability_funded,
        availability_share=term.availability_share,
    )


def _term_fields(term: ContractTerm | TermValues) -> dict[str, Any]:
    return {
        "valid_to": term.valid_to,
        "contracted_places": term.contracted_places,
        "day_tariff": term.day_tariff,
        "availability_funded": term.availability_funded,
        "availability_share": term.availability_share,
    }


def _update(model: type, object_id: int | None, values: dict[str, Any]) -> Callable[[Session, Principal, float], None]:
    def write(session: Session, _actor: Principal, _stale: float) -> None:
        target = session.get(model, object_id)
        assert target is not None
        for name, value in values.items():
            setattr(target, name, value)
        session.add(target)

    return write


def region_id_of(session: Session, code: str) -> int:
    found = session.exec(select(Region.id).where(Region.code == code)).first()
    assert found is not None
    return found


@dataclass
class _NewGroup:
    key: tuple[str, str]
    values: dict[str, Any]
    terms: list[TermValues]
    mirror: TermValues
    intensity: str


@dataclass
class _GroupWrite:
    """Writes a change of an existing group: its new and changed contract versions, and its
    profile through the place owner's ``change_group`` (the version moves, the live feed shows
    it); another intensity band opens a re-assessment."""

    checker: _Checker
    key: tuple[str, str]
    values: dict[str, Any]
    current: Group
    terms: list[tuple[TermValues, int | None, ContractTerm | None]]
    mirror: TermValues
    intensity: str

    def __call__(self, session: Session, actor: Principal, stale: float) -> None:
        current = self.current
        assert current.id is not None
        location_id = session.exec(
            select(Location.id)
            .join(Provider, col(Provider.id) == Location.provider_id)
            .where(Provider.agb_code == self.values["location"][0], Location.code == self.values["location"][1])
        ).first()
        location = session.get(Location, location_id)
        assert location is not None and location.id is not None
        for term, _number, replaces in self.terms:
            fields = _term_fields(term)
            if replaces is None:
                session.add(
                    ContractTerm(
                        region_id=current.region_id,
                        group_id=current.id,
                        valid_from=term.valid_from,
                        status=TERM_APPROVED,
                        created_at=utcnow(),
                        created_by=actor.label,
                        **fields,
                    )
                )
            elif _differs(_term_fields(replaces), fields):
                stored = session.get(ContractTerm, replaces.id)
                assert stored is not None
                for name, value in fields.items():
                    setattr(stored, name, value)
                session.add(stored)
        session.flush()
        profile = {name: self.values[name] for name in _Checker.PROFILE_FIELDS}
        values: dict[str, Any] = {name: v for name, v in profile.items() if getattr(current, name) != v}
        if current.location_id != location.id:
            values |= {
                "location_id": location.id,
                "lat": location.lat,
                "lon": location.lon,
                "municipality_id": location.municipality_id,
            }
        if "care_form" in values:
            values["max_intensity"] = care_form_max_intensity(profile["care_form"])
        mirror = self.mirror
        mirror_values = {
            "capacity": mirror.contracted_places,
            "availability_funded": mirror.availability_funded,
            **({"day_tariff": mirror.day_tariff} if mirror.day_tariff is not None else {}),
        }
        values |= {name: v for name, v in mirror_values.items() if getattr(current, name) != v}
        if not values:
            return
        staffing = {"capacity", "weekly_roster_hours", "occupancy_norm"} & set(values)
        if staffing and self.intensity != current.intensity:
            # Another band: the funded intensity moves only when the re-assessment is approved.
            open_band_reassessment(
                session,
                actor=actor,
                group=current,
                capacity=mirror.contracted_places,
                roster=profile["weekly_roster_hours"],
                letter=self.intensity,
            )
        places.change_group(
            session=session,
            group_id=current.id,
            stale_after_hours=stale,
            values=values,
            notice=Notice(
                GROUP_CHANGED,
                actor,
                "register.import",
                "group",
                current.id,
                Purpose.register_import,
                detail={"changed": sorted(values)},
            ),
        )


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(model.__table__.insert(), rows)


def _insert_adds(session: Session, plan: Plan, region_id: int) -> None:
    """The new rows of the first sheets, each sheet in one statement (a national register adds
    thousands)."""
    adds = plan.adds
    _insert(session, Municipality, [{"region_id": region_id, **row} for row in adds["gemeenten"]])
    _insert(session, Provider, [{"region_id": region_id, **row} for row in adds["aanbieders"]])
    provider_ids = dict(
        session.exec(select(Provider.agb_code, Provider.id).where(Provider.region_id == region_id)).all()
    )
    municipality_ids = dict(
        session.exec(select(Municipality.cbs_code, Municipality.id).where(Municipality.region_id == region_id)).all()
    )
    _insert(
        session,
        Location,
        [
            {
                "provider_id": provider_ids[row["agb_code"]],
                "municipality_id": municipality_ids[row["municipality"]],
                **{k: v for k, v in row.items() if k not in ("agb_code", "municipality")},
            }
            for row in adds["locaties"]
        ],
    )
    _insert(session, Tariff, [{"region_id": region_id, **row} for row in adds["tarieven"]])


def _insert_groups(session: Session, plan: Plan, region_id: int, actor: Principal, stale: float) -> None:
    """The new groups with their contract versions in a few statements, and one event each
    (``group.created``: every coordinator's screen shows it at once)."""
    if not plan.new_groups:
        return
    location_of = {
        (agb, code): (lid, pid, lat, lon, mid)
        for lid, pid, agb, code, lat, lon, mid in session.execute(
            select(  # type: ignore[call-overload]
                Location.id,
                Location.provider_id,
                Provider.agb_code,
                Location.code,
                Location.lat,
                Location.lon,
                Location.municipality_id,
            )
            .join(Provider, col(Provider.id) == Location.provider_id)
            .where(Provider.region_id == region_id)
        ).all()
    }
    rows: list[dict[str, Any]] = []
    for new in plan.new_groups:
        location_id, provider_id, lat, lon, municipality_id = location_of[new.values["location"]]
        profile = {name: new.values[name] for name in _Checker.PROFILE_FIELDS}
        rows.append(
            {
                "code": new.key[1],
                "provider_id": provider_id,
                "location_id": location_id,
                "municipality_id": municipality_id,
                "region_id": region_id,
                "lat": lat,
                "lon": lon,
                "capacity": new.mirror.contracted_places,
                "intensity": new.intensity,
                "max_intensity": care_form_max_intensity(profile["care_form"]),
                "availability_funded": new.mirror.availability_funded,
                "day_tariff": new.mirror.day_tariff or 0.0,
                **profile,
                **places.unreported_places(),
            }
        )
    _insert(session, Group, rows)
    ids = {
        (pid, code): gid
        for gid, pid, code in session.exec(
            select(Group.id, Group.provider_id, Group.code).where(Group.region_id == region_id)
        )
    }
    now = utcnow()
    terms: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for new, row in zip(plan.new_groups, rows, strict=True):
        row["id"] = ids[(row["provider_id"], row["code"])]
        for term in new.terms:
            terms.append(
                {
                    "region_id": region_id,
                    "group_id": row["id"],
                    "valid_from": term.valid_from,
                    "status": TERM_APPROVED,
                    "created_at": now,
                    "created_by": actor.label,
                    **_term_fields(term),
                }
            )
        events.append(
            {
                "type": GROUP_CREATED,
                "group_id": row["id"],
                "provider_id": row["provider_id"],
                "region_id": region_id,
                "payload": {"group": group_public_json(row, stale_after_hours=stale)},
            }
        )
    _insert(session, ContractTerm, terms)
    append_events(session, events, actor=actor.label)


def apply(
    *,
    session: Session,
    plan: Plan,
    actor: Principal,
    stale_after_hours: float,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write a checked plan in the caller's transaction. A plan with problems is refused.
    ``progress(done, total)`` is told how far the writes are (about every 2 %)."""
    if plan.problems:
        raise ValueError("a plan with problems cannot be applied")
    if plan.new_region is not None:
        code, name = plan.new_region
        session.add(Region(code=code, name=name, settings={}))
        session.flush()
    region_id = region_id_of(session, plan.region_code)
    total = len(plan.writes) + 2
    step = max(1, total // 50)
    _insert_adds(session, plan, region_id)
    if progress is not None:
        progress(1, total)
    for done, write in enumerate(plan.writes, start=2):
        write(session, actor, stale_after_hours)
        session.flush()
        if progress is not None and done % step == 0:
            progress(done, total)
    _insert_groups(session, plan, region_id, actor, stale_after_hours)
    if progress is not None:
        progress(total, total)
    counts = plan.counts()
    session.add(
        AuditEntry(
            at=utcnow(),
            actor=actor.label,
            actor_role=actor.role,
            action="register.import",
            object_type="region",
            object_id=plan.region_code,
            purpose=Purpose.register_import.value,
            detail={"counts": counts, "changes": [[c.sheet, c.key, c.kind, c.fields] for c in plan.changes[:2000]]},
            region_id=region_id,
        )
    )
    append_event(
        session=session,
        type="register.imported",
        region_id=region_id,
        actor=actor.label,
        payload={"region": plan.region_code, "counts": counts},
    )
    return plan.summary()
