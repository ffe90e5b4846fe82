"""Municipality outlines for the offline region map: one shape per municipality of the caller's
region, built from the postcode centroids, each holding its own postcodes and none of its
neighbour's; without postcodes the municipality centres stand in. Only for a logged-in user."""

from __future__ import annotations

from pathlib import Path

from shapely.geometry import Point, shape

from backend.regions.service import import_postcodes

HEADER = (
    'id,postcode,"woonplaats","alternatieve_schrijfwijzen","gemeente","provincie","netnummer",'
    'latitude,longitude,"soort"'
)
# A few real PC4 centroids of Enschede and Almelo (the world's two municipalities), and one of
# a "Enschede" far away that must not stretch the outline.
POSTCODES = {
    "7511": ("Enschede", 52.2206, 6.8935),
    "7522": ("Enschede", 52.2393, 6.8551),
    "7546": ("Enschede", 52.2096, 6.8050),
    "7548": ("Enschede", 52.1929, 6.8592),
    "7601": ("Almelo", 52.3546, 6.6634),
    "7604": ("Almelo", 52.3660, 6.6353),
    "7608": ("Almelo", 52.3425, 6.6935),
    "1011": ("Enschede", 52.3700, 4.9000),
}


def _write(tmp_path: Path) -> Path:
    lines = [HEADER]
    for number, (pc4, (town, lat, lon)) in enumerate(POSTCODES.items(), start=1):
        lines.append(f'{number},{pc4},"{town}","","{town}","Overijssel","053",{lat},{lon},"Adres"')
    path = tmp_path / "4pp.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _shapes(client, world) -> dict[str, object]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/municipalities/outlines", headers=world.headers("coordinator"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return {f["properties"]["name"]: shape(f["geometry"]) for f in body["features"]}


def test_each_municipality_gets_an_outline_around_its_own_postcodes(client, world, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        import_postcodes(session=session, path=_write(tmp_path))
    shapes = _shapes(client, world)
    assert set(shapes) == {"Enschede", "Almelo"}
    for pc4, (town, lat, lon) in POSTCODES.items():
        if pc4 == "1011":
            continue
        other = "Almelo" if town == "Enschede" else "Enschede"
        assert shapes[town].contains(Point(lon, lat)), pc4
        assert not shapes[other].contains(Point(lon, lat)), pc4
    assert shapes["Enschede"].intersection(shapes["Almelo"]).area < 1e-6  # neighbours, not overlapping
    # The far-away namesake (Amsterdam's coordinates) is left out: the outline stays in Twente.
    west, south, _east, north = shapes["Enschede"].bounds
    assert west > 6.6 and 52.1 < south < north < 52.3


def test_without_postcodes_the_centres_stand_in(client, world) -> None:  # type: ignore[no-untyped-def]
    shapes = _shapes(client, world)
    assert shapes["Enschede"].contains(Point(6.891, 52.218))
    assert shapes["Almelo"].contains(Point(6.659, 52.356))
    assert not shapes["Almelo"].contains(Point(6.891, 52.218))


def test_outlines_need_a_login(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/municipalities/outlines").status_code == 401
