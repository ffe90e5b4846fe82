"""Exports of the post-calculation: CSV, an Excel workbook, and an SVG chart per group.

CSV is written for Dutch Excel: ``;`` between fields, a decimal comma, UTF-8 with a byte-order
mark (so Excel reads the accents), dates as DD-MM-JJJJ. The workbook keeps real numbers with
euro and percentage formats. A finalised period says so above the table (who, when) and adds
the difference with what the register and feed give now. Text from users (names) never becomes
a formula: every text cell goes through ``backend.spreadsheet`` (the one guard all exports
use). Charts are plain SVG (no plotting library): occupancy per week over the period, with
lines at 50% and 100% and Dutch labels.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from openpyxl import Workbook
from openpyxl.styles import Font

from backend.domain import CARE_FORMS
from backend.occupancy.service import DUTCH_TIME
from backend.spreadsheet import neutralise, neutralise_text

COLUMNS = [
    ("group_id", "Groep-id"),
    ("group_name", "Groep"),
    ("provider_name", "Aanbieder"),
    ("care_form", "Zorgvorm"),
    ("contracted_places", "Gecontracteerde plaatsen (laatste nacht)"),
    ("days", "Dagen"),
    ("contracted_bed_days", "Gecontracteerde etmalen"),
    ("available_bed_days", "Beschikbare etmalen"),
    ("occupied_bed_days", "Bezette etmalen (alle regio's)"),
    ("occupied_bed_days_own_region", "Bezet eigen regio"),
    ("occupied_bed_days_other_regions", "Bezet andere regio's"),
    ("empty_bed_days", "Lege etmalen"),
    ("occupancy_rate", "Bezettingsgraad"),
    ("day_tariff", "Dagtarief"),
    ("availability_share", "Beschikbaarheidsdeel"),
    ("not_admitting_nights", "Nachten opnamestop"),
    ("not_admitting_funding", "Beschikbaarheid tijdens opnamestop"),
    ("availability_funding", "Beschikbaarheidsbekostiging"),
    ("pxq_amount", "P×Q eigen regio"),
    ("below_50", "Onder 50%"),
]
# Only for a finalised period: what the register and feed give now, minus the stored figure.
DIFFERENCE_COLUMNS = [
    ("availability_funding_difference", "Verschil beschikbaarheid na vaststelling"),
    ("pxq_amount_difference", "Verschil P×Q na vaststelling"),
]
MONEY = {
    "day_tariff",
    "availability_funding",
    "pxq_amount",
    "not_admitting_funding",
    "availability_funding_difference",
    "pxq_amount_difference",
}
MONTHS = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]


def columns(report: dict[str, Any]) -> list[tuple[str, str]]:
    return COLUMNS + DIFFERENCE_COLUMNS if report.get("finalised") else COLUMNS


def _dutch(value: object, key: str) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if key == "care_form" and isinstance(value, str):
        return neutralise_text(CARE_FORMS.get(value, (value,))[0])
    if key == "occupancy_rate" and isinstance(value, float):
        return f"{value * 100:.1f}".replace(".", ",") + "%"
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, str):
        return neutralise_text(value)
    return "" if value is None else str(value)


def _moment(value: object) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(moment, datetime):
        return f"{moment.astimezone(DUTCH_TIME):%d-%m-%Y %H:%M}"
    return ""


def finalised_line(report: dict[str, Any]) -> str:
    """ "Vastgesteld op … door …", or that the figures are provisional."""
    marker = report.get("finalised")
    if not marker:
        return "Voorlopig: nog niet vastgesteld"
    return f"Vastgesteld op {_moment(marker['finalised_at'])} door {marker['finalised_by_name']}"


def _total_row(label: str, totals: dict[str, Any], provider: str = "") -> dict[str, Any]:
    return {
        **{k: "" for k, _ in COLUMNS + DIFFERENCE_COLUMNS},
        **{k: v for k, v in totals.items() if k in dict(COLUMNS + DIFFERENCE_COLUMNS)},
        "group_name": label,
        "provider_name": provider,
        "below_50": "",
        "day_tariff": "",
        "availability_share": "",
        "days": "",
    }


def _difference(fields: dict[str, Any], key: str) -> float:
    return float((fields.get(key) or {}).get("difference") or 0.0)


def _summary_rows(report: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The total rows per provider and for the region; when finalised with the differences of
    every changed group (groups that are new since then included)."""
    changes = report.get("changes_since_finalisation") or {}
    keys = {"availability_funding_difference": "availability_funding", "pxq_amount_difference": "pxq_amount"}
    providers = []
    for provider in report["providers"]:
        row = _total_row("Totaal aanbieder", provider, str(provider["provider_name"]))
        if changes:
            mine = [c["fields"] for c in changes["groups"] if c["provider_id"] == provider["provider_id"]]
            row.update({column: round(sum(_difference(f, key) for f in mine), 2) for column, key in keys.items()})
        providers.append(row)
    region = _total_row("Totaal regio", report["total"])
    if changes:
        region.update({column: round(_difference(changes["total"], key), 2) for column, key in keys.items()})
    return providers, region


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    start: date = report["period_start"]
    through: date = report["counted_through"]
    cols = columns(report)
    writer.writerow(
        [
            neutralise_text(f"Nacalculatie beschikbaarheidsbekostiging {report['region_name']} ({report['region']})"),
            f"periode {start:%d-%m-%Y} t/m {through:%d-%m-%Y}",
            neutralise_text(finalised_line(report)),
        ]
    )
    writer.writerow([label for _, label in cols])
    providers, region = _summary_rows(report)
    for row in [*report["groups"], *providers, region]:
        writer.writerow([_dutch(row.get(key), key) for key, _ in cols])
    return out.getvalue()


