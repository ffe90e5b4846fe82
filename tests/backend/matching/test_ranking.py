"""Ranking one referral: components, exclusion counts, expected-free-soon, explanations."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.domain import utcnow
from tests.factories import create_referral, set_free


def test_options_rank_feasible_groups_and_count_every_excluded_group(client, world, db):
    ref = create_referral(client, world)
    response = client.get(f"/api/v1/referrals/{ref['id']}/options?limit=10", headers=world.headers("coordinator"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_groups"] == 4
    assert sum(body["excluded"].values()) + body["feasible_count"] == 4
    # gezinshuis and crisis are not among the acceptable care forms
    assert body["excluded"]["care_form"] == 2 and body["feasible_count"] == 2
    options = body["options"]
    assert [o["group_id"] for o in options] == [world.groups_a[0], world.groups_a[1]]
    best = options[0]
    assert set(best["components"]) == {"need", "intensity", "distance", "care_form"}
    assert best["components"]["need"] == 1.0 and best["components"]["care_form"] == 1.0
    assert best["score"] >= options[1]["score"]
    assert best["distance_km"] < 5 and best["free_places"] == 2 and best["stale"] is False
    assert body["excluded_reasons"]["care_form"].startswith("Zorgvorm")
    # limit may be as large as the number of groups
    everything = client.get(
        f"/api/v1/referrals/{ref['id']}/options?limit=4", headers=world.headers("coordinator")
    ).json()
    assert len(everything["options"]) == 2
    with db.transaction(write=False) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "referral.options")).first()


def test_lighter_fitting_group_wins_and_no_free_bed_is_listed_apart(client, world):
    ref = create_referral(client, world, required_intensity="B", needs=["trauma", "lvb"])
    # The treatment group (G) has no bed now but expects one soon; the living group (E) is full
    # without a date.
    soon = (utcnow() + timedelta(days=5)).date().isoformat()
    set_free(client, world, world.groups_a[1], 0, "provider_a", expected_free_date=soon)
    body = client.get(f"/api/v1/referrals/{ref['id']}/options", headers=world.headers("coordinator")).json()
    assert [o["group_id"] for o in body["options"]] == [world.groups_a[0]]
    assert [o["group_id"] for o in body["expected_free_soon"]] == [world.groups_a[1]]
    assert body["expected_free_soon"][0]["expected_free_date"] == soon
    assert body["excluded"]["free_places"] == 1
    # the ranking follows the live availability: the last bed of the living group goes
    set_free(client, world, world.groups_a[0], 0, "provider_a")
    body = client.get(f"/api/v1/referrals/{ref['id']}/options", headers=world.headers("coordinator")).json()
    assert body["options"] == [] and body["excluded"]["free_places"] == 2
    assert sum(body["excluded"].values()) + body["feasible_count"] == body["total_groups"]


def test_explain_one_group_lists_every_rule_it_fails(client, world):
    ref = create_referral(client, world, required_intensity="C", gender="v")
    url = f"/api/v1/referrals/{ref['id']}/options"
    bad = client.get(f"{url}/{world.groups_b[0]}", headers=world.headers("coordinator")).json()
    assert bad["feasible"] is False
    # gezinshuis: the wrong care form; a family home is outside the A–S model, so its intensity
    # B (lighter than the C needed) is no reason, where it is for a residential group.
    assert [f["rule"] for f in bad["failed_rules"]] == ["care_form"]
    assert all(f["reason"] for f in bad["failed_rules"])
    good = client.get(f"{url}/{world.groups_a[0]}", headers=world.headers("coordinator")).json()
    ranked = client.get(url, headers=world.headers("coordinator")).json()["options"][0]
    assert good["feasible"] is True and good["failed_rules"] == []
    assert abs(good["score"] - ranked["score"]) < 1e-6
    assert good["components"] == ranked["components"]
    assert good["needs_covered"] == ["trauma"]
    assert client.get(f"{url}/999999", headers=world.headers("coordinator")).status_code == 404


def test_ranking_is_for_coordinators_only(client, world):
    ref = create_referral(client, world)
    for who in ("provider_a", "key_a", "viewer", "crisis"):
        assert client.get(f"/api/v1/referrals/{ref['id']}/options", headers=world.headers(who)).status_code == 403


def test_cached_group_table_follows_changes_like_a_fresh_build(client, world, db):
    from backend.matching import adapter

    ref = create_referral(client, world)
    url = f"/api/v1/referrals/{ref['id']}/options"
    client.get(url, headers=world.headers("coordinator"))  # builds the cache
    set_free(client, world, world.groups_a[0], 1, "provider_a")
    set_free(client, world, world.groups_b[1], 0, "provider_b", admitting=False, reason="Personeelstekort")
    body = client.get(url, headers=world.headers("coordinator")).json()
    assert body["options"][0]["free_places"] == 1
    with db.transaction(write=False) as session:
        patched = adapter.region_table(session, world.region_id)
        seq, count, max_id = adapter._cheap_fingerprint(session, world.region_id)
        fresh = adapter._build(session, world.region_id, seq, count, max_id)
    assert patched.seq == fresh.seq
    assert patched.table.groups == fresh.table.groups
    assert patched.meta == fresh.meta
    assert (patched.table.free_places == fresh.table.free_places).all()
    assert (patched.table.no_free_bit == fresh.table.no_free_bit).all()
    # and the solver ranks identically on both (it keeps derived columns of its own)
    import solver
    from backend.referrals.models import Referral

    with db.transaction(write=False) as session:
        youth = adapter.youth_from_referral(session.get(Referral, ref["id"]))
    for form in ("woongroep", "crisis"):
        y = solver.Youth(
            **{
                **{f: getattr(youth, f) for f in youth.__slots__},
                "acceptable_care_forms": (form,),
                "required_intensity": "A",
            }
        )
        assert solver.rank(y, patched.table, limit=10) == solver.rank(y, fresh.table, limit=10)


def test_region_weights_come_from_the_region_settings(client, world, db):
    from backend.regions.models import Region

    ref = create_referral(client, world)
    url = f"/api/v1/referrals/{ref['id']}/options"
    default = client.get(url, headers=world.headers("coordinator")).json()
    assert default["weights"]["need"] == 0.40 and default["weights"]["profile_c_limit"] == 2
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {"matching_weights": {"need": 0.0, "distance": 0.6}, "profile_c_limit": 1}
        session.add(region)
    tuned = client.get(url, headers=world.headers("coordinator")).json()
    assert tuned["weights"]["distance"] == 0.6 and tuned["weights"]["profile_c_limit"] == 1
    best = tuned["options"][0]
    expected = (
        0.6 * best["components"]["distance"]
        + 0.25 * best["components"]["intensity"]
        + 0.15 * best["components"]["care_form"]
    )
    assert abs(best["score"] - expected) < 1e-5
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {"matching_weights": {"afstand": 1}}
        session.add(region)
    broken = client.get(url, headers=world.headers("coordinator"))
    assert broken.status_code == 422 and "afstand" in broken.json()["detail"]
