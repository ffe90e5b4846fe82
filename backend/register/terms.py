"""Dated contract terms and the tariff table: which places, tariff and funding hold on a night.

These are pure functions over rows already read, so that the post-calculation can ask them for
every night of a year without a query per night, and the import can plan versions before it
writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol, TypeVar

from backend import notation
from backend.domain import utcnow
from backend.providers.models import Group
from backend.register.models import TERM_APPROVED, ContractTerm, Tariff

# Care forms outside the A–S model (seed 000: "eigen normering"): a family home is paid by its
# level, foster care and crisis foster care by one daily rate. Defined with the care forms.
from solver.vocabulary import OWN_NORM_CARE_FORMS

# Paid P×Q only, never availability-funded (seed 000, DOMAIN.md).
NEVER_AVAILABILITY_FUNDED = frozenset({"crisispleegzorg"})


class Period(Protocol):
    @property
    def valid_from(self) -> date: ...

    @property
    def valid_to(self) -> date | None: ...


Dated = TypeVar("Dated", bound=Period)


@dataclass
class TermValues:
    """A contract version as the import plans it (cheaper than an ORM object per row)."""

    valid_from: date
    valid_to: date | None
    contracted_places: int
    day_tariff: float | None
    availability_funded: bool
    availability_share: float | None
    status: str = TERM_APPROVED


def valid_on(rows: Iterable[Dated], day: date) -> Dated | None:
    """The row whose period covers ``day`` (the latest start wins if rows overlap)."""
    best: Dated | None = None
    for row in rows:
        covers = row.valid_from <= day and (row.valid_to is None or day <= row.valid_to)
        if covers and (best is None or row.valid_from > best.valid_from):
            best = row
    return best


def chain_versions(periods: Sequence[tuple[date, date | None]]) -> list[tuple[date, date | None]]:
    """Versions sorted by start; an open end is closed the day before the next version starts.
    Raises ValueError naming the first overlap of two explicit periods."""
    ordered = sorted(periods, key=lambda p: p[0])
    out: list[tuple[date, date | None]] = []
    for index, (start, end) in enumerate(ordered):
        following = ordered[index + 1][0] if index + 1 < len(ordered) else None
        if following is not None:
            if following == start:
                raise ValueError(f"twee versies beginnen op {notation.day(start)}")
            if end is None:
                end = following - timedelta(days=1)
            elif end >= following:
                raise ValueError(
                    f"de versie van {notation.day(start)} tot {notation.day(end)} overlapt met die van "
                    f"{notation.day(following)}"
                )
        out.append((start, end))
    return out


def tariff_key(care_form: str, *, intensity: str | None, level: str | None) -> str:
    """Which row of the tariff table prices a night: the family home's level, the funded
    intensity letter for the A–S care forms, or the care form as a whole."""
    if care_form == "gezinshuis":
        return level or ""
    if care_form in OWN_NORM_CARE_FORMS:
        return ""
    return intensity or ""


def table_tariff(tariffs: Iterable[Tariff], *, care_form: str, key: str, day: date) -> float | None:
    """The region's day tariff for a care form and key on a day; falls back to the care form's
    row without a key ("" = every intensity) when there is no row for the key itself."""
    rows = [t for t in tariffs if t.care_form == care_form]
    exact = valid_on((t for t in rows if t.intensity == key), day)
    if exact is not None:
        return exact.day_tariff
    whole = valid_on((t for t in rows if t.intensity == ""), day)
    return whole.day_tariff if whole is not None else None


def first_term(group: Group, *, valid_from: date, actor_label: str) -> ContractTerm:
    """The term a new group starts with: its places, tariff and funding from its first day."""
    assert group.id is not None
    return ContractTerm(
        region_id=group.region_id,
        group_id=group.id,
        valid_from=valid_from,
        contracted_places=group.capacity,
        day_tariff=group.day_tariff,
        availability_funded=group.availability_funded,
        status=TERM_APPROVED,
        created_at=utcnow(),
        created_by=actor_label,
    )
