"""The vectorised ranking agrees with the scalar reference (explain) on random data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import INTENSITIES, Group, Weights, Youth, explain, prepare_groups, rank
from solver.schema import CARE_FORMS

TAGS = ["trauma", "autisme", "adhd", "lvb", "hechting"]
letters = st.sampled_from(INTENSITIES[:10])

groups_st = st.builds(
    Group,
    id=st.just(0),
    provider_id=st.integers(1, 4),
    location_id=st.integers(1, 4),
    care_form=st.sampled_from((*CARE_FORMS[:4], "jeugdzorgplus")),
    intensity=letters,
    max_intensity=letters,
    age_min=st.integers(0, 12),
    age_max=st.integers(12, 23),
    gender_policy=st.sampled_from(["gemengd", "jongens", "meisjes"]),
    risk_profiles=st.frozensets(st.sampled_from("ABC"), min_size=1),
    expertise=st.frozensets(st.sampled_from(TAGS)),
    free_places=st.integers(0, 2),
    lat=st.floats(52.0, 52.6),
    lon=st.floats(6.3, 7.0),
    profile_c_present=st.integers(0, 3),
)
youth_st = st.builds(
    Youth,
    id=st.just(1),
    age=st.integers(0, 23),
    gender=st.sampled_from("mvx"),
    lat=st.floats(52.0, 52.6),
    lon=st.floats(6.3, 7.0),
    acceptable_care_forms=st.lists(
        st.sampled_from((*CARE_FORMS[:4], "jeugdzorgplus")),
        min_size=1,
        max_size=3,
        unique=True,
    ).map(tuple),
    required_intensity=letters,
    risk_profile=st.sampled_from("ABC"),
    needs=st.frozensets(st.sampled_from([*TAGS, "onbekend"])),
    secure_authorisation=st.booleans(),
    max_distance_km=st.none() | st.floats(0, 60),
    excluded_provider_ids=st.frozensets(st.integers(1, 4), max_size=1),
)


@settings(max_examples=120, deadline=None)
@given(st.lists(groups_st, min_size=1, max_size=12), youth_st)
def test_rank_matches_explain(groups: list[Group], y: Youth) -> None:
    import dataclasses

    groups = [dataclasses.replace(g, id=i + 1) for i, g in enumerate(groups)]
    w = Weights()
    r = rank(y, prepare_groups(groups), w, limit=len(groups))
    explained = {g.id: explain(y, g, w) for g in groups}
    feasible = {gid for gid, e in explained.items() if e.feasible}
    assert {o.group_id for o in r.options} == feasible
    assert r.feasible_count == len(feasible)
    first = {}
    for _gid, e in explained.items():
        if not e.feasible:
            first[e.failed[0].rule] = first.get(e.failed[0].rule, 0) + 1
    assert {k: v for k, v in r.excluded.items() if v} == first
    for o in r.options:
        e = explained[o.group_id]
        assert o.score == pytest.approx(e.score, abs=1e-9)
        assert o.distance_km == pytest.approx(e.distance_km, abs=1e-3)
        for name, value in e.components.items():
            assert o.components[name] == pytest.approx(value, abs=1e-9)
    assert [o.score for o in r.options] == sorted((o.score for o in r.options), reverse=True)