def to_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    cols = columns(report)
    providers_rows, region_row = _summary_rows(report)
    sheet = book.active
    sheet.title = "Per groep"
    _fill(sheet, report["groups"], cols)
    _fill(book.create_sheet("Per aanbieder"), providers_rows, cols)
    region = book.create_sheet("Regio")
    region.append(["Regio", neutralise_text(f"{report['region_name']} ({report['region']})")])
    region.append(["Periode van", report["period_start"]])
    region.append(["Periode tot en met", report["period_end"]])
    region.append(["Geteld tot en met", report["counted_through"]])
    region.append(["Status", neutralise_text(finalised_line(report))])
    total: dict[str, Any] = report["total"]
    for key, label in cols:
        if key in region_row and region_row[key] != "" and key not in ("group_name", "provider_name"):
            region.append([label, neutralise(region_row[key])])
            if key in MONEY:
                region.cell(row=region.max_row, column=2).number_format = "€ #,##0.00"
    region.append(["Groepen onder 50%", total["groups_below_50"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fill(sheet, rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    sheet.append([label for _, label in cols])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        values = []
        for key, _ in cols:
            value = row.get(key)
            if key == "care_form" and isinstance(value, str):
                value = CARE_FORMS.get(value, (value,))[0]
            if isinstance(value, bool):
                value = "ja" if value else "nee"
            values.append(neutralise(value))
        sheet.append(values)
        for cell, (key, _) in zip(sheet[sheet.max_row], cols, strict=True):
            if key in MONEY:
                cell.number_format = "€ #,##0.00"
            elif key == "occupancy_rate":
                cell.number_format = "0.0%"
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18


def chart_svg(*, title: str, start: date, daily_present: np.ndarray, places: np.ndarray) -> str:
    """Occupancy rate per week (bars) with 50% and 100% lines; weeks run from ``start``. The
    rate of a week is its occupied bed-days over the contracted bed-days of its nights (the
    places of each night's contract version)."""
    width, height, left, right, top, bottom = 760, 300, 56, 16, 40, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    days = len(daily_present)
    weeks = max(1, -(-days // 7))
    rates = []
    for w in range(weeks):
        chunk = daily_present[w * 7 : (w + 1) * 7]
        contracted = int(places[w * 7 : (w + 1) * 7].sum())
        rates.append(float(chunk.sum()) / contracted if contracted else 0.0)
    top_rate = max(1.0, *rates) if rates else 1.0
    bar_w = plot_w / weeks

    def y(rate: float) -> float:
        return top + plot_h - rate / top_rate * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for w, rate in enumerate(rates):
        colour = "#c0392b" if rate < 0.5 else "#2e86c1"
        week_start = start + timedelta(days=w * 7)
        parts.append(
            f'<rect x="{left + w * bar_w:.1f}" y="{y(rate):.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
            f'height="{top + plot_h - y(rate):.1f}" fill="{colour}"><title>week van '
            f"{week_start:%d-%m-%Y}: {rate * 100:.0f}% bezet</title></rect>"
        )
    for rate, label, dash in ((0.0, "0%", ""), (0.5, "50%", ' stroke-dasharray="4 3"'), (1.0, "100%", "")):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(rate):.1f}" y2="{y(rate):.1f}" stroke="#555"{dash}/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y(rate) + 4:.1f}" text-anchor="end">{label}</text>')
    for d in range(days):
        day = start + timedelta(days=d)
        if day.day == 1 or d == 0:
            x = left + d / 7 * bar_w
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}">{MONTHS[day.month - 1]}</text>')
    parts.append(
        f'<text x="{left}" y="{height - 8}">Bezettingsgraad per week (bezette etmalen / '
        "gecontracteerde etmalen); rood: onder 50%</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)
