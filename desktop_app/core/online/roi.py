"""Region of interest: parse and check a drawn GeoJSON polygon, pick its output grid.

The output grid is always in the WGS84/UTM zone of the ROI's centre, aligned
to multiples of the pixel size (Sentinel-2 tiles are aligned to 60 m, so 10,
20, 30 and 60 m grids line up with the native pixels and nothing is
resampled needlessly). An ROI drawn across the antimeridian arrives either
with longitudes beyond +/-180 (Leaflet keeps drawing east) or wrapped (179.9
then -179.9); both are unwrapped into one continuous polygon first.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.features import geometry_mask
from shapely.geometry import mapping, shape

from ..errors import SatSegError
from ..geo import WGS84, split_at_antimeridian, transform_geometry, unwrap_longitudes, utm_crs_for

# Past this many output pixels the user is asked for a coarser scale or a
# smaller ROI: 4e8 px is 200 x 200 km at 10 m, already gigabytes on disk.
MAX_GRID_PIXELS = 400_000_000
# One UTM zone is 6 degrees wide; beyond two zones either side the
# projection distortion of a single-zone grid stops being acceptable.
MAX_LON_SPAN_DEG = 12.0
# UTM (and Sentinel-2 L2A coverage) ends at these latitudes.
MAX_ABS_LAT = 84.0

RoiInput = Union[str, Path, dict]


@dataclass(frozen=True)
class Grid:
    """The output pixel grid: CRS, affine transform and size."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def scale(self) -> float:
        return self.transform.a

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        t = self.transform
        return t.c, t.f + self.height * t.e, t.c + self.width * t.a, t.f

    def window_transform(self, x: int, y: int) -> Affine:
        return self.transform @ Affine.translation(x, y)


@dataclass
class Roi:
    """A checked ROI: ``geometry`` is continuous WGS84 (longitudes may pass 180)."""

    geometry: shapely.Geometry
    crs: CRS  # the UTM zone of its centre

    @property
    def crosses_antimeridian(self) -> bool:
        minx, _, maxx, _ = self.geometry.bounds
        return minx < -180 or maxx > 180

    @property
    def projected(self) -> shapely.Geometry:
        """The ROI in its UTM zone (the output CRS)."""
        return transform_geometry(self.geometry, WGS84, self.crs)

    def wgs84_parts(self) -> shapely.Geometry:
        """The ROI in -180..180 longitudes, split at the antimeridian (RFC 7946 s3.1.9)."""
        return split_at_antimeridian(self.geometry)

    def wgs84_geojson(self) -> dict:
        return mapping(self.wgs84_parts())

    def grid(self, scale: float, max_pixels: Optional[int] = MAX_GRID_PIXELS) -> Grid:
        """The UTM grid covering the ROI at ``scale`` metres, snapped outward to the scale.

        ``max_pixels`` guards what this process downloads; None for a grid only Earth Engine
        fills (an export, docs/scale.md)."""
        minx, miny, maxx, maxy = self.projected.bounds
        left, bottom = math.floor(minx / scale) * scale, math.floor(miny / scale) * scale
        right, top = math.ceil(maxx / scale) * scale, math.ceil(maxy / scale) * scale
        width, height = int(round((right - left) / scale)), int(round((top - bottom) / scale))
        if max_pixels is not None and width * height > max_pixels:
            km_w, km_h = (right - left) / 1000, (top - bottom) / 1000
            raise SatSegError(
                f"ROI too large for {scale:g} m pixels: {km_w:.0f} x {km_h:.0f} km needs {width} x {height} px "
                f"(limit {max_pixels / 1e6:.0f} Mpx); choose a coarser scale (20, 30 or 60 m) or a smaller ROI"
            )
        return Grid(self.crs, Affine(scale, 0, left, 0, -scale, top), width, height)

    def mask(self, grid: Grid, x: int = 0, y: int = 0, width: int | None = None, height: int | None = None) -> np.ndarray:
        """True for pixels of the grid window (x, y, width, height) outside the ROI."""
        width = grid.width if width is None else width
        height = grid.height if height is None else height
        return geometry_mask([self.projected], out_shape=(height, width), transform=grid.window_transform(x, y),
                             all_touched=True)

    def key(self) -> str:
        """A stable text form for cache keys (coordinates rounded to ~1 cm)."""
        return shapely.set_precision(self.geometry, 1e-7).wkt


