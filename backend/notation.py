"""Numbers, dates and moments in Dutch notation, for every sentence the server writes.

One place, so that every message reads the same way as the web app (``frontend/js/ui.js``):
a decimal comma (``11,5``, ``0,76``), a dot between thousands from five digits on (``12.500``,
but ``2100``: a year or a four-digit count reads better without), dates as
``01-01-2026`` and moments in Dutch time as ``01-01-2026 14:05``.

Kept free of imports from the domains, so that ``backend.errors`` and every domain can use it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DUTCH_TIME = ZoneInfo("Europe/Amsterdam")


def number(value: float | int, decimals: int | None = None) -> str:
    """``12500`` -> ``12.500``, ``11.5`` -> ``11,5``, ``number(0.7634, 2)`` -> ``0,76``.

    Without ``decimals`` a whole number is written without decimals (a limit of ``1.0`` reads
    as ``1``) and any other number with as many decimals as it needs, at most four."""
    if isinstance(value, bool):
        raise TypeError("a boolean is no number")
    if decimals is None:
        text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.4f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:,.{decimals}f}"
    if abs(value) < 10_000:
        text = text.replace(",", "")
    # Python writes 12,500.5; Dutch writes 12.500,5.
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def day(value: date) -> str:
    """``2026-01-01`` -> ``01-01-2026`` (a moment is first taken in Dutch time)."""
    if isinstance(value, datetime):
        value = local(value).date()
    return f"{value:%d-%m-%Y}"


def local(value: datetime) -> datetime:
    """A moment in Dutch time (a naive moment is UTC, as the database stores it)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(DUTCH_TIME)


def moment(value: datetime) -> str:
    """A moment in Dutch time: ``01-01-2026 14:05``."""
    return f"{local(value):%d-%m-%Y %H:%M}"
