"""Indicators of closed months, kept (backend/indicators/monthly.py): the stored rows per region,
section and month, and a version per region, section and range of months that the database
itself raises when a row behind a closed month changes (a month's version is the sum of the
versions of the ranges that hold it: it only ever grows).

Why triggers and not calls in the write paths: every writer (the feed's batches and
corrections, proposals and their lazy expiry, placements, referrals, the demo loader, bulk
imports, a hand-made fix in psql) goes through them, so a kept month can never be older than
the data. Only changes to a month before the current one raise a version (plus a day's margin
for a transaction that spans midnight): the live feed of today writes no extra row.

Revision ID: 0016_indicators_fast
Revises: 0015_whatif
"""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision = "0016_indicators_fast"
down_revision = "0015_whatif"
branch_labels = None
depends_on = None

TABLES = ("referrals", "proposals", "placements", "occupancy_stays", "occupancy_census")


class _Dialect:
    """Month keys ('YYYY-MM', Dutch local time) of a moment or a date, in SQL."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def moment(self, column: str) -> tuple[str, str]:
        """First and last month a stored moment may fall in."""
        if self.postgres:
            month = f"to_char({column} AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM')"
            return month, month
        # SQLite keeps UTC and has no time zones: the UTC month and that of a day later cover
        # the Dutch one (UTC+1 or +2).
        return f"strftime('%Y-%m', {column})", f"strftime('%Y-%m', {column}, '+1 day')"

    def day(self, column: str) -> str:
        return f"to_char({column}, 'YYYY-MM')" if self.postgres else f"strftime('%Y-%m', {column})"

    @property
    def closed(self) -> str:
        """Months before this one are closed (kept); a day's margin for a long transaction."""
        if self.postgres:
            return "to_char((clock_timestamp() + interval '1 day') AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM')"
        return "strftime('%Y-%m', 'now', '+1 day')"

    def same(self, a: str, b: str) -> str:
        return f"{a} IS NOT DISTINCT FROM {b}" if self.postgres else f"{a} IS {b}"


class Spec(NamedTuple):
    """Months of one section that a changed row counts in: ``first`` .. ``last`` in ``region``;
    ``source``: another table the expressions read (joined with ``joined``); ``extra``: a further
    condition on the row. (A named tuple: Alembic loads this file outside ``sys.modules``, where
    a dataclass cannot be made.)"""

    region: str
    section: str
    first: str
    last: str
    source: str = ""
    joined: str = ""
    extra: str = ""


def _specs(d: _Dialect, table: str, row: str) -> list[Spec]:
    """The months a row (alias ``row``: the changed row, old or new) of ``table`` counts in."""
    if table == "referrals":
        return [
            Spec(f"{row}.region_id", "waiting", *d.moment(f"{row}.waiting_since")),
            # A placement's figures read the referral's home, distance limit and needed intensity.
            Spec("p.region_id", "placements", *d.moment("p.arrived_at"), "placements p", f"p.referral_id = {row}.id"),
        ]
    waiting = Spec("r.region_id", "waiting", *d.moment("r.waiting_since"), "referrals r", f"r.id = {row}.referral_id")
    if table == "proposals":
        return [Spec(f"{row}.region_id", "proposals", *d.moment(f"{row}.created_at")), waiting]
    if table == "placements":
        return [
            Spec(f"{row}.region_id", "placements", *d.moment(f"{row}.arrived_at")),
            waiting,
            # A discharge counts the youth's next placement as a move: every discharge of the
            # referral (this one included) may change.
            Spec(
                "p.region_id", "discharges", *d.moment("p.discharged_at"), "placements p",
                f"p.referral_id = {row}.referral_id",
            ),  # fmt: skip
        ]
    if table == "occupancy_census":
        day = d.day(f"{row}.day")
        return [Spec("g.region_id", "occupancy", day, day, "groups g", f"g.id = {row}.group_id")]
    if table == "occupancy_stays":
        # Nights from the admission to the discharge (open: up to now).
        last = f"CASE WHEN {row}.discharge_day IS NULL THEN '9999-12' ELSE {d.day(f'{row}.discharge_day')} END"
        return [Spec("g.region_id", "occupancy", d.day(f"{row}.admit_day"), last, "groups g", f"g.id = {row}.group_id")]
    raise ValueError(table)


