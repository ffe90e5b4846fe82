"""Indicators of closed months, kept (backend/indicators/monthly.py): the stored rows per region,
section and month, and a version per region, section and range of months that the database
itself raises when a row behind a closed month changes (a month's version is the sum of the
versions of the ranges that hold it: it only ever grows).

Why triggers and not calls in the write paths: every writer (the feed's batches and
corrections, proposals and their lazy expiry, placements, referrals, the demo loader, bulk
imports, a hand-made fix in psql) goes through them, so a kept month can never be older than
the data. Only changes to a month before the current one raise a version (plus a day's margin
for a transaction that spans midnight): the live feed of today writes no extra row.

Revision ID: 0015_indicators_fast
Revises: 0014_notify
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_indicators_fast"
down_revision = "0014_notify"
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


def _bump(d: _Dialect, spec: Spec, only_if: str = "") -> str:
    """Raise the version of the months ``first`` .. ``last`` of one section (if one is closed),
    and drop their kept rows at once (a deleted or corrected youth's figures leave with it)."""
    region, section, first, last, source, where = spec
    condition = f"{first} < {d.closed} AND {region} IS NOT NULL AND {last} IS NOT NULL{where}{only_if}"
    source_sql = f" FROM {source}" if source else ""
    return (
        "INSERT INTO indicator_versions (region_id, section, first_month, last_month, version) "
        f"SELECT DISTINCT {region}, '{section}', {first}, {last}, 1{source_sql} WHERE {condition} "
        "ON CONFLICT (region_id, section, first_month, last_month) "
        "DO UPDATE SET version = indicator_versions.version + 1;\n"
        # The region first, so that nothing is searched when no closed month is touched.
        f"DELETE FROM indicator_months WHERE region_id IN (SELECT {region}{source_sql} WHERE {condition}) "
        f"AND section = '{section}' AND EXISTS (SELECT 1{source_sql} WHERE {condition} "
        f"AND indicator_months.region_id = {region} "
        f"AND indicator_months.month >= {first} AND indicator_months.month <= {last})"
    )


# (region, section, first month, last month, other table joined, condition)
Spec = tuple[str, str, str, str, str, str]


def _specs(d: _Dialect, table: str, row: str) -> list[Spec]:
    """The months a row (``NEW`` or ``OLD``) of ``table`` counts in."""
    if table == "referrals":
        return [
            (f"{row}.region_id", "waiting", *d.moment(f"{row}.waiting_since"), "", ""),
            # A placement's figures read the referral's home, distance limit and needed intensity.
            (
                "p.region_id",
                "placements",
                *d.moment("p.arrived_at"),
                "placements p",
                f" AND p.referral_id = {row}.id",
            ),
        ]
    waiting: Spec = (
        "r.region_id",
        "waiting",
        *d.moment("r.waiting_since"),
        "referrals r",
        f" AND r.id = {row}.referral_id",
    )
    if table == "proposals":
        return [(f"{row}.region_id", "proposals", *d.moment(f"{row}.created_at"), "", ""), waiting]
    if table == "placements":
        return [
            (f"{row}.region_id", "placements", *d.moment(f"{row}.arrived_at"), "", ""),
            waiting,
            # A discharge counts the youth's next placement as a move: every discharge of the
            # referral (this one included) may change.
            (
                "p.region_id",
                "discharges",
                *d.moment("p.discharged_at"),
                "placements p",
                f" AND p.referral_id = {row}.referral_id",
            ),
        ]
    group_region = f"(SELECT g.region_id FROM groups g WHERE g.id = {row}.group_id)"
    if table == "occupancy_census":
        return [(group_region, "occupancy", d.day(f"{row}.day"), d.day(f"{row}.day"), "", "")]
    if table == "occupancy_stays":
        # Nights from the admission to the discharge (open: up to now).
        last = f"CASE WHEN {row}.discharge_day IS NULL THEN '9999-12' ELSE {d.day(f'{row}.discharge_day')} END"
        return [(group_region, "occupancy", d.day(f"{row}.admit_day"), last, "", "")]
    raise ValueError(table)


def _row_bumps(d: _Dialect, table: str, row: str, only_if: str = "") -> list[str]:
    return [_bump(d, spec, only_if) for spec in _specs(d, table, row)]


STAY_SAME_PLACE = "OLD.group_id = NEW.group_id AND OLD.admit_day = NEW.admit_day"


def _stay_moved(d: _Dialect, only_if: str = "") -> str:
    """A stay's update that only moves its discharge (the usual one: a youth leaves) changes the
    nights from the earlier of the two discharge days on (a discharge today: no closed month)."""
    old, new = d.day("OLD.discharge_day"), d.day("NEW.discharge_day")
    first = (
        f"CASE WHEN OLD.discharge_day IS NULL THEN {new} WHEN NEW.discharge_day IS NULL THEN {old} "
        f"WHEN OLD.discharge_day < NEW.discharge_day THEN {old} ELSE {new} END"
    )
    region = "(SELECT g.region_id FROM groups g WHERE g.id = NEW.group_id)"
    moved = f" AND NOT ({d.same('OLD.discharge_day', 'NEW.discharge_day')})"
    return _bump(d, (region, "occupancy", first, "'9999-12'", "", moved), only_if)


def _postgres_triggers(d: _Dialect) -> None:
    for table in TABLES:
        old = ";\n    ".join(_row_bumps(d, table, "OLD"))
        new = ";\n    ".join(_row_bumps(d, table, "NEW"))
        if table == "occupancy_stays":
            body = (
                f"IF TG_OP = 'UPDATE' AND {STAY_SAME_PLACE} THEN\n    {_stay_moved(d)};\n  ELSE\n"
                f"  IF TG_OP IN ('UPDATE', 'DELETE') THEN\n    {old};\n  END IF;\n"
                f"  IF TG_OP IN ('INSERT', 'UPDATE') THEN\n    {new};\n  END IF;\n  END IF;"
            )
        else:
            body = (
                f"IF TG_OP IN ('UPDATE', 'DELETE') THEN\n    {old};\n  END IF;\n"
                f"  IF TG_OP IN ('INSERT', 'UPDATE') THEN\n    {new};\n  END IF;"
            )
        op.execute(
            f"CREATE FUNCTION indicators_changed_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  {body}\n  RETURN NULL;\nEND $$"
        )
        op.execute(
            f"CREATE TRIGGER indicators_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION indicators_changed_{table}()"
        )


def _sqlite_triggers(d: _Dialect) -> None:
    for table in TABLES:
        for event, rows in (("INSERT", ["NEW"]), ("DELETE", ["OLD"]), ("UPDATE", ["OLD", "NEW"])):
            statements = [s for row in rows for s in _row_bumps(d, table, row)]
            if table == "occupancy_stays" and event == "UPDATE":
                statements = [_stay_moved(d, f" AND {STAY_SAME_PLACE}")] + [
                    s for row in rows for s in _row_bumps(d, table, row, f" AND NOT ({STAY_SAME_PLACE})")
                ]
            body = "".join(f"  {s};\n" for s in statements)
            op.execute(
                f"CREATE TRIGGER indicators_changed_{table}_{event.lower()} AFTER {event} ON {table} "
                f"FOR EACH ROW BEGIN\n{body}END"
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
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS indicators_changed ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS indicators_changed_{table}()")
    else:
        for table in TABLES:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS indicators_changed_{table}_{event}")
    op.drop_table("indicator_months")
    op.drop_table("indicator_versions")
