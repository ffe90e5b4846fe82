"""The indicators as tables: one CSV (the tables one below the other, each under its title)
and one Excel workbook (a sheet per table). Both come from :func:`tables`, so they never
differ. CSV is written for Dutch Excel as the post-calculation's is: ``;`` between fields, a
decimal comma, UTF-8 with a byte-order mark. Names typed by users go through the one guard
against formulas (``backend.spreadsheet``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from backend.domain import CARE_FORMS
from backend.indicators.models import HOLD_LABELS, PROPOSAL_LABELS
from backend.spreadsheet import neutralise

Table = tuple[str, list[str], list[list[Any]]]
OUTCOMES = ["sent", "accepted", "declined", "expired", "withdrawn", "open"]


def _form(code: str | None) -> str:
    return CARE_FORMS[code][0] if code in CARE_FORMS else (code or "")


def tables(report: dict[str, Any]) -> list[Table]:
    result: list[Table] = []
    waiting = report.get("waiting")
    if waiting:
        head = [
            "Maand van verwijzing",
            "Jeugdigen",
            "Voorstel: mediaan (dagen)",
            "Voorstel: 90e percentiel (dagen)",
            "Voorstel: nog wachtend (gecensureerd)",
            "Plaatsing: mediaan (dagen)",
            "Plaatsing: 90e percentiel (dagen)",
            "Plaatsing: nog wachtend (gecensureerd)",
        ]

        def line(label: str, a: dict[str, Any], b: dict[str, Any]) -> list[Any]:
            keys = ("median_days", "p90_days", "censored")
            return [label, a["referrals"], *[a[k] for k in keys], *[b[k] for k in keys]]

        proposal, placement = waiting["to_proposal"], waiting["to_placement"]
        rows = [line(a["month"], a, b) for a, b in zip(proposal["by_month"], placement["by_month"], strict=True)]
        rows.append(line("Hele periode", proposal, placement))
        result.append(("Wachttijden (Kaplan-Meier; nog wachtenden gecensureerd)", head, rows))
    p = report["proposals"]
    head = ["Aanbieder", "Groep", *[PROPOSAL_LABELS[k] for k in OUTCOMES], "Afwijsredenen"]
    rows = [
        [
            g["provider_name"],
            g["group_name"],
            *[g[k] for k in OUTCOMES],
            ", ".join(f"{code}: {n}" for code, n in g["declined_by_reason"].items()),
        ]
        for g in p["by_group"]
    ]
    rows.append(["Totaal", "", *[p["total"][k] for k in OUTCOMES], ""])
    result.append(("Plaatsingsvoorstellen per aanbieder en groep", head, rows))
    result.append(
        (
            "Afwijzingen per reden",
            ["Reden", "Code", "Afgewezen"],
            [[r["label"], r["reason"], r["declined"]] for r in p["declined_by_reason"]],
        )
    )
    result.append(
        (
            "Plaatsingsvoorstellen per maand",
            ["Maand", *[PROPOSAL_LABELS[k] for k in OUTCOMES]],
            [[m["month"], *[m[k] for k in OUTCOMES]] for m in p["by_month"]],
        )
    )
    placed, scaling = report["placements"], report["scaling"]
    rows = [
        [
            m["month"],
            m["placements"],
            m["out_of_region"],
            m["beyond_max_distance"],
            s["heavier_than_needed"],
            s["lighter_than_needed"],
        ]
        for m, s in zip(placed["by_month"], scaling["by_month"], strict=True)
    ]
    t, st = placed["total"], scaling["total"]
    rows.append(
        [
            "Hele periode",
            t["placements"],
            t["out_of_region"],
            t["beyond_max_distance"],
            st["heavier_than_needed"],
            st["lighter_than_needed"],
        ]
    )
    result.append(
        (
            "Plaatsingen per maand",
            [
                "Maand",
                "Plaatsingen",
                "Buiten de regio",
                "Verder dan de maximale afstand",
                "Zwaarder dan nodig",
                "Lichter dan nodig",
            ],
            rows,
        )
    )
    result.append(
        (
            "Uitstroom per bestemming",
            ["Bestemming", "Uitgestroomd"],
            [[d["label"], d["discharges"]] for d in scaling["discharges_by_destination"]],
        )
    )
    result.append(
        (
            "Overgangen tussen zorgvormen na uitstroom",
            ["Van", "Naar", "Richting", "Aantal"],
            [
                [
                    m["from_label"],
                    m["to_label"],
                    {"op": "opschaling", "af": "afschaling"}.get(m["direction"], "gelijk"),
                    m["moves"],
                ]
                for m in scaling["care_form_moves"]
            ],
        )
    )
    occ = report["occupancy"]
    result.append(
        (
            "Bezetting per groep",
            [
                "Aanbieder",
                "Groep",
                "Zorgvorm",
                "Intensiteit",
                "Plaatsen",
                "Bezette etmalen",
                "Plaatsdagen",
                "Bezettingsgraad",
                "Onder 50%",
            ],
            [
                [
                    g["provider_name"],
                    g["group_name"],
                    _form(g["care_form"]),
                    g["intensity"],
                    g["places"],
                    g["occupied_bed_days"],
                    g["place_days"],
                    g["occupancy_rate"],
                    "ja" if g["below_50"] else "nee",
                ]
                for g in occ["groups"]
            ],
        )
    )
    result.append(
        (
            "Bezetting per maand",
            ["Maand", "Bezette etmalen", "Plaatsdagen", "Bezettingsgraad"],
            [[m["month"], m["occupied_bed_days"], m["place_days"], m["occupancy_rate"]] for m in occ["by_month"]],
        )
    )
    c = report["crisis"]
    result.append(
        (
            "Crisis per maand",
            ["Maand", "Zoekacties", "Vastgehouden plaatsen", "Bevestigd", "Bevestigd in eigen regio"],
            [
                [m["month"], m["searches"], m["holds"], m["confirmed"], m["confirmed_in_own_region"]]
                for m in c["by_month"]
            ]
            + [
                [
                    "Hele periode",
                    c["total"]["searches"],
                    c["total"]["holds"],
                    c["total"]["confirmed"],
                    c["total"]["confirmed_in_own_region"],
                ]
            ],
        )
    )
    result.append(
        (
            "Crisis: afloop en tijd tot een plek",
            ["Indicator", "Waarde"],
            [
                ["Zoekacties", c["total"]["searches"]],
                ["Zoekacties met een vrije plek", c["total"]["searches_with_place"]],
                ["Aandeel zoekacties met een plek in eigen regio", c["total"]["search_own_region_share"]],
            ]
            + [[HOLD_LABELS[k], c["total"][k]] for k in HOLD_LABELS]
            + [
                ["Aandeel in eigen regio", c["total"]["own_region_share"]],
                ["Mediaan minuten tot bevestiging", c["total"]["median_minutes_to_place"]],
                ["90e percentiel minuten tot bevestiging", c["total"]["p90_minutes_to_place"]],
            ],
        )
    )
    result.append(
        (
            "Actualiteit van de beschikbaarheidsmeldingen per aanbieder",
            [
                "Aanbieder",
                "Groepen",
                "Laatste melding",
                "Uren sinds laatste melding",
                "Uren sinds oudste melding",
                "Nooit gemeld",
                "Verouderd",
            ],
            [
                [
                    f["provider_name"],
                    f["groups"],
                    f["last_report"],
                    f["last_report_age_hours"],
                    f["oldest_report_age_hours"],
                    f["never_reported"],
                    f["stale_groups"],
                ]
                for f in report["freshness"]["providers"]
            ],
        )
    )
    return result


def _heading(report: dict[str, Any]) -> list[str]:
    return [
        f"Stuurinformatie {report['region_name']} ({report['region']})",
        f"{report['period_start']} t/m {report['period_end']}",
    ]


def _dutch(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value}".replace(".", ",")
    if value is None:
        return ""
    return neutralise(value)


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(_heading(report))
    for title, head, rows in tables(report):
        writer.writerow([])
        writer.writerow([neutralise(title)])
        writer.writerow(head)
        writer.writerows([[_dutch(v) for v in row] for row in rows])
    return out.getvalue()


def to_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for title, head, rows in tables(report):
        name = title.replace(":", "")[:31]
        while name in used:
            name = name[:29] + str(len(used))
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([neutralise(v) for v in _heading(report)])
        sheet.append([title])
        sheet.append(head)
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([neutralise(v) for v in row])
        for index, column in enumerate(sheet.columns):
            sheet.column_dimensions[column[0].column_letter].width = 14 if index else 32
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
