"""Exports of the post-calculation: CSV, an Excel workbook, and an SVG chart per group.

CSV is written for Dutch Excel: ``;`` between fields, a decimal comma, UTF-8 with a byte-order
mark (so Excel reads the accents), dates as DD-MM-JJJJ. The workbook keeps real numbers with
euro and percentage formats. Charts are plain SVG (no plotting library): occupancy per week
over the period, with lines at 50% and 100% and Dutch labels.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from xml.sax.saxutils import escape

import numpy as np
from openpyxl import Workbook
from openpyxl.styles import Font

from backend.domain import CARE_FORMS

COLUMNS = [
    ("group_id", "Groep-id"),
    ("group_name", "Groep"),
    ("provider_name", "Aanbieder"),
    ("care_form", "Zorgvorm"),
    ("contracted_places", "Gecontracteerde plaatsen"),
    ("days", "Dagen"),
    ("available_bed_days", "Beschikbare etmalen"),
    ("occupied_bed_days", "Bezette etmalen (alle regio's)"),
    ("occupied_bed_days_own_region", "Bezet eigen regio"),
    ("occupied_bed_days_other_regions", "Bezet andere regio's"),
    ("empty_bed_days", "Lege etmalen"),
    ("occupancy_rate", "Bezettingsgraad"),
    ("day_tariff", "Dagtarief"),
    ("availability_share", "Beschikbaarheidsdeel"),
    ("availability_funding", "Beschikbaarheidsbekostiging"),
    ("pxq_amount", "P×Q eigen regio"),
    ("below_50", "Onder 50%"),
]
MONEY = {"day_tariff", "availability_funding", "pxq_amount"}
MONTHS = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]


def _dutch(value: object, key: str) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if key == "care_form" and isinstance(value, str):
        return CARE_FORMS.get(value, (value,))[0]
    if key == "occupancy_rate" and isinstance(value, float):
        return f"{value * 100:.1f}".replace(".", ",") + "%"
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return "" if value is None else str(value)


def _total_row(label: str, totals: dict[str, object], provider: str = "") -> dict[str, object]:
    return {
        **{k: "" for k, _ in COLUMNS},
        **{k: v for k, v in totals.items() if k in dict(COLUMNS)},
        "group_name": label,
        "provider_name": provider,
        "below_50": "",
        "day_tariff": "",
        "availability_share": "",
        "days": "",
    }


def to_csv(report: dict[str, object]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    start: date = report["period_start"]  # type: ignore[assignment]
    through: date = report["counted_through"]  # type: ignore[assignment]
    writer.writerow(
        [
            f"Nacalculatie beschikbaarheidsbekostiging {report['region_name']} ({report['region']})",
            f"periode {start:%d-%m-%Y} t/m {through:%d-%m-%Y}",
        ]
    )
    writer.writerow([label for _, label in COLUMNS])
    for row in report["groups"]:  # type: ignore[attr-defined]
        writer.writerow([_dutch(row[key], key) for key, _ in COLUMNS])
    for provider in report["providers"]:  # type: ignore[attr-defined]
        row = _total_row("Totaal aanbieder", provider, str(provider["provider_name"]))
        writer.writerow([_dutch(row[key], key) for key, _ in COLUMNS])
    row = _total_row("Totaal regio", report["total"])  # type: ignore[arg-type]
    writer.writerow([_dutch(row[key], key) for key, _ in COLUMNS])
    return out.getvalue()


def to_xlsx(report: dict[str, object]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Per groep"
    _fill(sheet, report["groups"], bold_header=True)  # type: ignore[arg-type]
    providers = book.create_sheet("Per aanbieder")
    _fill(
        providers,
        [_total_row("Totaal aanbieder", p, str(p["provider_name"])) for p in report["providers"]],  # type: ignore[attr-defined]
        bold_header=True,
    )
    region = book.create_sheet("Regio")
    region.append(["Regio", f"{report['region_name']} ({report['region']})"])
    region.append(["Periode van", report["period_start"]])
    region.append(["Periode tot en met", report["period_end"]])
    region.append(["Geteld tot en met", report["counted_through"]])
    total: dict[str, object] = report["total"]  # type: ignore[assignment]
    for key, label in COLUMNS:
        if key in total:
            region.append([label, total[key]])
    region.append(["Groepen onder 50%", total["groups_below_50"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fill(sheet, rows: list[dict[str, object]], *, bold_header: bool) -> None:  # type: ignore[no-untyped-def]
    sheet.append([label for _, label in COLUMNS])
    if bold_header:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    for row in rows:
        values = []
        for key, _ in COLUMNS:
            value = row.get(key)
            if key == "care_form" and isinstance(value, str):
                value = CARE_FORMS.get(value, (value,))[0]
            if isinstance(value, bool):
                value = "ja" if value else "nee"
            values.append(value)
        sheet.append(values)
        for cell, (key, _) in zip(sheet[sheet.max_row], COLUMNS, strict=True):
            if key in MONEY:
                cell.number_format = "€ #,##0.00"
            elif key == "occupancy_rate":
                cell.number_format = "0.0%"
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18


def chart_svg(*, title: str, start: date, daily_present: np.ndarray, capacity: int) -> str:
    """Occupancy rate per week (bars) with 50% and 100% lines; weeks run from ``start``."""
    width, height, left, right, top, bottom = 760, 300, 56, 16, 40, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    days = len(daily_present)
    weeks = max(1, -(-days // 7))
    rates = []
    for w in range(weeks):
        chunk = daily_present[w * 7 : (w + 1) * 7]
        rates.append(float(chunk.sum()) / (capacity * len(chunk)) if len(chunk) and capacity else 0.0)
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
        f"{capacity} plaatsen × dagen); rood: onder 50%</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)
