"""The privacy officer's export of the audit log (CSV for any tool, XLSX for Excel).

Every text cell that a spreadsheet would read as a formula (starting with =, +, -, @, tab or
carriage return) gets a leading apostrophe: an actor name or a reason typed by a user can then
never run as a formula in the officer's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from backend.audit.models import AuditEntry
from backend.audit.purposes import label
from backend.spreadsheet import neutralise_text

DUTCH_TIME = ZoneInfo("Europe/Amsterdam")
HEADERS = [
    "Nr.",
    "Tijdstip (Nederlandse tijd)",
    "Wie",
    "Rol",
    "Handeling",
    "Soort object",
    "Object",
    "Jeugddossier(s)",
    "Doel (code)",
    "Doel",
    "Details",
    "Regio",
]


def _local(value: datetime) -> str:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(DUTCH_TIME).strftime("%d-%m-%Y %H:%M:%S")


def cells(entry: AuditEntry, regions: Mapping[int, str] | None = None) -> list[str | int]:
    records = (entry.youth_records or "").strip(",").replace(",", ", ")
    texts = [
        _local(entry.at),
        entry.actor,
        entry.actor_role,
        entry.action,
        entry.object_type,
        entry.object_id,
        records,
        entry.purpose or "",
        label(entry.purpose),
        json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else "",
        "" if entry.region_id is None else (regions or {}).get(entry.region_id, str(entry.region_id)),
    ]
    return [entry.id or 0, *(neutralise_text(t) for t in texts)]


def to_csv(entries: Sequence[AuditEntry], regions: Mapping[int, str] | None = None) -> bytes:
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads the file as UTF-8
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for entry in entries:
        writer.writerow(cells(entry, regions))
    return out.getvalue().encode("utf-8")


def to_xlsx(entries: Sequence[AuditEntry], regions: Mapping[int, str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Auditlog"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for entry in entries:
        sheet.append(cells(entry, regions))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
