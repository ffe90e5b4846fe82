"""The register template: one sheet per part, Dutch column headers, and how a cell is read.

The same template is an Excel workbook (a sheet per part) or a folder of CSV files (a file per
part, ``<sheet>.csv``, UTF-8, comma-separated). ``docs/register.md`` describes it for users; this
module is what the import and the export both follow, so they cannot drift apart.

A cell is read the same way from either form: Excel hands over numbers and dates as such, CSV as
text. Decimals use a point (0.75): a comma is refused with that advice rather than guessed at,
because "1,500" is one and a half to some readers and fifteen hundred to others.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from backend.spreadsheet import neutralise, restore
from backend.validation import DATE_MAX, DATE_MIN, DATE_RANGE_MESSAGE

TEXT, INT, NUMBER, DATE, YES_NO, LIST = "text", "int", "number", "date", "yes_no", "list"


@dataclass(frozen=True)
class Column:
    header: str  # as users read and type it
    field: str  # the name in the code
    kind: str = TEXT
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # the fields that identify a row across imports
    help: str = ""

    def column(self, field: str) -> Column:
        return next(c for c in self.columns if c.field == field)


REGION = Sheet(
    "regio",
    (
        Column("Regiocode", "code", required=True, help="CBS-code van de jeugdregio, bijvoorbeeld JZ14"),
        Column("Naam", "name", required=True),
    ),
    key=("code",),
    help="Precies één rij: de regio waarvan dit het register is.",
)
MUNICIPALITIES = Sheet(
    "gemeenten",
    (
        Column("CBS-code", "cbs_code", required=True, help="bijvoorbeeld GM0153"),
        Column("Naam", "name", required=True),
        Column("Breedtegraad", "lat", NUMBER, help="leeg: het midden van de adrespostcodes van de gemeente"),
        Column("Lengtegraad", "lon", NUMBER),
    ),
    key=("cbs_code",),
)
PROVIDERS = Sheet(
    "aanbieders",
    (
        Column("AGB-code", "agb_code", required=True, help="8 cijfers (Vektis)"),
        Column("Naam", "name", required=True),
        Column("Telefoon 24 uur", "phone_24h"),
        Column("E-mail", "contact_email"),
        Column("Actief vanaf", "active_from", DATE),
        Column("Actief tot", "active_to", DATE, help="laatste dag; leeg: tot nader order"),
    ),
    key=("agb_code",),
)
LOCATIONS = Sheet(
    "locaties",
    (
        Column("AGB-code", "agb_code", required=True),
        Column("Locatiecode", "code", required=True, help="de eigen code van de aanbieder"),
        Column("Naam", "name", required=True),
        Column("Postcode", "postcode", required=True, help="4 cijfers"),
        Column("Gemeente", "municipality", help="CBS-code; leeg: volgt uit de postcode"),
        Column("Breedtegraad", "lat", NUMBER, help="leeg: het midden van de postcode"),
        Column("Lengtegraad", "lon", NUMBER),
    ),
    key=("agb_code", "code"),
)
GROUPS = Sheet(
    "groepen",
    (
        Column("AGB-code", "agb_code", required=True),
        Column("Groepscode", "code", required=True, help="de eigen code van de aanbieder"),
        Column("Locatiecode", "location_code", required=True),
        Column("Naam", "name", required=True),
        Column("Zorgvorm", "care_form", required=True, help="code, zie het tabblad uitleg"),
        Column("Niveau", "level", help="alleen gezinshuis: licht, middel of zwaar"),
        Column("Leeftijd van", "age_min", INT, required=True),
        Column("Leeftijd tot", "age_max", INT, required=True),
        Column("Gender", "gender_policy", required=True, help="gemengd, jongens of meisjes"),
        Column("Risicoprofielen", "risk_profiles", required=True, help="bijvoorbeeld AB of ABC"),
        Column("Expertise", "expertise", LIST, help="codes gescheiden door komma's"),
        Column("Roosteruren per week", "weekly_roster_hours", NUMBER, required=True, help="netto"),
        Column("Bezettingsnorm", "occupancy_norm", NUMBER, help="leeg: 0.95, crisis 1"),
        Column("Crisis", "is_crisis", YES_NO, help="ja of nee; leeg: volgt uit de zorgvorm"),
        Column("Actief vanaf", "active_from", DATE),
        Column("Actief tot", "active_to", DATE, help="laatste dag; leeg: tot nader order"),
    ),
    key=("agb_code", "code"),
)
TERMS = Sheet(
    "contracten",
    (
        Column("AGB-code", "agb_code", required=True),
        Column("Groepscode", "group_code", required=True),
        Column("Geldig vanaf", "valid_from", DATE, required=True),
        Column("Geldig tot", "valid_to", DATE, help="laatste dag; leeg: tot de volgende versie"),
        Column("Plaatsen", "contracted_places", INT, required=True, help="gecontracteerde plaatsen"),
        Column("Dagtarief", "day_tariff", NUMBER, help="leeg: het tarief uit het tabblad tarieven"),
        Column("Beschikbaarheidsbekostiging", "availability_funded", YES_NO, required=True),
        Column("Beschikbaarheidsdeel", "availability_share", NUMBER, help="0 tot 1; leeg: regio-instelling"),
    ),
    key=("agb_code", "group_code", "valid_from"),
)
TARIFFS = Sheet(
    "tarieven",
    (
        Column("Zorgvorm", "care_form", required=True),
        Column("Intensiteit", "intensity", help="A tot S, of het niveau van een gezinshuis; leeg: de hele zorgvorm"),
        Column("Dagtarief", "day_tariff", NUMBER, required=True),
        Column("Geldig vanaf", "valid_from", DATE, required=True),
        Column("Geldig tot", "valid_to", DATE),
    ),
    key=("care_form", "intensity", "valid_from"),
)
SHEETS: tuple[Sheet, ...] = (REGION, MUNICIPALITIES, PROVIDERS, LOCATIONS, GROUPS, TERMS, TARIFFS)
SHEET_BY_NAME = {sheet.name: sheet for sheet in SHEETS}


class CellError(ValueError):
    """A cell that cannot be read as its column's kind; the message is Dutch."""


