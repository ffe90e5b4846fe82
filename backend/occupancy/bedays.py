"""Bed-days (*bezette etmalen*): occupancy per group per night, split by region of origin.

Rule: a night counts for the date on which it starts. A stay admitted on day d and discharged
on day e occupies the nights d .. e-1 (a stay admitted and discharged on the same day counts no
night); a stay still open counts every night up to the end of the period. A stay across the end
of a period is cut at the period's edges, so each year gets its own nights.

Stays are expanded into nights with array operations: each stay adds +1 at its first night and
-1 after its last one on a (group × day) grid, one ``bincount`` does all stays at once, and a
cumulative sum along the day axis gives the number present per night. Dates travel from the
database as integer day numbers (days since 1970-01-01), so no Python date object is made per
stay.

A daily census (for providers without an event feed) replaces the feed's figure for that group
and night: the newest census for a date counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import text
from sqlmodel import Session

EPOCH = date(1970, 1, 1)
OPEN_END = 10**7  # day number far after any real date: a stay that has not ended


def day_number(value: date) -> int:
    return (value - EPOCH).days


@dataclass
class NightGrid:
    """Youths present per night for ``group_ids`` × ``days`` nights starting at ``start``."""

    group_ids: np.ndarray  # (G,) sorted
    start: date
    days: int
    total: np.ndarray  # (G, D) all regions
    own: np.ndarray  # (G, D) youths from the group's own region

    @property
    def other(self) -> np.ndarray:
        other: np.ndarray = self.total - self.own
        return other

    def row(self, group_id: int) -> int:
        index = int(np.searchsorted(self.group_ids, group_id))
        if index >= len(self.group_ids) or self.group_ids[index] != group_id:
            raise KeyError(group_id)
        return index

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


def _day_sql(session: Session, column: str) -> str:
    if session.get_bind().dialect.name == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def _fetch_int_table(session: Session, sql: str, params: dict[str, object], *, columns: int) -> np.ndarray:
    """Run a query whose columns are all integers and return them as one int64 array."""
    return fetch_table(session, sql, params, columns=columns, dtype=np.int64)


def fetch_table(
    session: Session, sql: str, params: dict[str, object], *, columns: int, dtype: type = np.int64
) -> np.ndarray:
    """Run a query whose columns are all numbers and return them as one array (with a float
    ``dtype`` a NULL becomes NaN).

    Straight through the driver's cursor: building an array from SQLAlchemy Row objects goes
    through Python per value and is some 50 times slower for 100,000 rows.
    """
    dialect = session.get_bind().dialect.name
    values = {k: (v.isoformat() if isinstance(v, date) and dialect == "sqlite" else v) for k, v in params.items()}
    if dialect != "sqlite":
        for key in sorted(params, key=len, reverse=True):  # psycopg's placeholders; :a10 before :a1
            sql = sql.replace(f":{key}", f"%({key})s")
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return np.zeros((0, columns), dtype=dtype)
    return np.array(rows, dtype=dtype)


def expand_stays(
    group_ids: np.ndarray,
    stay_groups: np.ndarray,
    admit: np.ndarray,
    discharge: np.ndarray,
    own: np.ndarray,
    *,
    start_day: int,
    days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The grid arithmetic, separate from the database so that it can be measured on its own.

    ``admit``/``discharge`` are day numbers (``OPEN_END`` for an open stay); ``own`` is 1 for a
    youth from the group's own region. Returns (total, own) arrays of shape (G, days).
    """
    n_groups = len(group_ids)
    width = days + 1
    rows = np.minimum(np.searchsorted(group_ids, stay_groups), max(n_groups - 1, 0))
    first = np.clip(admit - start_day, 0, days)
    after_last = np.clip(discharge - start_day, 0, days)
    keep = (after_last > first) & (group_ids[rows] == stay_groups)
    rows, first, after_last, own = rows[keep], first[keep], after_last[keep], own[keep].astype(np.float64)
    # Layer 0 counts everyone, layer 1 only the own region; both in one bincount.
    size = 2 * n_groups * width
    index = np.concatenate(
        [
            rows * width + first,
            rows * width + after_last,
            n_groups * width + rows * width + first,
            n_groups * width + rows * width + after_last,
        ]
    )
    ones = np.ones(first.shape, dtype=np.float64)
    weight = np.concatenate([ones, -ones, own, -own])
    delta = np.bincount(index, weights=weight, minlength=size).reshape(2, n_groups, width)
    grid = np.cumsum(delta, axis=2)[:, :, :days].astype(np.int32)
    return grid[0], grid[1]


