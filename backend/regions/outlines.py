"""Municipality outlines for the region map, computed from the address-postcode centroids.

The web app works without internet, so it cannot fetch the official municipal boundaries or a
background map. What the database does hold is the centroid of every address postcode (PC4,
``import-postcodes``). Each centroid gets the part of the plane closest to it (a Voronoi cell),
the cells of one municipality are merged, and the result is cut to the land the postcodes cover
(a disc of a few kilometres around each centroid, holes filled). That follows the real borders
to within a postcode area, which is enough to recognise the region and its municipalities.
Without imported postcodes each municipality's own centre point stands in for its postcodes:
coarser, but still one shape per municipality.

The computation takes tens of milliseconds; its result is kept per region for as long as the
points it was made from stay the same (a new ``import-postcodes`` is seen on the next request).
"""

from __future__ import annotations

import hashlib
import math
import threading
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon, mapping
from sqlmodel import Session, col, select

from backend.regions.models import Municipality, Postcode

# Calculations are done in a local plane (degrees of latitude, and of longitude shrunk by the
# cosine of the latitude), so a disc is round on the ground.
LAND_RADIUS = 0.03  # degrees of latitude, about 3.3 km: half the distance between rural PC4 centres
CENTRE_RADIUS = 0.08  # about 9 km: without postcodes, around each municipality's centre
NEAR_CENTRE_KM = 30  # a postcode of the same municipality name farther away is another one (Hengelo Gld)
SIMPLIFY = 0.0008  # about 90 m: smaller than a postcode area, keeps the answer small
DECIMALS = 5  # about 1 m

_cache: dict[int | None, tuple[str, dict[str, Any]]] = {}
_lock = threading.Lock()


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111.2
    dx = (lon2 - lon1) * 111.2 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


def _points(session: Session, region_id: int | None) -> list[tuple[Municipality, list[tuple[float, float]]]]:
    """Each municipality of the region with the (lat, lon) points that stand for it."""
    query = select(Municipality).order_by(col(Municipality.id))
    if region_id is not None:
        query = query.where(Municipality.region_id == region_id)
    municipalities = list(session.exec(query).all())
    by_name: dict[str, list[tuple[float, float]]] = {}
    names = {m.name for m in municipalities}
    if names:
        rows = session.exec(
            select(Postcode).where(col(Postcode.municipality_name).in_(names)).order_by(col(Postcode.pc4))
        )
        for postcode in rows:
            by_name.setdefault(postcode.municipality_name, []).append((postcode.lat, postcode.lon))
    result = []
    for municipality in municipalities:
        near = [
            p
            for p in by_name.get(municipality.name, [])
            if _km(p[0], p[1], municipality.lat, municipality.lon) <= NEAR_CENTRE_KM
        ]
        result.append((municipality, near or [(municipality.lat, municipality.lon)]))
    return result


def _fingerprint(points: list[tuple[Municipality, list[tuple[float, float]]]]) -> str:
    digest = hashlib.sha256()
    for municipality, own in points:
        digest.update(f"{municipality.id}:{municipality.name}:{own!r};".encode())
    return digest.hexdigest()


def _compute(points: list[tuple[Municipality, list[tuple[float, float]]]]) -> dict[str, Any]:
    if not points:
        return {"type": "FeatureCollection", "features": []}
    all_lats = [lat for _, own in points for lat, _ in own]
    shrink = math.cos(math.radians(sum(all_lats) / len(all_lats)))
    owner: dict[tuple[float, float], int] = {}  # a point in the plane -> index into points
    for index, (_, own) in enumerate(points):
        for lat, lon in own:
            owner.setdefault((lon * shrink, lat), index)
    plane = list(owner)
    # A municipality known only by its centre stands for a larger area than one postcode.
    radius = LAND_RADIUS if len(plane) > len(points) else CENTRE_RADIUS
    land = shapely.unary_union([Point(xy).buffer(radius, quad_segs=8) for xy in plane])
    # Fill the holes between postcode discs: a lake or forest inside the region is still the region.
    land = shapely.unary_union([Polygon(part.exterior) for part in shapely.get_parts(land)])
    if len(plane) >= 2:
        cells = list(shapely.get_parts(shapely.voronoi_polygons(MultiPoint(plane), extend_to=land, ordered=True)))
    else:
        cells = [land]
    pieces: list[list[Any]] = [[] for _ in points]
    for xy, cell in zip(plane, cells, strict=True):
        pieces[owner[xy]].append(cell)
    features = []
    for index, (municipality, _) in enumerate(points):
        shape = shapely.unary_union(pieces[index]).intersection(land).simplify(SIMPLIFY)
        shape = shapely.transform(shape, lambda xy: np.round(xy / [shrink, 1.0], DECIMALS))
        features.append(
            {
                "type": "Feature",
                "id": municipality.id,
                "properties": {
                    "municipality_id": municipality.id,
                    "name": municipality.name,
                    "cbs_code": municipality.cbs_code,
                    "region_id": municipality.region_id,
                    "lat": municipality.lat,
                    "lon": municipality.lon,
                },
                "geometry": mapping(shape),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def municipality_outlines(*, session: Session, region_id: int | None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one (multi)polygon per municipality of the region (every
    region when ``region_id`` is None), in longitude/latitude."""
    points = _points(session, region_id)
    fingerprint = _fingerprint(points)
    cached = _cache.get(region_id)
    if cached and cached[0] == fingerprint:
        return cached[1]
    outlines = _compute(points)
    with _lock:
        _cache[region_id] = (fingerprint, outlines)
    return outlines