def read_cell(column: Column, value: Any) -> Any:
    """A cell's value as its column's kind; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if column.kind == TEXT:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a code typed as a number in Excel
        # The export's guard against formulas (``backend.spreadsheet.neutralise``) comes off.
        return restore(str(value).strip())
    if column.kind == INT:
        if isinstance(value, bool):
            raise CellError("moet een geheel getal zijn")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        text = str(value).strip()
        if text.lstrip("-").isdigit():
            return int(text)
        raise CellError(f"'{value}' is geen geheel getal")
    if column.kind == NUMBER:
        if isinstance(value, bool):
            raise CellError("moet een getal zijn")
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip()
        if "," in text:
            raise CellError(f"'{text}': gebruik een punt als decimaalteken, bijvoorbeeld {text.replace(',', '.')}")
        try:
            return float(text)
        except ValueError:
            raise CellError(f"'{text}' is geen getal") from None
    if column.kind == DATE:
        day = _read_date(value)
        if not DATE_MIN <= day <= DATE_MAX:  # the one date rule of every input (backend.validation)
            raise CellError(f"'{day:%d-%m-%Y}' {DATE_RANGE_MESSAGE}")
        return day
    if column.kind == YES_NO:
        text = str(value).strip().lower()
        if text in ("ja", "j", "true", "1", "waar"):
            return True
        if text in ("nee", "n", "false", "0", "onwaar"):
            return False
        raise CellError(f"'{value}': vul ja of nee in")
    if column.kind == LIST:
        return sorted({part.strip() for part in str(value).split(",") if part.strip()})
    raise AssertionError(column.kind)


def _read_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for parse in (date.fromisoformat, _dutch_date):
        try:
            return parse(text)
        except ValueError:
            continue
    raise CellError(f"'{text}' is geen datum (JJJJ-MM-DD of DD-MM-JJJJ)")


def _dutch_date(text: str) -> date:
    day, month, year = text.split("-")
    if len(year) != 4:
        raise ValueError(text)
    return date(int(year), int(month), int(day))


def write_cell(column: Column, value: Any) -> Any:
    """A value as the export writes it (Excel keeps numbers and dates typed)."""
    if value is None:
        return None
    if column.kind == YES_NO:
        return "ja" if value else "nee"
    if column.kind == LIST:
        return ", ".join(value)
    return value


# -- the two forms of the file ---------------------------------------------------------------------

RawSheets = dict[str, list[tuple[int, dict[str, Any]]]]  # sheet -> [(row number, {header: value})]


class FileError(ValueError):
    """The file as a whole cannot be read (not a workbook, a sheet missing, headers wrong)."""


def read_register_file(path: Path) -> RawSheets:
    if path.is_dir():
        return _read_csv_folder(path)
    if path.suffix.lower() == ".xlsx":
        return read_workbook(path.read_bytes())
    raise FileError(f"{path.name}: geef een Excel-bestand (.xlsx) of een map met CSV-bestanden op.")


def read_workbook(data: bytes) -> RawSheets:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # the reader raises several kinds for a file that is no workbook
        raise FileError("Het bestand is geen Excel-werkmap (.xlsx).") from exc
    out: RawSheets = {}
    names = {name.strip().lower(): name for name in book.sheet_names}
    for sheet in SHEETS:
        if sheet.name in names:
            out[sheet.name] = _rows(sheet, book.get_sheet_by_name(names[sheet.name]).to_python(skip_empty_area=False))
    return out


def read_csv_files(files: dict[str, bytes]) -> RawSheets:
    """CSV files by name (``groepen.csv``), e.g. from an upload."""
    out: RawSheets = {}
    for filename, data in files.items():
        name = Path(filename).stem.strip().lower()
        if name not in SHEET_BY_NAME:
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileError(f"{filename}: het bestand is geen UTF-8-tekst.") from exc
        out[name] = _rows(SHEET_BY_NAME[name], csv.reader(io.StringIO(text)))
    return out


def _read_csv_folder(folder: Path) -> RawSheets:
    return read_csv_files({p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))})


def _rows(sheet: Sheet, rows: Any) -> list[tuple[int, dict[str, Any]]]:
    iterator = iter(rows)
    header_row = next(iterator, None)
    if header_row is None:
        return []
    headers = [str(h).strip() if h is not None else "" for h in header_row]
    known = {c.header.lower(): c.header for c in sheet.columns}
    unknown = [h for h in headers if h and h.lower() not in known]
    if unknown:
        raise FileError(
            f"Tabblad {sheet.name}: onbekende kolom(men) {', '.join(repr(h) for h in unknown)}; "
            f"verwacht: {', '.join(c.header for c in sheet.columns)}."
        )
    missing = [c.header for c in sheet.columns if c.required and c.header.lower() not in {h.lower() for h in headers}]
    if missing:
        raise FileError(f"Tabblad {sheet.name}: kolom(men) ontbreken: {', '.join(missing)}.")
    canonical = [known.get(h.lower(), "") for h in headers]
    out: list[tuple[int, dict[str, Any]]] = []
    for number, values in enumerate(iterator, start=2):
        if values is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        out.append((number, {h: v for h, v in zip(canonical, values, strict=False) if h}))
    return out


def write_workbook(tables: dict[str, list[dict[str, Any]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for sheet in SHEETS:
        page = book.create_sheet(sheet.name)
        page.append([c.header for c in sheet.columns])
        for row in tables.get(sheet.name, []):
            page.append([neutralise(write_cell(c, row.get(c.field))) for c in sheet.columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_csv_files(tables: dict[str, list[dict[str, Any]]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for sheet in SHEETS:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.header for c in sheet.columns])
        for row in tables.get(sheet.name, []):
            writer.writerow(
                ["" if v is None else neutralise(v) for v in (write_cell(c, row.get(c.field)) for c in sheet.columns)]
            )
        files[f"{sheet.name}.csv"] = buffer.getvalue().encode("utf-8")
    return files
