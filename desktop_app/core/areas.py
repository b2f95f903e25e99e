"""True ground areas of class rasters and of polygons, anywhere on Earth.

A pixel of a WGS84 or Web Mercator raster is not ``scale²`` square metres,
and even a UTM pixel is off by the zone's scale factor (up to ~0.2 %), so
areas are computed on the CRS's own ellipsoid:

* Raster pixels: pixel corners are taken to geodetic lon/lat and then to a
  Lambert cylindrical *equal-area* plane (X = a·λ, Y = a·q(φ)/2), where the
  shoelace area of a cell is its ground area. For north-up geographic and
  cylindrical grids (EPSG:4326, Web Mercator) cell edges are meridians and
  parallels, straight in that plane, so the result is exact. Because ground
  area per pixel varies smoothly, it is computed exactly on a coarse lattice
  (cells of a few hundred metres) and interpolated bilinearly to pixels —
  vectorised, block by block, never per pixel in Python.
* Polygons: geodesic area with ``pyproj.Geod`` on WGS84 lon/lat.
"""
from __future__ import annotations

from functools import lru_cache

import math
import threading
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS as ProjCRS
from pyproj import Geod, Transformer

from .classes import NODATA, UNCLASSIFIED, ClassInfo, generic_classes
from .errors import SatSegError
from .jobs import Job, ensure_job
from .raster import iter_windows

WGS84_GEOD = Geod(ellps="WGS84")

# Lattice cells of about this ground size carry the exact area; pixels inside
# are interpolated. Area density changes by < 1e-9 across such a cell.
_LATTICE_GROUND_M = 500.0
_MAX_STEP = 64


# ---------------------------------------------------------------- geodesy


@dataclass(frozen=True)
class _Geodesy:
    transformer: Transformer   # raster CRS -> geodetic lon/lat in degrees (always_xy)
    a: float                   # semi-major axis, metres
    e: float                   # first eccentricity
    geographic: bool
    unit_m: float              # metres per CRS unit (projected) or per degree (geographic, at equator)
    name: str


_local = threading.local()


def _geodesy(wkt: str) -> _Geodesy:
    # Cached per thread: a pyproj Transformer must not be shared between threads
    # (the UI measures areas on worker threads and ROIs on the UI thread).
    cache = getattr(_local, "cache", None)
    if cache is None or len(cache) > 32:
        cache = _local.cache = {}
    if wkt not in cache:
        cache[wkt] = _make_geodesy(wkt)
    return cache[wkt]


def _make_geodesy(wkt: str) -> _Geodesy:
    crs = ProjCRS.from_wkt(wkt)
    geodetic = crs.geodetic_crs
    if geodetic is None:
        raise SatSegError(f"cannot compute ground areas: CRS {crs.name} has no ellipsoid")
    ell = geodetic.ellipsoid
    a, b = ell.semi_major_metre, ell.semi_minor_metre
    e = math.sqrt(max(0.0, 1.0 - (b / a) ** 2))
    if crs.is_geographic:
        unit_m = a * math.pi / 180.0
    else:
        unit_m = float(crs.axis_info[0].unit_conversion_factor or 1.0) if crs.axis_info else 1.0
    t = Transformer.from_crs(crs, geodetic, always_xy=True)
    return _Geodesy(t, a, e, bool(crs.is_geographic), unit_m, ell.name)


def geodesy_for(crs) -> _Geodesy:
    if crs is None:
        raise SatSegError("cannot compute ground areas: the raster has no CRS")
    return _geodesy(crs.to_wkt())


def authalic_y(lat_deg: np.ndarray, a: float, e: float) -> np.ndarray:
    """Northing of Lambert cylindrical equal-area on the ellipsoid: a·q(φ)/2 (metres).

    The ground area between the equator and latitude φ over Δλ radians is Δλ·a·(a·q(φ)/2).
    """
    s = np.sin(np.radians(lat_deg))
    if e < 1e-12:
        return a * s
    es = e * s
    q = (1.0 - e * e) * (s / (1.0 - es * es) - np.log((1.0 - es) / (1.0 + es)) / (2.0 * e))
    return a * q / 2.0


def _lattice(n: int, step: int) -> np.ndarray:
    edges = np.arange(0, n, step)
    return np.append(edges, n)


def _interp_index(centres: np.ndarray, positions: np.ndarray):
    """Indices and weights for linear interpolation (with linear extrapolation at the ends)."""
    if len(centres) == 1:
        z = np.zeros(len(positions), dtype=np.intp)
        return z, z, np.zeros(len(positions))
    i0 = np.clip(np.searchsorted(centres, positions) - 1, 0, len(centres) - 2)
    f = (positions - centres[i0]) / (centres[i0 + 1] - centres[i0])
    return i0, i0 + 1, f


