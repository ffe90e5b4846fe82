"""Concurrent batches through a real server: the last bed goes to exactly one admission."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx

from tests.servers import running_server


def test_concurrent_admissions_for_the_last_bed(world, settings):
    crisis = world.groups_b[1]  # 4 places
    t0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    headers = world.headers("key_b")
    with running_server(settings) as base_url:
        first = [
            {
                "event_id": f"a{i}",
                "kind": "admission",
                "group_id": crisis,
                "at": (t0 + timedelta(hours=i)).isoformat(),
                "stay_reference": f"y{i}",
                "origin_region_code": "JZ14",
            }
            for i in range(3)
        ]
        assert (
            httpx.post(
                f"{base_url}/api/v1/occupancy/events", json={"events": first}, headers=headers, timeout=30
            ).json()["accepted"]
            == 3
        )
        results: list[dict] = []
        start = threading.Barrier(6)

        def admit(number: int) -> None:
            event = {
                "event_id": f"race{number}",
                "kind": "admission",
                "group_id": crisis,
                "at": (t0 + timedelta(days=1)).isoformat(),
                "stay_reference": f"race{number}",
                "origin_region_code": "JZ07",
            }
            start.wait()
            response = httpx.post(
                f"{base_url}/api/v1/occupancy/events", json={"events": [event]}, headers=headers, timeout=60
            )
            results.append(response.json()["results"][0])

        threads = [threading.Thread(target=admit, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        current = httpx.get(f"{base_url}/api/v1/occupancy/groups/{crisis}", headers=headers, timeout=30).json()
    assert sorted(r["status"] for r in results) == ["accepted"] + ["refused"] * 5
    assert {r["code"] for r in results if r["status"] == "refused"} == {"occupancy_over_capacity"}
    assert current["present"] == 4


def test_concurrent_batches_of_past_stays_fit_the_timeline_once(world, settings):
    """Whole batches checked against the group's timeline: six batches at once, each with a
    complete past stay in a week where one bed is left; exactly one of them gets it."""
    crisis = world.groups_b[1]  # 4 places
    t0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    headers = world.headers("key_b")

    def stay(ref: str, start: datetime, end: datetime) -> list[dict]:
        return [
            {
                "event_id": f"{ref}-a",
                "kind": "admission",
                "group_id": crisis,
                "at": start.isoformat(),
                "stay_reference": ref,
                "origin_region_code": "JZ14",
            },
            {
                "event_id": f"{ref}-d",
                "kind": "discharge",
                "group_id": crisis,
                "at": end.isoformat(),
                "stay_reference": ref,
            },
        ]

    with running_server(settings) as base_url:
        taken = [e for i in range(3) for e in stay(f"y{i}", t0, t0 + timedelta(days=10))]
        first = httpx.post(f"{base_url}/api/v1/occupancy/events", json={"events": taken}, headers=headers, timeout=30)
        assert first.json()["accepted"] == 6
        results: list[list[dict]] = []
        start = threading.Barrier(6)

        def load(number: int) -> None:
            events = stay(f"race{number}", t0 + timedelta(days=2, hours=number), t0 + timedelta(days=5))
            start.wait()
            response = httpx.post(
                f"{base_url}/api/v1/occupancy/events", json={"events": events}, headers=headers, timeout=60
            )
            results.append(response.json()["results"])

        threads = [threading.Thread(target=load, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    statuses = sorted(tuple(r["status"] for r in batch) for batch in results)
    assert statuses == [("accepted", "accepted")] + [("refused", "refused")] * 5
    assert {batch[0]["code"] for batch in results if batch[0]["status"] == "refused"} == {"occupancy_over_capacity"}
