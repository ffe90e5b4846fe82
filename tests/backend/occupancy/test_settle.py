"""The settling of a batch on a group's timeline, in memory, over many generated batches: what it
accepts never over-fills the group at any moment, whatever the order of the events, and what it
refuses for capacity would have over-filled it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.occupancy.models import ADMISSION, DISCHARGE
from backend.occupancy.settle import Item, Stay, settle

T0 = datetime(2025, 1, 1, tzinfo=UTC)
REFS = [f"y{i}" for i in range(6)]


def hour(n: int) -> datetime:
    return T0 + timedelta(hours=n)


@st.composite
def timelines(draw):  # type: ignore[no-untyped-def]
    """Stored stays within the capacity, and a batch of admissions and discharges in any order."""
    capacity = draw(st.integers(1, 3))
    stays: list[Stay] = []
    for n, ref in enumerate(draw(st.lists(st.sampled_from(REFS), unique=True, max_size=4))):
        start = draw(st.integers(0, 20))
        end = draw(st.one_of(st.none(), st.integers(start, 30)))
        stay = Stay(n + 1, ref, "JZ14", hour(start), None if end is None else hour(end), 100 + n, None)
        if end is not None:
            stay.discharge_event = 200 + n
        if all(_present([*stays, stay], hour(h)) <= capacity for h in range(0, 40)):
            stays.append(stay)
    batch = draw(
        st.lists(
            st.tuples(st.sampled_from([ADMISSION, DISCHARGE]), st.sampled_from(REFS), st.integers(0, 40)), max_size=14
        )
    )
    items = [
        Item(index=i, event_id=f"e{i}", kind=kind, at=hour(h), ref=ref, origin="JZ14")
        for i, (kind, ref, h) in enumerate(batch)
    ]
    return capacity, stays, items


def _present(stays: list[Stay], moment: datetime) -> int:
    return sum(1 for s in stays if s.admitted <= moment and (s.discharged is None or s.discharged > moment))


def _final(stays, settlement) -> list[tuple[str, datetime, datetime | None]]:  # type: ignore[no-untyped-def]
    out = []
    for stay in stays:
        if stay in settlement.removed:
            continue
        end = settlement.ends[stay][0] if stay in settlement.ends else stay.discharged
        out.append((stay.ref, stay.admitted, end))
    for new in settlement.new_stays:
        out.append((new.ref, new.admitted, new.discharged))
    return out


def _count(timeline, moment: datetime) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for _, start, end in timeline if start <= moment and (end is None or end > moment))


@settings(max_examples=1000, deadline=None, derandomize=True, database=None)
@given(timelines())
def test_what_a_batch_leaves_never_over_fills_the_group(case) -> None:  # type: ignore[no-untyped-def]
    capacity, stays, items = case
    settlement = settle(capacity, items, stays)
    timeline = _final(stays, settlement)
    moments = sorted({m for _, start, end in timeline for m in (start, end) if m is not None})
    assert all(_count(timeline, m) <= capacity for m in moments), (timeline, capacity)
    # One youth is in the group at most once at any moment.
    for ref in REFS:
        own = sorted(((start, end) for r, start, end in timeline if r == ref), key=lambda s: s[0])
        for (_, end), (start, _) in itertools.pairwise(own):
            assert end is not None and end <= start, own
    # Every event has an outcome; a refusal says why, in Dutch.
    accepted = {s.admission.index for s in settlement.new_stays}
    accepted |= {s.discharge.index for s in settlement.new_stays if s.discharge}
    accepted |= {by.index for _, by in settlement.ends.values() if by is not None}
    assert accepted | set(settlement.refused) == {i.index for i in items}
    assert not accepted & set(settlement.refused)
    # A stay refused for capacity would have over-filled what is left.
    for item in items:
        error = settlement.refused.get(item.index)
        if error is None or error.code != "occupancy_over_capacity":
            continue
        closing = [i for i in items if i.ref == item.ref and i.kind == DISCHARGE and i.at > item.at]
        end = min((i.at for i in closing), default=None)
        with_it = [*timeline, (item.ref, item.at, end)]
        assert any(_count(with_it, m) > capacity for m in [item.at, *(m for m in moments if m >= item.at)])


def test_the_earlier_admission_wins_whatever_the_order_of_the_batch() -> None:
    # Two places: a is present throughout, b leaves at 2.
    stays = [Stay(1, "a", "JZ14", hour(0), None, 1, None), Stay(2, "b", "JZ14", hour(0), hour(2), 2, 3)]
    events = [
        (ADMISSION, "c", 2),  # a complete stay in b's bed
        (DISCHARGE, "c", 8),
        (ADMISSION, "d", 10),  # still open: the bed is e's from 9 to 12, so d does not fit
        (ADMISSION, "e", 9),
        (DISCHARGE, "e", 12),
    ]
    outcomes = set()
    for order in (events, events[::-1], events[2:] + events[:2]):
        items = [
            Item(index=i, event_id=f"{k}-{r}", kind=k, at=hour(h), ref=r, origin="JZ14")
            for i, (k, r, h) in enumerate(order)
        ]
        settlement = settle(2, items, stays)
        outcomes.add(frozenset((items[i].event_id, e.code) for i, e in settlement.refused.items()))
    assert outcomes == {frozenset({("admission-d", "occupancy_over_capacity")})}
