"""Reference geodesy, written from the published formulas and independent of pyproj,
to check the mapping's coordinate conversions.

Transverse Mercator inverse and the OSGB36 → WGS84 Helmert transformation follow
Ordnance Survey, "A guide to coordinate systems in Great Britain" (annexes C and B);
they are accurate to the millimetre within a few degrees of the central meridian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TransverseMercator:
    a: float  # ellipsoid semi-major axis (m)
    b: float  # semi-minor axis (m)
    scale: float  # F0 on the central meridian
    lat0: float  # true origin, degrees
    lon0: float
    false_easting: float
    false_northing: float

    def to_geographic(self, easting: float, northing: float) -> tuple[float, float]:
        """(lat, lon) in degrees on this projection's own ellipsoid."""
        a, b, f0 = self.a, self.b, self.scale
        phi0, lam0 = math.radians(self.lat0), math.radians(self.lon0)
        n = (a - b) / (a + b)
        e2 = (a * a - b * b) / (a * a)

        def meridian_arc(phi: float) -> float:
            d, s = phi - phi0, phi + phi0
            return b * f0 * (
                (1 + n + 5 / 4 * n**2 + 5 / 4 * n**3) * d
                - (3 * n + 3 * n**2 + 21 / 8 * n**3) * math.sin(d) * math.cos(s)
                + (15 / 8 * n**2 + 15 / 8 * n**3) * math.sin(2 * d) * math.cos(2 * s)
                - 35 / 24 * n**3 * math.sin(3 * d) * math.cos(3 * s)
            )

        phi = (northing - self.false_northing) / (a * f0) + phi0
        while abs(northing - self.false_northing - meridian_arc(phi)) >= 1e-5:
            phi += (northing - self.false_northing - meridian_arc(phi)) / (a * f0)
        sin2 = math.sin(phi) ** 2
        nu = a * f0 / math.sqrt(1 - e2 * sin2)
        rho = a * f0 * (1 - e2) / (1 - e2 * sin2) ** 1.5
        eta2 = nu / rho - 1
        t, sec = math.tan(phi), 1 / math.cos(phi)
        vii = t / (2 * rho * nu)
        viii = t / (24 * rho * nu**3) * (5 + 3 * t**2 + eta2 - 9 * t**2 * eta2)
        ix = t / (720 * rho * nu**5) * (61 + 90 * t**2 + 45 * t**4)
        x = sec / nu
        xi = sec / (6 * nu**3) * (nu / rho + 2 * t**2)
        xii = sec / (120 * nu**5) * (5 + 28 * t**2 + 24 * t**4)
        xiia = sec / (5040 * nu**7) * (61 + 662 * t**2 + 1320 * t**4 + 720 * t**6)
        de = easting - self.false_easting
        lat = phi - vii * de**2 + viii * de**4 - ix * de**6
        lon = lam0 + x * de - xi * de**3 + xii * de**5 - xiia * de**7
        return math.degrees(lat), math.degrees(lon)


GRS80 = (6378137.000, 6356752.314140)
AIRY_1830 = (6377563.396, 6356256.909)
WGS84_ELLIPSOID = (6378137.000, 6356752.314245)

# EPSG:25831, ETRS89 / UTM zone 31N (ETRS89 and WGS84 agree to well under a metre; PROJ treats them as equal).
UTM_31N_ETRS89 = TransverseMercator(*GRS80, scale=0.9996, lat0=0, lon0=3, false_easting=500000, false_northing=0)
# EPSG:27700, British National Grid on OSGB36.
BRITISH_NATIONAL_GRID = TransverseMercator(
    *AIRY_1830, scale=0.9996012717, lat0=49, lon0=-2, false_easting=400000, false_northing=-100000
)


def _to_cartesian(lat: float, lon: float, a: float, b: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    e2 = (a * a - b * b) / (a * a)
    nu = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    return nu * math.cos(phi) * math.cos(lam), nu * math.cos(phi) * math.sin(lam), (1 - e2) * nu * math.sin(phi)


def _to_geographic(x: float, y: float, z: float, a: float, b: float) -> tuple[float, float]:
    e2 = (a * a - b * b) / (a * a)
    p = math.hypot(x, y)
    phi = math.atan2(z, p * (1 - e2))
    for _ in range(10):
        nu = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
        phi = math.atan2(z + e2 * nu * math.sin(phi), p)
    return math.degrees(phi), math.degrees(math.atan2(y, x))


def osgb36_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """The OS guide's Helmert parameters (WGS84 → OSGB36: tx -446.448 m, ty +125.157 m,
    tz -542.060 m, s +20.4894 ppm, rx -0.1502", ry -0.2470", rz -0.8421"), all signs reversed."""
    tx, ty, tz = 446.448, -125.157, 542.060
    s = -20.4894e-6
    rx, ry, rz = (math.radians(v / 3600) for v in (0.1502, 0.2470, 0.8421))
    x, y, z = _to_cartesian(lat, lon, *AIRY_1830)
    x2 = tx + (1 + s) * x - rz * y + ry * z
    y2 = ty + rz * x + (1 + s) * y - rx * z
    z2 = tz - ry * x + rx * y + (1 + s) * z
    return _to_geographic(x2, y2, z2, *WGS84_ELLIPSOID)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def dms(degrees: int, minutes: int, seconds: float) -> float:
    return degrees + minutes / 60 + seconds / 3600