def _load(source: RoiInput) -> dict:
    if isinstance(source, dict):
        return source
    text = str(source)
    if isinstance(source, Path) or not text.lstrip().startswith("{"):
        p = Path(source)
        if not p.exists():
            raise SatSegError(f"ROI file {p} does not exist")
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SatSegError(f"ROI file {p} is not valid GeoJSON: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SatSegError(f"ROI is not valid GeoJSON: {exc}") from exc


def _geometries(obj: dict, where: str) -> list[tuple[str, dict]]:
    kind = obj.get("type") if isinstance(obj, dict) else None
    if kind == "FeatureCollection":
        out = []
        for i, f in enumerate(obj.get("features") or [], start=1):
            out += _geometries(f, f"feature {i}")
        return out
    if kind == "Feature":
        geom = obj.get("geometry")
        if not geom:
            raise SatSegError(f"ROI {where} has no geometry")
        return _geometries(geom, where)
    if kind == "GeometryCollection":
        return [g for sub in obj.get("geometries") or [] for g in _geometries(sub, where)]
    if kind in ("Polygon", "MultiPolygon"):
        return [(where, obj)]
    if kind in ("Point", "MultiPoint", "LineString", "MultiLineString"):
        raise SatSegError(f"ROI {where} is a {kind}; draw a polygon or rectangle")
    raise SatSegError(f"ROI {where} is not a GeoJSON Feature, FeatureCollection or Polygon")


def parse_roi(source: RoiInput) -> Roi:
    """Read a GeoJSON ROI (dict, JSON text or file path) in WGS84 lon/lat.

    Several polygons are merged. Raises SatSegError for points/lines, empty,
    self-intersecting or out-of-range polygons, or an ROI wider than two UTM zones.
    """
    obj = _load(source)
    polys = []
    for where, g in _geometries(obj, "geometry"):
        try:
            geom = unwrap_longitudes(shape(g))
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise SatSegError(f"ROI {where} has malformed coordinates: {exc}") from exc
        if geom.is_empty:
            raise SatSegError(f"ROI {where} is empty")
        if geom.convex_hull.area == 0:  # all points on a line (a bow-tie has area 0 too, but is reported below)
            raise SatSegError(f"ROI {where} is empty or has zero area")
        if not geom.is_valid:
            raise SatSegError(f"ROI {where} is not a valid polygon ({shapely.is_valid_reason(geom)}); redraw it")
        minx, miny, maxx, maxy = geom.bounds
        if minx < -360 or maxx > 360:
            raise SatSegError(f"ROI {where} has longitudes outside -360..360; is it in lon/lat (EPSG:4326)?")
        if miny < -90 or maxy > 90:
            raise SatSegError(f"ROI {where} has latitudes outside -90..90; is it in lon/lat (EPSG:4326)?")
        polys.append(geom)
    if not polys:
        raise SatSegError("ROI has no polygons")
    geom = unwrap_longitudes(shapely.union_all(polys)) if len(polys) > 1 else polys[0]
    minx, miny, maxx, maxy = geom.bounds
    if maxx - minx > MAX_LON_SPAN_DEG:
        raise SatSegError(
            f"ROI spans {maxx - minx:.1f} degrees of longitude (more than {MAX_LON_SPAN_DEG:g}); "
            "split it into smaller regions"
        )
    if max(abs(miny), abs(maxy)) > MAX_ABS_LAT:
        raise SatSegError(f"ROI reaches latitude {max(abs(miny), abs(maxy)):.1f}; Sentinel-2 and UTM stop at {MAX_ABS_LAT:g}")
    c = geom.centroid
    lon = (c.x + 180) % 360 - 180
    return Roi(geom, utm_crs_for(lon, c.y))