def night_grid(
    *, session: Session, group_ids: Sequence[int], own_codes: dict[int, str], start: date, end: date
) -> NightGrid:
    """Youths present per night from ``start`` to ``end`` (inclusive) for the given groups."""
    ids = np.array(sorted(set(group_ids)), dtype=np.int64)
    days = max(0, (end - start).days + 1)
    if ids.size == 0 or days == 0:
        empty = np.zeros((len(ids), days), dtype=np.int32)
        return NightGrid(ids, start, days, empty, empty.copy())
    start_day, end_day = day_number(start), day_number(end)
    admit_sql, discharge_sql = _day_sql(session, "admit_day"), _day_sql(session, "discharge_day")
    # One query for all groups: the id list goes in as a bound array-free IN of integers.
    id_list = ",".join(str(int(g)) for g in ids)
    # Own region decided in SQL and dates as day numbers: the rows arrive as plain integers and
    # become arrays in one conversion, with no Python work per stay.
    codes = sorted(set(own_codes.values()))
    params: dict[str, object] = {"start": start, "end": end}
    own_case = "origin_region_code"
    if len(codes) == 1:
        own_case = "CASE WHEN origin_region_code = :own THEN 1 ELSE 0 END"
        params["own"] = codes[0]
    sql = (
        f"SELECT group_id, {admit_sql}, COALESCE({discharge_sql}, {OPEN_END}), {own_case} "
        f"FROM occupancy_stays WHERE group_id IN ({id_list}) AND admit_day <= :end "
        "AND (discharge_day IS NULL OR discharge_day > :start)"
    )
    if len(codes) == 1:
        table = _fetch_int_table(session, sql, params, columns=4)
        stay_groups, admit, discharge, own = table[:, 0], table[:, 1], table[:, 2], table[:, 3]
    else:
        rows = session.execute(text(sql), params).fetchall()
        columns = list(zip(*rows, strict=True)) or [(), (), (), ()]
        stay_groups = np.fromiter(columns[0], dtype=np.int64, count=len(rows))
        admit = np.fromiter(columns[1], dtype=np.int64, count=len(rows))
        discharge = np.fromiter(columns[2], dtype=np.int64, count=len(rows))
        own = np.fromiter(
            (code == own_codes.get(g) for g, code in zip(columns[0], columns[3], strict=True)),
            dtype=np.int64,
            count=len(rows),
        )
    total, own_grid = expand_stays(ids, stay_groups, admit, discharge, own, start_day=start_day, days=days)
    _apply_census(session, ids, own_codes, start_day, end_day, total, own_grid, start, end)
    return NightGrid(ids, start, days, total, own_grid)


def _apply_census(
    session: Session,
    ids: np.ndarray,
    own_codes: dict[int, str],
    start_day: int,
    end_day: int,
    total: np.ndarray,
    own: np.ndarray,
    start: date,
    end: date,
) -> None:
    day_sql = _day_sql(session, "day")
    id_list = ",".join(str(int(g)) for g in ids)
    rows = session.execute(
        text(
            f"SELECT group_id, {day_sql}, present, by_region FROM occupancy_census "
            f"WHERE group_id IN ({id_list}) AND day >= :start AND day <= :end ORDER BY id"
        ),
        {"start": start, "end": end},
    ).fetchall()
    for group_id, day, present, by_region in rows:  # later rows (newer counts) overwrite earlier ones
        regions = json.loads(by_region) if isinstance(by_region, str) else (by_region or {})
        own_code = own_codes.get(group_id)
        other = sum(n for code, n in regions.items() if code != own_code)
        row = int(np.searchsorted(ids, group_id))
        column = int(day) - start_day
        total[row, column] = present
        own[row, column] = present - other


def nights_by_region(
    *, session: Session, group_id: int, own_code: str, start: date, end: date
) -> tuple[list[str], np.ndarray]:
    """Nights of one group split by every region of origin: (codes, array (regions, days))."""
    days = max(0, (end - start).days + 1)
    start_day = day_number(start)
    admit_sql, discharge_sql = _day_sql(session, "admit_day"), _day_sql(session, "discharge_day")
    rows = session.execute(
        text(
            f"SELECT origin_region_code, {admit_sql}, COALESCE({discharge_sql}, {OPEN_END}) FROM occupancy_stays "
            "WHERE group_id = :group AND admit_day <= :end AND (discharge_day IS NULL OR discharge_day > :start)"
        ),
        {"group": group_id, "start": start, "end": end},
    ).fetchall()
    census = session.execute(
        text(
            f"SELECT {_day_sql(session, 'day')}, present, by_region FROM occupancy_census "
            "WHERE group_id = :group AND day >= :start AND day <= :end ORDER BY id"
        ),
        {"group": group_id, "start": start, "end": end},
    ).fetchall()
    census_regions = [json.loads(r[2]) if isinstance(r[2], str) else (r[2] or {}) for r in census]
    codes = sorted({r[0] for r in rows} | {c for regions in census_regions for c in regions} | {own_code})
    index = {code: i for i, code in enumerate(codes)}
    ids = np.arange(len(codes), dtype=np.int64)
    stay_codes = np.array([index[r[0]] for r in rows], dtype=np.int64)
    admit = np.array([r[1] for r in rows], dtype=np.int64)
    discharge = np.array([r[2] for r in rows], dtype=np.int64)
    grid, _ = expand_stays(
        ids, stay_codes, admit, discharge, np.zeros(len(rows), dtype=np.int64), start_day=start_day, days=days
    )
    for (day, present, _raw), regions in zip(census, census_regions, strict=True):
        column = int(day) - start_day
        grid[:, column] = 0
        for code, count in regions.items():
            grid[index[code], column] = count
        grid[index[own_code], column] += present - sum(regions.values())
    return codes, grid
