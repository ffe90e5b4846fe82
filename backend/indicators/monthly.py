"""Closed months kept: the rows each section reads, per region and calendar month, so that three
years cost a few reads of stored arrays instead of 400,000 rows per request.

A month is kept once it is closed (before the current month, Dutch time) and lies wholly in the
period asked for. What is kept are the section's own rows for the whole region, unfiltered (the
filters are applied to them afterwards, with the groups' attributes as they are now), so the
figures are computed exactly as from the database: the same rows, the same arithmetic. The
current month, and a month cut by the period's edge, are always read live.

Never older than the data: database triggers (migration ``0016_indicators_fast``) raise the
version of a closed month whenever a row behind it changes (referrals, proposals, placements,
the feed's stays and censuses; by any writer, also a correction months later). A kept month is
used only while its version is the one it was read at; the version is read before the rows, so
a change that commits while a request is computing leaves a newer version and the kept rows are
read again next time. Kept rows are stored after the request's own transaction has committed,
in a short writing transaction of their own (a reading request stays a reader; if that write
fails, nothing is lost but the time saved next time).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from backend.db import on_commit
from backend.indicators.models import IndicatorMonth, IndicatorVersion
from backend.occupancy.service import DUTCH_TIME, today

log = logging.getLogger(__name__)

Rows = dict[str, np.ndarray]


@dataclass(frozen=True)
class Months:
    """Calendar months (Dutch local time) overlapping the period, as epoch-second bounds."""

    start: date
    end: date
    labels: list[str]
    bounds: np.ndarray  # len(labels) + 1 epoch seconds: each month's start, then the period's end
    first_days: list[date]

    @property
    def since(self) -> datetime:
        return local_midnight(self.start)

    @property
    def until(self) -> datetime:
        return local_midnight(self.end + timedelta(days=1))

    def index(self, moments: np.ndarray) -> np.ndarray:
        """The month of each moment (epoch seconds); -1 outside the period."""
        found = np.searchsorted(self.bounds, moments, side="right") - 1
        found[(found >= len(self.labels)) | np.isnan(moments)] = -1
        return found

    def count(self, moments: np.ndarray, where: np.ndarray | None = None) -> list[int]:
        index = self.index(moments)
        keep = index >= 0 if where is None else (index >= 0) & where
        return [int(n) for n in np.bincount(index[keep], minlength=len(self.labels))]


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=DUTCH_TIME).astimezone(UTC)


def _pack(rows: Rows) -> bytes:
    """Arrays as a small JSON header (name, dtype, shape) and their raw bytes: some ten times
    quicker to read than ``np.savez`` (whose per-array header parsing dominated a warm read)."""
    arrays = {key: np.ascontiguousarray(values) for key, values in rows.items()}
    header = json.dumps([[key, a.dtype.str, list(a.shape)] for key, a in arrays.items()]).encode()
    return b"".join([len(header).to_bytes(4, "little"), header, *(a.tobytes() for a in arrays.values())])


def _unpack(payload: bytes) -> Rows:
    size = int.from_bytes(payload[:4], "little")
    offset = 4 + size
    rows: Rows = {}
    for key, dtype, shape in json.loads(payload[4:offset]):
        kind = np.dtype(dtype)
        count = int(np.prod(shape))
        rows[key] = np.frombuffer(payload, dtype=kind, count=count, offset=offset).reshape(shape)
        offset += count * kind.itemsize
    return rows


class MonthStore:
    """The kept months of one region for one request's period."""

    def __init__(self, session: Session, region_id: int, months: Months) -> None:
        self.session = session
        self.region_id = region_id
        self.months = months
        this_month = today().replace(day=1)
        self.closed: set[int] = set()
        for i, first in enumerate(months.first_days):
            following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
            if first.day == 1 and following - timedelta(days=1) <= months.end and following <= this_month:
                self.closed.add(i)
        self.versions: dict[tuple[str, str], int] = {}
        self.kept: dict[tuple[str, int], Rows] = {}
        self.fresh: list[tuple[str, str, int, bytes]] = []
        if not self.closed:
            return
        labels = [months.labels[i] for i in sorted(self.closed)]
        index = {label: i for i, label in enumerate(months.labels)}
        # Versions first, then the kept rows: see the module's docstring.
        for section, lowest, highest, version in session.exec(
            select(
                IndicatorVersion.section,
                IndicatorVersion.first_month,
                IndicatorVersion.last_month,
                IndicatorVersion.version,
            ).where(
                IndicatorVersion.region_id == region_id,
                col(IndicatorVersion.first_month) <= labels[-1],
                col(IndicatorVersion.last_month) >= labels[0],
            )
        ).all():
            for label in labels:
                if lowest <= label <= highest:
                    self.versions[(section, label)] = self.versions.get((section, label), 0) + version
        for section, month, version, payload in session.exec(
            select(IndicatorMonth.section, IndicatorMonth.month, IndicatorMonth.version, IndicatorMonth.payload).where(
                IndicatorMonth.region_id == region_id,
                col(IndicatorMonth.month) >= labels[0],
                col(IndicatorMonth.month) <= labels[-1],
            )
        ).all():
            at = index.get(month, -1)
            if at in self.closed and version == self.versions.get((section, month), 0):
                try:
                    self.kept[(section, at)] = _unpack(payload)
                except ValueError:  # not readable (another layout): read the month again
                    log.warning("indicators: kept month %s %s unreadable", section, month)

    def _bounds(self, first: int, last: int) -> tuple[datetime, datetime]:
        days = self.months.first_days
        until = local_midnight(days[last + 1]) if last + 1 < len(days) else self.months.until
        return local_midnight(days[first]), until

    def _runs(self, section: str, usable: Callable[[Rows], bool] | None = None) -> list[tuple[int, int]]:
        """Stretches of consecutive months not kept (to read from the database)."""
        runs: list[tuple[int, int]] = []
        for i in range(len(self.months.labels)):
            kept = self.kept.get((section, i))
            if kept is not None and (usable is None or usable(kept)):
                continue
            if runs and runs[-1][1] == i - 1:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((i, i))
        return runs

    def _keep(self, section: str, i: int, rows: Rows) -> None:
        label = self.months.labels[i]
        if not self.fresh:
            on_commit(self.session, self._store)
        self.fresh.append((section, label, self.versions.get((section, label), 0), _pack(rows)))

    def rows(
        self, section: str, fetch: Callable[[datetime, datetime], Rows], moment: str, whole: tuple[str, ...] = ()
    ) -> list[Rows]:
        """A section's rows of the whole period, as parts (kept months, and one part per stretch
        read now): ``fetch(since, until)`` reads the region's rows of a stretch, ``moment`` names
        the column (epoch seconds) that places a row in its month; ``whole``: arrays that are
        not one value per row (kept with every month as they are)."""
        parts = [rows for (name, _i), rows in self.kept.items() if name == section]
        for first, last in self._runs(section):
            rows = fetch(*self._bounds(first, last))
            parts.append(rows)
            # Each row to its month as the figures count it; rows at a stretch's very edge stay
            # in the stretch, so that none is lost or counted twice.
            month = np.clip(self.months.index(rows[moment]), first, last)
            for i in range(first, last + 1):
                if i in self.closed:
                    here = month == i
                    self._keep(section, i, {k: v if k in whole else v[here] for k, v in rows.items()})
        return parts

    def nights(
        self, group_ids: list[int], through: date, fetch: Callable[[date, date], tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        """Youths present per night (``group_ids`` × the period's days up to ``through``):
        ``fetch(start, end)`` gives (group ids, grid) of every group of the region."""
        months = self.months
        days = max(0, (through - months.start).days + 1)
        wanted = np.array(sorted(group_ids), dtype=np.int64)
        result = np.zeros((len(wanted), days), dtype=np.int32)
        if not days or not len(wanted):
            return result

        def has_all(kept: Rows) -> bool:  # a group added since the month was kept: read again
            return bool(np.isin(wanted, kept["groups"]).all())

        def place(first_day: int, ids: np.ndarray, grid: np.ndarray) -> None:
            rows = np.searchsorted(ids, wanted)
            found = (rows < len(ids)) & (ids[np.minimum(rows, len(ids) - 1)] == wanted) if len(ids) else rows < 0
            width = min(grid.shape[1], days - first_day)
            result[found, first_day : first_day + width] = grid[rows[found], :width]

        offsets = [(d - months.start).days for d in months.first_days] + [days]
        for i in range(len(months.labels)):
            kept = self.kept.get(("occupancy", i))
            if kept is not None and has_all(kept) and offsets[i] < days:
                place(offsets[i], kept["groups"], kept["total"])
        for first, last in self._runs("occupancy", has_all):
            start_day, stop_day = offsets[first], min(offsets[last + 1], days)
            if start_day >= stop_day:
                continue
            start = months.start + timedelta(days=start_day)
            ids, grid = fetch(start, months.start + timedelta(days=stop_day - 1))
            place(start_day, ids, grid)
            for i in range(first, last + 1):
                if i in self.closed:
                    a, b = offsets[i] - start_day, offsets[i + 1] - start_day
                    self._keep("occupancy", i, {"groups": ids, "total": grid[:, a:b]})
        return result

    def _store(self) -> None:
        """After the request's commit: keep the months read, in a transaction of their own."""
        engine: Engine = self.session.get_bind()  # type: ignore[assignment]
        postgres = engine.dialect.name == "postgresql"
        values = [
            {"region_id": self.region_id, "section": s, "month": m, "version": v, "payload": p}
            for s, m, v, p in self.fresh
        ]
        statement = (pg_insert if postgres else sqlite_insert)(IndicatorMonth)
        statement = statement.on_conflict_do_update(
            index_elements=["region_id", "section", "month"],
            set_={"version": statement.excluded.version, "payload": statement.excluded.payload},
        )
        writer = engine if postgres else engine.execution_options(sqlite_immediate=True)
        try:
            with Session(writer) as session:
                session.execute(statement, values)
                session.commit()
        except Exception:  # a cache: the figures were right, only the next request is slower
            log.warning("indicators: could not keep %d months", len(values), exc_info=True)


def forget(session: Session, region_id: int | None = None) -> None:
    """Drop kept months (all, or one region's); the next request reads them again."""
    sql = "DELETE FROM indicator_months" + ("" if region_id is None else " WHERE region_id = :region")
    session.execute(text(sql), {} if region_id is None else {"region": region_id})