def pixel_areas(transform: Affine, crs, row_off: int, col_off: int, height: int, width: int,
                out: Optional[np.ndarray] = None) -> np.ndarray:
    """Ground area in m² of every pixel of a window of the grid, float64 (height, width).

    ``out``: a float64 buffer of at least height × width to fill (and return, reshaped);
    the same numbers, without allocating (and page-faulting) the full-size temporaries.
    """
    across, ri0, ri1, rf = _area_lattice(transform, crs, row_off, col_off, height, width)
    if out is None:
        return across[ri0] * (1.0 - rf)[:, None] + across[ri1] * rf[:, None]
    a = out.ravel()[:height * width].reshape(height, width)
    b = _scratch(height * width).reshape(height, width)
    np.take(across, ri0, axis=0, out=a)
    a *= (1.0 - rf)[:, None]
    np.take(across, ri1, axis=0, out=b)
    b *= rf[:, None]
    a += b
    return a


def _scratch(n: int) -> np.ndarray:
    """A float64 work buffer of this thread, kept between calls."""
    buf = getattr(_local, "buf", None)
    if buf is None or buf.size < n:
        buf = _local.buf = np.empty(n)
    return buf[:n]


def _area_lattice(transform: Affine, crs, row_off: int, col_off: int, height: int, width: int):
    """(areas across each lattice row, lower and upper lattice row of each pixel row, weight of the upper)."""
    g = geodesy_for(crs)
    north_up = transform.b == 0 and transform.d == 0
    pixel_m = max(abs(transform.a), abs(transform.e), abs(transform.b), abs(transform.d)) * g.unit_m
    step = int(min(_MAX_STEP, max(1, _LATTICE_GROUND_M // max(pixel_m, 1e-9))))
    # At least four lattice cells per axis so small windows interpolate too instead of being flat.
    row_step = min(step, max(1, -(-height // 4)))
    col_step = min(step, max(1, -(-width // 4)))
    if g.geographic and north_up:
        # Area depends on latitude only: exact per row, one cell across.
        row_step, col_step = 1, max(width, 1)
    rows = _lattice(height, row_step)
    cols = _lattice(width, col_step)
    cc, rr = np.meshgrid(cols + col_off, rows + row_off)
    xs = transform.a * cc + transform.b * rr + transform.c
    ys = transform.d * cc + transform.e * rr + transform.f
    lon, lat = g.transformer.transform(xs, ys)
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    # Longitudes relative to the window's middle, so a window across the antimeridian stays continuous.
    ref = lon[lon.shape[0] // 2, lon.shape[1] // 2]
    X = g.a * np.radians((lon - ref + 180.0) % 360.0 - 180.0)
    Y = authalic_y(lat, g.a, g.e)
    # Shoelace over each lattice cell (corners in order 00, 01, 11, 10).
    x0, x1, x2, x3 = X[:-1, :-1], X[:-1, 1:], X[1:, 1:], X[1:, :-1]
    y0, y1, y2, y3 = Y[:-1, :-1], Y[:-1, 1:], Y[1:, 1:], Y[1:, :-1]
    cell = 0.5 * np.abs((x0 * y1 - x1 * y0) + (x1 * y2 - x2 * y1) + (x2 * y3 - x3 * y2) + (x3 * y0 - x0 * y3))
    if not np.isfinite(cell).all():
        raise SatSegError(f"cannot compute ground areas: part of the raster lies outside the valid area of "
                          f"its CRS ({crs.to_string() if hasattr(crs, 'to_string') else crs})")
    npix = np.outer(np.diff(rows), np.diff(cols))
    density = cell / npix                                        # m² per pixel at each cell's centre
    r_centres = (rows[:-1] + rows[1:]) / 2.0 - 0.5
    c_centres = (cols[:-1] + cols[1:]) / 2.0 - 0.5
    ci0, ci1, cf = _interp_index(c_centres, np.arange(width, dtype=float))
    ri0, ri1, rf = _interp_index(r_centres, np.arange(height, dtype=float))
    across = density[:, ci0] * (1.0 - cf) + density[:, ci1] * cf
    return across, ri0, ri1, rf


def geodesic_area(geom_wgs84: shapely.Geometry) -> float:
    """Geodesic area (m²) of a (multi)polygon in WGS84 lon/lat; holes subtracted."""
    if geom_wgs84 is None or geom_wgs84.is_empty:
        return 0.0
    oriented = shapely.orient_polygons(geom_wgs84, exterior_cw=False)
    area, _ = WGS84_GEOD.geometry_area_perimeter(oriented)
    return abs(float(area))


# ---------------------------------------------------------------- area tables


@dataclass
class AreaRow:
    class_name: str
    class_id: int
    color: str
    pixels: int
    area_m2: float
    percent: Optional[float] = None   # share of the classified area; None for unclassified / nodata

    @property
    def area_ha(self) -> float:
        return self.area_m2 / 1e4

    @property
    def area_km2(self) -> float:
        return self.area_m2 / 1e6

    def to_dict(self) -> dict:
        return {
            "class": self.class_name, "class_id": self.class_id, "color": self.color, "pixels": self.pixels,
            "area_m2": self.area_m2, "area_ha": self.area_ha, "area_km2": self.area_km2, "percent": self.percent,
        }


@dataclass
class AreaTable:
    rows: list[AreaRow]               # one per class, in id order, zero-pixel classes included
    unclassified: AreaRow
    nodata: AreaRow
    crs: str
    ellipsoid: str
    warnings: list[str] = field(default_factory=list)

    @property
    def classified_m2(self) -> float:
        return float(sum(r.area_m2 for r in self.rows))

    @property
    def valid_m2(self) -> float:
        return self.classified_m2 + self.unclassified.area_m2

    def all_rows(self) -> list[AreaRow]:
        return [*self.rows, self.unclassified, self.nodata]

    def row(self, class_id: int) -> AreaRow:
        for r in self.all_rows():
            if r.class_id == class_id:
                return r
        raise KeyError(class_id)

    def to_dict(self) -> dict:
        valid = self.valid_m2
        return {
            "crs": self.crs,
            "method": f"ellipsoidal ground area ({self.ellipsoid})",
            "classes": [r.to_dict() for r in self.rows],
            "unclassified": self.unclassified.to_dict(),
            "nodata": self.nodata.to_dict(),
            "totals": {
                "classified_m2": self.classified_m2,
                "unclassified_m2": self.unclassified.area_m2,
                "valid_m2": valid,
                "nodata_m2": self.nodata.area_m2,
                "unclassified_percent_of_valid": (100.0 * self.unclassified.area_m2 / valid) if valid > 0 else 0.0,
            },
            "warnings": list(self.warnings),
        }


# Blocks whose pixel areas are kept between tallies: a small image's (the demo: 4 of 512²).
KEPT_BLOCKS = 4


@lru_cache(maxsize=KEPT_BLOCKS)
def _block_areas(transform: tuple, wkt, row_off: int, col_off: int, height: int, width: int) -> np.ndarray:
    """``pixel_areas`` of a block, kept for the next tally of the same grid: a threshold change
    re-measures the same blocks (the demo scene: 50 ms of the re-decide saved)."""
    from rasterio.crs import CRS

    crs = None if wkt is None else CRS.from_wkt(wkt)
    pa = pixel_areas(Affine(*transform[:6]), crs, row_off, col_off, height, width)
    pa.flags.writeable = False
    return pa


class AreaTally:
    """Pixel counts and ground areas (m², on the CRS's ellipsoid) per value 0..255, added block by block."""

    def __init__(self, transform: Affine, crs) -> None:
        self.transform, self.crs = transform, crs
        self.counts = np.zeros(256, dtype=np.int64)
        self.areas = np.zeros(256, dtype=np.float64)

    def add(self, labels: np.ndarray, row_off: int, col_off: int, keep: bool = True) -> None:
        counts, areas = block_tally(labels, self.transform, self.crs, row_off, col_off, keep)
        self.counts += counts
        self.areas += areas


def block_tally(labels: np.ndarray, transform: Affine, crs, row_off: int, col_off: int,
                keep: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(pixel counts, ground areas in m²) per value 0..255 of one uint8 block at (row_off, col_off).

    ``keep``: the block's pixel areas stay in a small cache for the next tally of the same
    grid (small images); otherwise they are computed into this thread's work buffers.
    Thread-safe: a threshold change tallies the blocks it re-decides in parallel (scale/score_cache.py).
    """
    ids = np.asarray(labels).ravel().astype(np.intp)     # once: bincount would convert it twice
    h, w = labels.shape
    if keep:
        pa = _block_areas(tuple(transform), crs.to_wkt() if crs is not None else None, row_off, col_off, h, w)
    else:
        if getattr(_local, "out", None) is None or _local.out.size < h * w:
            _local.out = np.empty(h * w)
        pa = pixel_areas(transform, crs, row_off, col_off, h, w, out=_local.out)
    return (np.bincount(ids, minlength=256)[:256],
            np.bincount(ids, weights=pa.ravel(), minlength=256)[:256])


def area_table(counts: np.ndarray, areas: np.ndarray, classes: Sequence[ClassInfo], crs) -> AreaTable:
    """The AreaTable of per-value (256,) pixel counts and ground areas (as ``class_areas`` makes it)."""
    geodesy_for(crs)
    return _table(counts, areas, classes, crs)


def _tally(read_block, height: int, width: int, transform: Affine, crs, block: int, job: Job):
    """(counts, areas) of a class raster read block by block with ``read_block(r, c, h, w)``."""
    tally = AreaTally(transform, crs)
    blocks = iter_windows(height, width, block)
    for i, win in enumerate(blocks):
        job.step(i / max(len(blocks), 1), "measuring areas")
        r0, c0 = int(win.row_off), int(win.col_off)
        tally.add(read_block(r0, c0, int(win.height), int(win.width)), r0, c0)
    job.step(1.0, "areas measured")
    return tally.counts, tally.areas


def class_areas(class_array: np.ndarray, transform: Affine, crs, classes: Sequence[ClassInfo],
                block: int = 1024, job: Optional[Job] = None) -> AreaTable:
    """Pixel counts and ground areas per class of a class raster (0 unclassified, 255 nodata).

    Every class in ``classes`` gets a row, with zero if it has no pixel. Ids
    found in the raster but missing from ``classes`` get generic rows and a
    warning rather than vanishing from the totals.
    """
    job = ensure_job(job)
    if class_array.ndim != 2:
        raise SatSegError(f"a class raster has one band; got an array of shape {class_array.shape}")
    geodesy_for(crs)
    height, width = class_array.shape
    counts, areas = _tally(lambda r, c, h, w: np.asarray(class_array[r:r + h, c:c + w]),
                           height, width, transform, crs, block, job)
    return _table(counts, areas, classes, crs)


def class_areas_of_file(path, block: int = 1024, job: Optional[Job] = None) -> AreaTable:
    """``class_areas`` of a class-raster file, read window by window (bounded memory for big rasters)."""
    from rasterio.windows import Window

    from .classes import classes_from_tags
    from .geotiff import CLASSES_TAG
    from .sources.geotiff_source import open_dataset

    job = ensure_job(job)
    with open_dataset(path) as ds:
        if ds.count != 1 or ds.dtypes[0] != "uint8":
            raise SatSegError(f"{path} is not a class raster (expected one uint8 band, found "
                              f"{ds.count} band(s) of {ds.dtypes[0]})")
        if ds.crs is None:
            raise SatSegError(f"{path} has no CRS; cannot compute ground areas")

        def read(r, c, h, w):
            try:
                return ds.read(1, window=Window(c, r, w, h))
            except Exception as exc:
                raise SatSegError(f"cannot read {path}: {exc}") from exc

        counts, areas = _tally(read, ds.height, ds.width, ds.transform, ds.crs, block, job)
        tags = ds.tags()
        present = [int(i) for i in np.nonzero(counts)[0]] if CLASSES_TAG not in tags else ()
        return _table(counts, areas, classes_from_tags(tags, present), ds.crs)


def _table(counts: np.ndarray, areas: np.ndarray, classes: Sequence[ClassInfo], crs) -> AreaTable:
    g = geodesy_for(crs)
    known = {c.id for c in classes}
    present = {int(i) for i in np.nonzero(counts)[0]} - {UNCLASSIFIED, NODATA}
    extra = sorted(present - known)
    warnings = []
    all_classes = list(classes)
    if extra:
        all_classes += generic_classes(extra)
        warnings.append("class ids " + ", ".join(map(str, extra)) + " are in the raster but not in its class list")
    classified = float(sum(areas[c.id] for c in all_classes))
    rows = [
        AreaRow(c.name, c.id, c.color, int(counts[c.id]), float(areas[c.id]),
                100.0 * float(areas[c.id]) / classified if classified > 0 else 0.0)
        for c in sorted(all_classes, key=lambda c: c.id)
    ]
    crs_text = crs.to_string() if hasattr(crs, "to_string") else str(crs)
    return AreaTable(
        rows=rows,
        unclassified=AreaRow("unclassified", UNCLASSIFIED, "", int(counts[UNCLASSIFIED]), float(areas[UNCLASSIFIED])),
        nodata=AreaRow("nodata", NODATA, "", int(counts[NODATA]), float(areas[NODATA])),
        crs=crs_text, ellipsoid=g.name, warnings=warnings,
    )
