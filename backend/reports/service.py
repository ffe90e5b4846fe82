"""Year-end post-calculation (*nacalculatie*) of availability funding, and its exports.

Per availability-funded group over a period: contracted places, available bed-days (places ×
nights), occupied bed-days from the occupancy feed (own region and other regions: youths from
every region count, seed 000), empty bed-days (per night max(0, places − present), so an
over-full night does not make up for an empty one), occupancy rate, availability funding owed
= empty bed-days × day tariff × availability share, the P×Q amount for the own region's occupied
nights (own-region bed-days × day tariff), and a flag below 50% occupancy (talk about merging
or closing). Totals per provider and for the region.

The availability share is a contract setting in the region's settings:
``availability_share`` (default 0.75: an empty contracted place is paid at three quarters of
its tariff), optionally ``availability_share_by_care_form`` {care form: share} and
``availability_share_by_group`` {group id: share}, the most specific one winning.

A period that has not ended yet is counted up to and including today (nights still to come are
neither available nor empty). Places are the group's current contracted places.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlmodel import Session, col, select

from backend.auth import Principal, ensure_region_access
from backend.errors import Forbidden, NotFound, RuleViolation
from backend.occupancy.bedays import NightGrid, night_grid
from backend.occupancy.service import today
from backend.providers.models import Group, Provider
from backend.regions.models import Region
from backend.regions.settings import region_settings
from backend.users.models import Role

BELOW_THRESHOLD = 0.5
MAX_PERIOD_DAYS = 3 * 366 + 1
REGION_ROLES = (Role.admin, Role.coordinator, Role.viewer)


@dataclass
class Period:
    start: date
    end: date  # inclusive
    counted_through: date  # min(end, today)

    @property
    def days(self) -> int:
        return max(0, (self.counted_through - self.start).days + 1)


def resolve_period(*, year: int | None, start: date | None, end: date | None) -> Period:
    if year is not None:
        if start is not None or end is not None:
            raise RuleViolation("Geef een jaar óf een begin- en einddatum op, niet allebei.", code="period_ambiguous")
        if not 2000 <= year <= 2100:
            raise RuleViolation("Het jaar moet tussen 2000 en 2100 liggen.", code="period_invalid")
        start, end = date(year, 1, 1), date(year, 12, 31)
    if start is None or end is None:
        raise RuleViolation("Geef een jaar (year) of een begin- en einddatum (start, end) op.", code="period_missing")
    if end < start:
        raise RuleViolation("De einddatum ligt vóór de begindatum.", code="period_invalid")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise RuleViolation("Een periode mag hoogstens drie jaar beslaan.", code="period_too_long")
    return Period(start=start, end=end, counted_through=min(end, today()))


def availability_share(region: Region, group: Group) -> float:
    return region_settings(region).share_for(group_id=group.id, care_form=group.care_form)


def resolve_region(*, session: Session, principal: Principal, region_code: str | None) -> Region:
    if principal.role not in (*REGION_ROLES, "provider"):
        raise Forbidden("U heeft geen rechten voor deze rapportage.", code="role_forbidden")
    if region_code is None:
        if principal.role == "provider" and principal.provider_id is not None:
            provider = session.get(Provider, principal.provider_id)
            region = session.get(Region, provider.region_id) if provider else None
        elif principal.region_id is not None:
            region = session.get(Region, principal.region_id)
        else:
            raise RuleViolation("Geef de regio op, bijvoorbeeld region=JZ14.", code="region_missing")
    else:
        region = session.exec(select(Region).where(Region.code == region_code.strip().upper())).first()
    if region is None:
        raise NotFound("Regio niet gevonden.")
    ensure_region_access(principal, region.id, what="Regio")
    return region


def report_groups(*, session: Session, principal: Principal, region: Region, funded_only: bool = True) -> list[Group]:
    query = select(Group).where(Group.region_id == region.id)
    if funded_only:
        query = query.where(col(Group.availability_funded).is_(True))
    if principal.role == "provider":
        query = query.where(Group.provider_id == principal.provider_id)
    return list(session.exec(query.order_by(col(Group.provider_id), col(Group.id))).all())


def _money(value: float) -> float:
    return round(float(value) + 0.0, 2)


def post_calculation(
    *,
    session: Session,
    principal: Principal,
    region_code: str | None,
    year: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, object]:
    region = resolve_region(session=session, principal=principal, region_code=region_code)
    period = resolve_period(year=year, start=start, end=end)
    groups = report_groups(session=session, principal=principal, region=region)
    providers = (
        {
            p.id: p
            for p in session.exec(select(Provider).where(col(Provider.id).in_({g.provider_id for g in groups}))).all()
        }
        if groups
        else {}
    )
    grid = night_grid(
        session=session,
        group_ids=[g.id for g in groups],  # type: ignore[misc]
        own_codes={g.id: region.code for g in groups},  # type: ignore[misc]
        start=period.start,
        end=period.counted_through,
    )
    rows = compute_rows(groups=groups, grid=grid, period=period, region=region, providers=providers)
    return {
        "region": region.code,
        "region_name": region.name,
        "period_start": period.start,
        "period_end": period.end,
        "counted_through": period.counted_through,
        "days": period.days,
        "groups": rows,
        "providers": totals_by_provider(rows),
        "total": totals(rows),
    }


def compute_rows(
    *, groups: list[Group], grid: NightGrid, period: Period, region: Region, providers: dict[int | None, Provider]
) -> list[dict[str, object]]:
    if not groups:
        return []
    order = [grid.row(g.id) for g in groups]  # type: ignore[arg-type]
    total = grid.total[order]
    own = grid.own[order]
    capacity = np.array([g.capacity for g in groups], dtype=np.int64)
    occupied = total.sum(axis=1)
    occupied_own = own.sum(axis=1)
    empty = np.maximum(capacity[:, None] - total, 0).sum(axis=1)
    available = capacity * period.days
    rows: list[dict[str, object]] = []
    for i, group in enumerate(groups):
        share = availability_share(region, group)
        rate = float(occupied[i]) / float(available[i]) if available[i] else 0.0
        provider = providers.get(group.provider_id)
        rows.append(
            {
                "group_id": group.id,
                "group_name": group.name,
                "provider_id": group.provider_id,
                "provider_name": provider.name if provider else None,
                "care_form": group.care_form,
                "is_crisis": group.is_crisis,
                "contracted_places": int(capacity[i]),
                "days": period.days,
                "available_bed_days": int(available[i]),
                "occupied_bed_days": int(occupied[i]),
                "occupied_bed_days_own_region": int(occupied_own[i]),
                "occupied_bed_days_other_regions": int(occupied[i] - occupied_own[i]),
                "empty_bed_days": int(empty[i]),
                "occupancy_rate": round(rate, 4),
                "day_tariff": _money(group.day_tariff),
                "availability_share": share,
                "availability_funding": _money(int(empty[i]) * group.day_tariff * share),
                "pxq_amount": _money(int(occupied_own[i]) * group.day_tariff),
                "below_50": bool(available[i] > 0 and rate < BELOW_THRESHOLD),
            }
        )
    return rows


_SUMMED = (
    "contracted_places",
    "available_bed_days",
    "occupied_bed_days",
    "occupied_bed_days_own_region",
    "occupied_bed_days_other_regions",
    "empty_bed_days",
    "availability_funding",
    "pxq_amount",
)


def totals(rows: list[dict[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {key: 0 for key in _SUMMED}
    for row in rows:
        for key in _SUMMED:
            out[key] = out[key] + row[key]  # type: ignore[operator]
    out["availability_funding"] = _money(out["availability_funding"])  # type: ignore[arg-type]
    out["pxq_amount"] = _money(out["pxq_amount"])  # type: ignore[arg-type]
    available = int(out["available_bed_days"])  # type: ignore[call-overload]
    out["occupancy_rate"] = round(int(out["occupied_bed_days"]) / available, 4) if available else 0.0  # type: ignore[call-overload]
    out["groups"] = len(rows)
    out["groups_below_50"] = sum(1 for r in rows if r["below_50"])
    return out


def totals_by_provider(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    grouped: dict[int, list[dict[str, object]]] = {}
    for row in rows:
        grouped.setdefault(int(row["provider_id"]), []).append(row)  # type: ignore[call-overload]
    return [
        {"provider_id": pid, "provider_name": items[0]["provider_name"], **totals(items)}
        for pid, items in sorted(grouped.items())
    ]


def group_series(
    *, session: Session, principal: Principal, group_id: int, year: int | None, start: date | None, end: date | None
) -> tuple[Group, Period, NightGrid, str]:
    """Nights of one group over a period (for the bed-days view and the chart)."""
    group = session.get(Group, group_id)
    if group is None or not principal.may_see_provider(group.provider_id):
        raise NotFound("Groep niet gevonden.")
    if principal.role not in (*REGION_ROLES, "provider"):
        raise Forbidden("U heeft geen rechten voor deze rapportage.", code="role_forbidden")
    region = session.get(Region, group.region_id)
    code = region.code if region else ""
    period = resolve_period(year=year, start=start, end=end)
    grid = night_grid(
        session=session,
        group_ids=[group_id],
        own_codes={group_id: code},
        start=period.start,
        end=period.counted_through,
    )
    return group, period, grid, code
