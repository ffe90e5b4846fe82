"""Great-circle distance, one radius and one formula for the whole service, so that a distance
shown in one screen never differs from the same distance used in another."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlon = math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Points in degrees as unit vectors, shape (..., 3).  Computed once per point, so that many
    distances cost one dot product each (``great_circle_km_from_dot``)."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def great_circle_km_from_dot(dot: FloatArray) -> FloatArray:
    """Vectorised ``great_circle_km`` from dot products of ``unit_vectors``.  Via the chord c
    (c² = 2 - 2·dot, distance 2R·asin(c/2)) rather than acos(dot), which loses precision for
    nearby points."""
    return (2.0 * EARTH_RADIUS_KM) * np.arcsin(np.sqrt(np.clip(0.5 - 0.5 * dot, 0.0, 1.0)))
