"""Distances on the Earth's surface, for routing field visits and checking check-ins.

Straight-line (great-circle, haversine) distance on a sphere of the Earth's mean radius, and
a road estimate that multiplies it by a road factor (streets are not straight: 1.3 to 1.4 is
typical in cities). Pure: coordinates in, metres out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fairdue.errors import InvalidInput

#: The Earth's mean radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8
#: Coordinates are stored as integer micro-degrees (about 0.1 m of latitude).
MICRO = 1_000_000


@dataclass(frozen=True, slots=True)
class Point:
    """A position in decimal degrees (WGS 84): latitude -90..90, longitude -180..180."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and -90 <= self.lat <= 90):
            raise InvalidInput(f"latitude {self.lat} is not between -90 and 90")
        if not (math.isfinite(self.lon) and -180 <= self.lon <= 180):
            raise InvalidInput(f"longitude {self.lon} is not between -180 and 180")

    @classmethod
    def from_micro(cls, lat_e6: int, lon_e6: int) -> Point:
        return cls(lat_e6 / MICRO, lon_e6 / MICRO)

    @property
    def micro(self) -> tuple[int, int]:
        """(lat, lon) as integer micro-degrees, as stored."""
        return round(self.lat * MICRO), round(self.lon * MICRO)


def parse_point(lat: object, lon: object, *, what: str) -> Point:
    """A point from two texts or numbers, with an error naming `what` when they are bad."""
    try:
        return Point(float(str(lat)), float(str(lon)))
    except ValueError:
        raise InvalidInput(f"{what}: {lat!r}, {lon!r} are not decimal degrees such as 39.9, 116.4"
                           ) from None


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance between two points, in metres."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def road_m(a: Point, b: Point, road_factor: float = 1.0) -> int:
    """Estimated travel distance in whole metres: straight line times `road_factor` (>= 1)."""
    if not road_factor >= 1.0:
        raise InvalidInput(f"a road factor is 1 (straight line) or more, not {road_factor}")
    return round(haversine_m(a, b) * road_factor)


def travel_minutes(distance_m: int, speed_kmh: float) -> int:
    """Whole minutes (rounded up) to cover `distance_m` at `speed_kmh`."""
    if not speed_kmh > 0:
        raise InvalidInput(f"a travel speed must be positive, not {speed_kmh} km/h")
    return math.ceil(distance_m * 60 / (speed_kmh * 1000))