STAY_SAME_PLACE = "{o}.group_id = {n}.group_id AND {o}.admit_day = {n}.admit_day"


def _stay_moved(d: _Dialect, o: str, n: str) -> Spec:
    """A stay's update that only moves its discharge (the usual one: a youth leaves) changes the
    nights between the two discharge days (up to now when one is open; a discharge today: no
    closed month)."""
    old, new = d.day(f"{o}.discharge_day"), d.day(f"{n}.discharge_day")
    first = (
        f"CASE WHEN {o}.discharge_day IS NULL THEN {new} WHEN {n}.discharge_day IS NULL THEN {old} "
        f"WHEN {o}.discharge_day < {n}.discharge_day THEN {old} ELSE {new} END"
    )
    last = (
        f"CASE WHEN {o}.discharge_day IS NULL OR {n}.discharge_day IS NULL THEN '9999-12' "
        f"WHEN {o}.discharge_day < {n}.discharge_day THEN {new} ELSE {old} END"
    )
    moved = f" AND NOT ({d.same(f'{o}.discharge_day', f'{n}.discharge_day')})"
    same = STAY_SAME_PLACE.format(o=o, n=n)
    return Spec("g.region_id", "occupancy", first, last, "groups g", f"g.id = {n}.group_id", f"{moved} AND {same}")


def _guard(d: _Dialect, spec: Spec) -> str:
    """Cheap to test on the row alone: does the change reach a closed month?"""
    return f"{spec.first} < {d.closed}" if not spec.source or spec.source == "groups g" else "1 = 1"


# -- PostgreSQL: row triggers, run only WHEN the row reaches a closed month; each range raised
# once per transaction (a history batch of 50,000 past stays raises a few hundred, not 50,000).


def _pg_loop(d: _Dialect, spec: Spec, extra: str = "") -> str:
    source = f" FROM {spec.source}" if spec.source else ""
    where = f"{spec.first} < {d.closed} AND {spec.region} IS NOT NULL AND {spec.last} IS NOT NULL"
    where += (f" AND {spec.joined}" if spec.joined else "") + spec.extra + extra
    return (
        f"  FOR touched IN SELECT DISTINCT {spec.region} AS region_id, {spec.first} AS first_month, "
        f"{spec.last} AS last_month{source} WHERE {where} LOOP\n"
        f"    key := touched.region_id || '/{spec.section}/' || touched.first_month || '/' || touched.last_month || ';';\n"
        "    IF position(key IN coalesce(current_setting('plekwijzer.indicators_touched', true), '')) = 0 THEN\n"
        "      PERFORM set_config('plekwijzer.indicators_touched', "
        "coalesce(current_setting('plekwijzer.indicators_touched', true), '') || key, true);\n"
        "      INSERT INTO indicator_versions (region_id, section, first_month, last_month, version) "
        f"VALUES (touched.region_id, '{spec.section}', touched.first_month, touched.last_month, 1) "
        "ON CONFLICT (region_id, section, first_month, last_month) "
        "DO UPDATE SET version = indicator_versions.version + 1;\n"
        # Kept rows of those months go at once (a deleted or corrected youth's figures with them).
        f"      DELETE FROM indicator_months WHERE region_id = touched.region_id AND section = '{spec.section}' "
        "AND month >= touched.first_month AND month <= touched.last_month;\n"
        "    END IF;\n  END LOOP;\n"
    )


def _postgres_triggers(d: _Dialect) -> None:
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            rows = {"INSERT": ["NEW"], "DELETE": ["OLD"], "UPDATE": ["OLD", "NEW"]}[event]
            parts = [(spec, "") for row in rows for spec in _specs(d, table, row)]
            if table == "occupancy_stays" and event == "UPDATE":
                not_same = f" AND NOT ({STAY_SAME_PLACE.format(o='OLD', n='NEW')})"
                parts = [(_stay_moved(d, "OLD", "NEW"), "")] + [(spec, not_same) for spec, _ in parts]
            guards = [_guard(d, spec) + spec.extra + extra for spec, extra in parts]
            when = "" if "1 = 1" in guards else " WHEN (" + " OR ".join(f"({g})" for g in guards) + ")"
            body = "".join(_pg_loop(d, spec, extra) for spec, extra in parts)
            name = f"indicators_changed_{table}_{event.lower()}"
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"DECLARE\n  touched record;\n  key text;\nBEGIN\n{body}  RETURN NULL;\nEND $$"
            )
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when} EXECUTE FUNCTION {name}()")


