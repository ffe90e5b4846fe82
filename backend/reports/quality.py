"""Data quality (*datakwaliteit*) of the free places: per provider and group, how often the
figure was brought up to date, and whether the group meets the region's reporting rule.

An *update* is a moment at which a group's figure was reported: every write of the free places
(``backend.availability.service``: a provider's report or confirmation, the occupancy feed
deriving them, a switch to the feed) sets the group's ``reported_at`` and appends an event whose
payload carries the group's public JSON, ``reported_at`` included. The distinct ``reported_at``
values in the events of the period are the updates; a hold or a proposal changes the held places
but keeps ``reported_at``, so it is no update. A day (Dutch local time) *has an update* when at
least one update falls on it.

Per group, over the period's days up to today (from the group's ``active_from`` and up to its
``active_to`` when these fall inside the period):

- ``update_share``: days with an update / days counted;
- ``longest_gap_days``: the longest run of consecutive days without an update (with its first
  and last day);
- ``missed_days_by_month``: days without an update per calendar month;
- *compliant* unless the longest gap reaches the region's ``compliance_days_running`` (default
  2: not updated for 2 days running) or some calendar month has ``compliance_days_per_month``
  (default 5) days without an update. ``reasons`` says which, in Dutch.

A group that follows the occupancy feed is updated by the feed whenever a youth comes or goes;
days without a change in the group are days without an update, as for every group (the flag
``follows_feed`` is shown so the region can tell the two apart).

Per provider: the days of its groups added up (share), the longest gap of any group, and the
number of non-compliant groups. Who: the region's administrator, coordinator and viewer.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import bindparam, text
from sqlmodel import Session, col, or_, select

from backend.auth import Principal
from backend.domain import as_utc
from backend.errors import RuleViolation
from backend.events.models import Event
from backend.occupancy.service import local_day, today
from backend.providers.models import Group
from backend.regions.settings import region_settings
from backend.reports.service import _night_begins, providers_of, resolve_region
from backend.spreadsheet import neutralise_text

MAX_DAYS = 366
UPDATE_EVENT = "availability.changed"


def default_period(start: date | None, end: date | None) -> tuple[date, date]:
    """Default: from the first day of last month up to today."""
    last = end or today()
    if start is None:
        first_of_month = last.replace(day=1)
        start = (first_of_month - timedelta(days=1)).replace(day=1)
    if last < start:
        raise RuleViolation("De einddatum ligt vóór de begindatum.", code="period_invalid")
    if (last - start).days + 1 > MAX_DAYS:
        raise RuleViolation("Een periode voor de datakwaliteit mag hoogstens een jaar beslaan.", code="period_too_long")
    return start, last


def _reported_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "json_extract_path_text(payload, 'group', 'reported_at')"
    return "json_extract(payload, '$.group.reported_at')"


def update_days(*, session: Session, group_ids: list[int], start: date, end: date) -> dict[int, set[date]]:
    """Per group, the days (Dutch local time) from ``start`` to ``end`` with an update."""
    out: dict[int, set[date]] = {gid: set() for gid in group_ids}
    if not group_ids:
        return out
    moment = Event.__table__.c.at.type  # type: ignore[attr-defined]
    id_list = ",".join(str(int(g)) for g in sorted(set(group_ids)))
    reported = _reported_sql(session.get_bind().dialect.name)
    statement = text(
        f"SELECT DISTINCT group_id, {reported} FROM events"
        f" WHERE group_id IN ({id_list}) AND type = :type AND at >= :start AND at < :after"
    ).bindparams(bindparam("start", type_=moment), bindparam("after", type_=moment))
    rows = session.execute(
        statement,
        {"type": UPDATE_EVENT, "start": _night_begins(start), "after": _night_begins(end + timedelta(days=1))},
    )
    for group_id, value in rows:
        if not value:
            continue
        moment_value = as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
        assert moment_value is not None
        day = local_day(moment_value)
        if start <= day <= end:
            out[int(group_id)].add(day)
    return out


def _longest_run(missed: np.ndarray) -> tuple[int, int]:
    """Length and first index of the longest run of true values (0, -1 for none)."""
    if not missed.any():
        return 0, -1
    padded = np.concatenate([[False], missed, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, ends = edges[::2], edges[1::2]
    lengths = ends - starts
    best = int(np.argmax(lengths))
    return int(lengths[best]), int(starts[best])


def group_quality(*, days: list[date], updated: set[date], running: int, per_month: int) -> dict[str, Any]:
    """The figures of one group over its counted ``days``."""
    if not days:
        return {
            "days": 0,
            "days_with_update": 0,
            "update_share": None,
            "longest_gap_days": 0,
            "longest_gap_from": None,
            "longest_gap_to": None,
            "missed_days_by_month": {},
            "compliant": True,
            "reasons": [],
        }
    missed = np.array([day not in updated for day in days], dtype=bool)
    length, first = _longest_run(missed)
    by_month: dict[str, int] = {}
    for day, miss in zip(days, missed.tolist(), strict=True):
        key = f"{day.year}-{day.month:02d}"
        by_month[key] = by_month.get(key, 0) + int(miss)
    reasons = []
    if length >= running:
        reasons.append(f"{length} dagen achter elkaar niet bijgewerkt (regel: {running})")
    for month, count in by_month.items():
        if count >= per_month:
            reasons.append(f"{month}: op {count} dagen niet bijgewerkt (regel: {per_month} per maand)")
    counted = len(days)
    with_update = counted - int(missed.sum())
    return {
        "days": counted,
        "days_with_update": with_update,
        "update_share": with_update / counted,
        "longest_gap_days": length,
        "longest_gap_from": days[first].isoformat() if length else None,
        "longest_gap_to": days[first + length - 1].isoformat() if length else None,
        "missed_days_by_month": by_month,
        "compliant": not reasons,
        "reasons": reasons,
    }


def data_quality(
    *, session: Session, principal: Principal, region_code: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    region = resolve_region(session=session, principal=principal, region_code=region_code)
    first, last = default_period(start, end)
    through = min(last, today())
    settings = region_settings(region)
    running, per_month = int(settings.compliance_days_running), int(settings.compliance_days_per_month)
    groups = list(
        session.exec(
            select(Group)
            .where(
                Group.region_id == region.id,
                or_(col(Group.active_to).is_(None), col(Group.active_to) >= first),
                or_(col(Group.active_from).is_(None), col(Group.active_from) <= through),
            )
            .order_by(col(Group.provider_id), col(Group.id))
        ).all()
    )
    providers = providers_of(session, groups)
    updates = update_days(
        session=session, group_ids=[g.id for g in groups if g.id is not None], start=first, end=through
    )
    rows = []
    for group in groups:
        assert group.id is not None
        begin = max(first, group.active_from or first)
        stop = min(through, group.active_to or through)
        days = [begin + timedelta(days=i) for i in range(max(0, (stop - begin).days + 1))]
        if days and days[-1] == today() and days[-1] not in updates[group.id]:
            days.pop()  # today has not ended: not yet a day without an update
        provider = providers.get(group.provider_id)
        rows.append(
            {
                "group_id": group.id,
                "group_name": group.name,
                "provider_id": group.provider_id,
                "provider_name": provider.name if provider else None,
                "care_form": group.care_form,
                "follows_feed": bool(group.places_from_feed),
                **group_quality(days=days, updated=updates[group.id], running=running, per_month=per_month),
            }
        )
    return {
        "region": region.code,
        "region_name": region.name,
        "period_start": first,
        "period_end": last,
        "counted_through": through,
        "rule": {"days_running": running, "days_per_month": per_month},
        "groups": rows,
        "providers": provider_totals(rows),
    }


def provider_totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        total = out.setdefault(
            row["provider_id"],
            {
                "provider_id": row["provider_id"],
                "provider_name": row["provider_name"],
                "groups": 0,
                "days": 0,
                "days_with_update": 0,
                "longest_gap_days": 0,
                "non_compliant_groups": 0,
            },
        )
        total["groups"] += 1
        total["days"] += row["days"]
        total["days_with_update"] += row["days_with_update"]
        total["longest_gap_days"] = max(total["longest_gap_days"], row["longest_gap_days"])
        total["non_compliant_groups"] += 0 if row["compliant"] else 1
    for total in out.values():
        total["update_share"] = total["days_with_update"] / total["days"] if total["days"] else None
        total["compliant"] = total["non_compliant_groups"] == 0
    return list(out.values())


CSV_COLUMNS = [
    ("provider_name", "Aanbieder"),
    ("group_id", "Groep-id"),
    ("group_name", "Groep"),
    ("follows_feed", "Volgt bezettingsfeed"),
    ("days", "Dagen"),
    ("days_with_update", "Dagen bijgewerkt"),
    ("update_share", "Aandeel dagen bijgewerkt"),
    ("longest_gap_days", "Langste gat (dagen)"),
    ("longest_gap_from", "Langste gat vanaf"),
    ("longest_gap_to", "Langste gat t/m"),
    ("compliant", "Voldoet aan meldregel"),
    ("reasons", "Waarom niet"),
]


def _cell(value: Any, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if key == "update_share":
        return f"{value * 100:.1f}".replace(".", ",") + "%"
    if key in ("longest_gap_from", "longest_gap_to"):
        return date.fromisoformat(value).strftime("%d-%m-%Y")
    if isinstance(value, list):
        return neutralise_text("; ".join(value))
    if isinstance(value, str):
        return neutralise_text(value)
    return str(value)


def to_csv(report: dict[str, Any]) -> str:
    """For Dutch Excel, like the post-calculation: ``;``, a decimal comma, UTF-8 with a BOM."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    rule = report["rule"]
    writer.writerow([f"Datakwaliteit vrije plaatsen {report['region_name']} ({report['region']})"])
    writer.writerow(
        [
            f"Periode {report['period_start']:%d-%m-%Y} t/m {report['counted_through']:%d-%m-%Y}; "
            f"meldregel: niet {rule['days_running']} dagen achter elkaar en niet op {rule['days_per_month']} "
            "dagen in een maand zonder bijgewerkte vrije plaatsen"
        ]
    )
    writer.writerow([label for _key, label in CSV_COLUMNS])
    for row in report["groups"]:
        writer.writerow([_cell(row.get(key), key) for key, _label in CSV_COLUMNS])
    return out.getvalue()
