"""Every hard rule with a passing and a failing case; ranking order; exclusion counts."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from solver_testkit import group, youth

from solver import RULE_NAMES, Weights, explain, prepare_groups, rank
from solver.scoring import RULE_REASON

# (rule, group overrides, youth overrides) for a pair that fails exactly that rule
FAILING = [
    ("excluded", {"provider_id": 7}, {"excluded_provider_ids": frozenset({7})}),
    ("excluded", {"id": 9}, {"excluded_group_ids": frozenset({9})}),
    ("care_form", {"care_form": "gezinshuis"}, {}),
    (
        "secure_care",
        {"care_form": "jeugdzorgplus", "max_intensity": "S"},
        {"acceptable_care_forms": ("jeugdzorgplus",)},
    ),
    ("intensity", {"intensity": "B"}, {"required_intensity": "C"}),
    ("intensity", {"intensity": "D", "max_intensity": "C"}, {"required_intensity": "C"}),
    (
        "intensity",
        {"care_form": "kamertraining", "intensity": "C", "max_intensity": "C"},
        {"acceptable_care_forms": ("kamertraining",), "required_intensity": "D"},
    ),
    ("age", {"age_min": 15}, {"age": 14}),
    ("age", {"age_max": 13}, {"age": 14}),
    ("gender", {"gender_policy": "meisjes"}, {"gender": "m"}),
    ("gender", {"gender_policy": "jongens"}, {"gender": "x"}),
    ("risk_profile", {"risk_profiles": frozenset({"A", "B"})}, {"risk_profile": "C"}),
    ("profile_c_limit", {"profile_c_present": 2}, {"risk_profile": "C"}),
    ("max_distance", {"lat": 52.5}, {"max_distance_km": 10.0}),
    ("free_places", {"free_places": 0}, {}),
]
PASSING = [
    ("excluded", {"provider_id": 7}, {"excluded_provider_ids": frozenset({8})}),
    ("care_form", {"care_form": "gezinshuis"}, {"acceptable_care_forms": ("woongroep", "gezinshuis")}),
    (
        "secure_care",
        {"care_form": "jeugdzorgplus", "max_intensity": "S"},
        {"acceptable_care_forms": ("jeugdzorgplus",), "secure_authorisation": True},
    ),
    ("intensity", {"intensity": "E"}, {"required_intensity": "C"}),
    # Family homes and foster care are outside the A–S model: no intensity rule for them.
    (
        "intensity",
        {"care_form": "gezinshuis", "intensity": "A"},
        {"acceptable_care_forms": ("gezinshuis",), "required_intensity": "E"},
    ),
    (
        "intensity",
        {"care_form": "pleegzorg", "intensity": "A"},
        {"acceptable_care_forms": ("pleegzorg",), "required_intensity": "D"},
    ),
    ("age", {"age_min": 14, "age_max": 14}, {"age": 14}),
    ("gender", {"gender_policy": "meisjes"}, {"gender": "v"}),
    ("gender", {"gender_policy": "gemengd"}, {"gender": "x"}),
    ("risk_profile", {"risk_profiles": frozenset({"C"})}, {"risk_profile": "C"}),
    ("profile_c_limit", {"profile_c_present": 1}, {"risk_profile": "C"}),
    ("max_distance", {"lat": 52.25}, {"max_distance_km": 10.0}),
    ("free_places", {"free_places": 1}, {}),
]


@pytest.mark.parametrize(("rule", "g_kw", "y_kw"), FAILING)
def test_rule_fails(rule: str, g_kw: dict, y_kw: dict) -> None:
    g, y = group(**g_kw), youth(**y_kw)
    e = explain(y, g)
    assert [f.rule for f in e.failed] == [rule]
    assert e.failed[0].reason == RULE_REASON[rule]
    r = rank(y, prepare_groups([g]))
    assert r.options == ()
    assert r.excluded[rule] == 1 and r.feasible_count == 0


@pytest.mark.parametrize(("rule", "g_kw", "y_kw"), PASSING)
def test_rule_passes(rule: str, g_kw: dict, y_kw: dict) -> None:
    g, y = group(**g_kw), youth(**y_kw)
    e = explain(y, g)
    assert e.feasible, e.failed
    r = rank(y, prepare_groups([g]))
    assert [o.group_id for o in r.options] == [g.id]
    assert sum(r.excluded.values()) == 0


def test_every_rule_has_a_failing_case() -> None:
    assert {rule for rule, _, _ in FAILING} == set(RULE_NAMES)


def test_explain_lists_every_failed_rule_but_rank_counts_first() -> None:
    g = group(care_form="gezinshuis", age_min=16, free_places=0, gender_policy="meisjes")
    y = youth()
    assert [f.rule for f in explain(y, g).failed] == ["care_form", "age", "gender", "free_places"]
    r = rank(y, prepare_groups([g]))
    assert r.excluded["care_form"] == 1 and sum(r.excluded.values()) == 1


def test_lighter_fitting_intensity_ranks_first() -> None:
    light = group(id=1, intensity="C")
    heavy = group(id=2, intensity="F")
    r = rank(youth(required_intensity="C"), prepare_groups([heavy, light]))
    assert [o.group_id for o in r.options] == [1, 2]
    assert r.options[0].components["intensity"] == 1.0
    assert r.options[1].components["intensity"] == pytest.approx(1 - 3 * 0.15)


def test_nearer_group_ranks_first() -> None:
    far = group(id=1, lat=52.40)
    near = group(id=2, lat=52.25)
    r = rank(youth(), prepare_groups([far, near]))
    assert [o.group_id for o in r.options] == [2, 1]
    assert r.options[0].distance_km < r.options[1].distance_km


def test_need_fit_and_care_form_preference() -> None:
    covers = group(id=1, expertise=frozenset({"trauma", "adhd"}))
    half = group(id=2, expertise=frozenset({"trauma"}))
    second = group(id=3, care_form="gezinshuis", expertise=frozenset({"trauma", "adhd"}))
    y = youth(needs=frozenset({"trauma", "adhd"}), acceptable_care_forms=("woongroep", "gezinshuis"))
    r = rank(y, prepare_groups([half, second, covers]))
    assert [o.group_id for o in r.options] == [1, 3, 2]
    assert r.options[1].components["care_form"] == 0.5
    assert r.options[2].components["need"] == 0.5


def test_road_distance_overrides_haversine() -> None:
    g = group(id=5, lat=52.30)
    y = youth()
    straight = rank(y, prepare_groups([g])).options[0].distance_km
    road = rank(y, prepare_groups([g]), road_km={5: straight * 1.4}).options[0].distance_km
    assert road == pytest.approx(straight * 1.4)
    assert explain(y, g, road_km={(y.id, 5): 3.0}).distance_km == 3.0


def test_expected_free_soon_listed_separately() -> None:
    full_soon = group(id=1, free_places=0, expected_free_date=date(2025, 3, 1))
    full_never = group(id=2, free_places=0)
    full_wrong = group(id=3, free_places=0, care_form="crisis", expected_free_date=date(2025, 3, 1))
    free = group(id=4)
    r = rank(youth(), prepare_groups([full_soon, full_never, full_wrong, free]))
    assert [o.group_id for o in r.options] == [4]
    assert [o.group_id for o in r.expected_free_soon] == [1]
    assert r.expected_free_soon[0].expected_free_date == date(2025, 3, 1)


def test_counts_plus_feasible_equals_groups_and_limit() -> None:
    from solver.synthetic import make_groups, make_youths

    table = prepare_groups(make_groups(3000, seed=3))
    for y in make_youths(40, seed=3, max_distance_km=80.0):
        r = rank(y, table, limit=7)
        assert sum(r.excluded.values()) + r.feasible_count == r.total_groups == 3000
        assert len(r.options) == min(7, r.feasible_count)
        scores = [o.score for o in r.options]
        assert scores == sorted(scores, reverse=True)


def test_weights_change_the_order() -> None:
    near_heavy = group(id=1, intensity="G", lat=52.22)
    far_light = group(id=2, intensity="C", lat=52.60)
    y = youth()
    table = prepare_groups([near_heavy, far_light])
    by_distance = rank(y, table, Weights(need=0, intensity=0.1, distance=0.9, care_form_preference=0))
    by_intensity = rank(y, table, Weights(need=0, intensity=0.9, distance=0.1, care_form_preference=0))
    assert by_distance.options[0].group_id == 1
    assert by_intensity.options[0].group_id == 2


def test_schema_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        group(intensity="T")
    with pytest.raises(ValueError):
        group(care_form="hotel")
    with pytest.raises(ValueError):
        youth(gender="q")
    with pytest.raises(ValueError):
        youth(urgency=9)
    with pytest.raises(ValueError):
        group(free_places=-1)


def test_vectorised_distance_matches_haversine() -> None:
    from solver.geo import great_circle_km
    from solver.rank import distances_km

    rng = np.random.default_rng(1)
    gs = [
        group(id=i, lat=float(a), lon=float(b))
        for i, (a, b) in enumerate(zip(rng.uniform(50.7, 53.5, 200), rng.uniform(3.3, 7.2, 200), strict=True))
    ]
    y = youth()
    d = distances_km(y, prepare_groups(gs))
    ref = [great_circle_km(y.lat, y.lon, g.lat, g.lon) for g in gs]
    assert np.allclose(d, ref, atol=1e-3)


def test_patched_table_without_derived_columns_ranks_like_a_fresh_one() -> None:
    import dataclasses

    from solver.synthetic import make_groups, make_youths

    groups = make_groups(400, seed=8)
    table = prepare_groups(groups)
    changed = [dataclasses.replace(g, free_places=0 if g.free_places else 2) for g in groups]
    free = np.array([g.free_places for g in changed], dtype=np.int64)
    patched = dataclasses.replace(table, groups=tuple(changed), free_places=free, by_form=None)
    fresh = prepare_groups(changed)
    for y in make_youths(15, seed=8):
        a, b = rank(y, patched, limit=5), rank(y, fresh, limit=5)
        assert a.excluded == b.excluded and a.options == b.options
        assert a.expected_free_soon == b.expected_free_soon


def test_a_family_home_fits_any_intensity_fully() -> None:
    """Outside the A–S model a family home is neither too light nor too heavy: its intensity
    component is 1, where a residential group one band heavier than needed loses a step."""
    home = group(id=1, care_form="gezinshuis", intensity="A")
    heavier = group(id=2, care_form="woongroep", intensity="E")
    y = youth(acceptable_care_forms=("woongroep", "gezinshuis"), required_intensity="D")
    ranking = rank(y, prepare_groups([home, heavier]), Weights())
    by_group = {option.group_id: option for option in ranking.options}
    assert by_group[1].components["intensity"] == 1.0
    assert by_group[2].components["intensity"] == pytest.approx(1.0 - Weights().intensity_step_penalty)