# -- SQLite: row triggers (it has no others), each only WHEN its row reaches a closed month -------


def _sqlite_statements(d: _Dialect, spec: Spec, extra: str = "") -> str:
    source = f" FROM {spec.source}" if spec.source else ""
    joined = f" AND {spec.joined}" if spec.joined else ""
    if spec.source in ("", "groups g"):
        # The trigger's WHEN already found a closed month: one lookup of the region at most.
        region = f"(SELECT {spec.region}{source} WHERE 1 = 1{joined})" if spec.source else spec.region
        return (
            "INSERT INTO indicator_versions (region_id, section, first_month, last_month, version) "
            f"SELECT {region}, '{spec.section}', {spec.first}, {spec.last}, 1 "
            f"WHERE {region} IS NOT NULL AND {spec.last} IS NOT NULL "
            "ON CONFLICT (region_id, section, first_month, last_month) "
            "DO UPDATE SET version = indicator_versions.version + 1;\n"
            f"  DELETE FROM indicator_months WHERE region_id = {region} AND section = '{spec.section}' "
            f"AND month >= {spec.first} AND month <= {spec.last};\n"
        )
    where = f"{spec.first} < {d.closed} AND {spec.region} IS NOT NULL AND {spec.last} IS NOT NULL"
    where += joined + spec.extra + extra
    return (
        "INSERT INTO indicator_versions (region_id, section, first_month, last_month, version) "
        f"SELECT DISTINCT {spec.region}, '{spec.section}', {spec.first}, {spec.last}, 1{source} WHERE {where} "
        "ON CONFLICT (region_id, section, first_month, last_month) "
        "DO UPDATE SET version = indicator_versions.version + 1;\n"
        # The region first, so that nothing is searched when no kept month is touched.
        f"  DELETE FROM indicator_months WHERE region_id IN (SELECT {spec.region}{source} WHERE {where}) "
        f"AND section = '{spec.section}' AND EXISTS (SELECT 1{source} WHERE {where} "
        f"AND indicator_months.region_id = {spec.region} "
        f"AND indicator_months.month >= {spec.first} AND indicator_months.month <= {spec.last});\n"
    )


def _sqlite_triggers(d: _Dialect) -> None:
    number = 0
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            rows = {"INSERT": ["NEW"], "DELETE": ["OLD"], "UPDATE": ["OLD", "NEW"]}[event]
            parts = [(spec, "") for row in rows for spec in _specs(d, table, row)]
            if table == "occupancy_stays" and event == "UPDATE":
                not_same = f" AND NOT ({STAY_SAME_PLACE.format(o='OLD', n='NEW')})"
                parts = [(_stay_moved(d, "OLD", "NEW"), "")] + [(spec, not_same) for spec, _ in parts]
            for spec, extra in parts:
                number += 1
                guard = _guard(d, spec) + spec.extra + extra
                op.execute(
                    f"CREATE TRIGGER indicators_changed_{number:02d}_{table} AFTER {event} ON {table} "
                    f"FOR EACH ROW WHEN {guard} BEGIN\n  {_sqlite_statements(d, spec, extra)}END"
                )


def upgrade() -> None:
    op.create_table(
        "indicator_versions",
        sa.Column("region_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("section", sa.String(12), primary_key=True),
        sa.Column("first_month", sa.String(7), primary_key=True),
        sa.Column("last_month", sa.String(7), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "indicator_months",
        sa.Column("region_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("section", sa.String(12), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    d = _Dialect(op.get_bind().dialect.name == "postgresql")
    if d.postgres:
        _postgres_triggers(d)
    else:
        _sqlite_triggers(d)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS indicators_changed_{table}_{event} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS indicators_changed_{table}_{event}()")
    else:
        names = bind.execute(
            sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'indicators_changed_%'")
        ).scalars()
        for name in list(names):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("indicator_months")
    op.drop_table("indicator_versions")
