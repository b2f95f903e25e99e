"""Coordinate helpers: the raster CRS, WGS84 (lon/lat) and Web Mercator.

All transformers use always_xy so coordinates are (x, y) = (lon, lat)
everywhere, as GeoJSON and Leaflet expect.
"""
from __future__ import annotations

import threading
from typing import Optional

import numpy as np
import shapely
import shapely.affinity
from pyproj import CRS as ProjCRS
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

from .raster import Raster

WGS84 = CRS.from_epsg(4326)
WEB_MERCATOR = CRS.from_epsg(3857)


def as_crs(crs) -> CRS:
    return crs if isinstance(crs, CRS) else CRS.from_user_input(crs)


_local = threading.local()


def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    # One cache per thread: a pyproj Transformer must not be used from two threads
    # at once (the UI runs core functions on worker threads; sharing one crashed).
    cache = getattr(_local, "cache", None)
    if cache is None or len(cache) > 64:
        cache = _local.cache = {}
    key = (src_wkt, dst_wkt)
    t = cache.get(key)
    if t is None:
        t = cache[key] = Transformer.from_crs(ProjCRS.from_wkt(src_wkt), ProjCRS.from_wkt(dst_wkt), always_xy=True)
    return t


def transformer(src, dst) -> Transformer:
    return _transformer(as_crs(src).to_wkt(), as_crs(dst).to_wkt())


def transform_points(xs, ys, src, dst) -> tuple[np.ndarray, np.ndarray]:
    x, y = transformer(src, dst).transform(np.asarray(xs, float), np.asarray(ys, float))
    return np.asarray(x), np.asarray(y)


def transform_geometry(geom: shapely.Geometry, src, dst) -> shapely.Geometry:
    """Reproject a shapely geometry (vectorised over all its coordinates)."""
    if as_crs(src) == as_crs(dst):
        return geom
    t = transformer(src, dst)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def bounds_to_wgs84(bounds, crs) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a box in ``crs``, densified so curved edges are covered."""
    return transform_bounds(as_crs(crs), WGS84, *bounds, densify_pts=21)


def utm_crs_for(lon: float, lat: float) -> CRS:
    """The WGS84 / UTM zone CRS containing a point (EPSG:326xx north, 327xx south)."""
    zone = int((lon + 180) // 6) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def polygon_parts(geom: Optional[shapely.Geometry]) -> list[shapely.Polygon]:
    """The non-empty polygons in ``geom``, however nested (make_valid, clipping or precision
    snapping can leave lines and points beside them, and collections inside collections)."""
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, shapely.Polygon):
        return [geom]
    if isinstance(geom, (shapely.MultiPolygon, shapely.GeometryCollection)):
        return [p for part in shapely.get_parts(geom) for p in polygon_parts(part)]
    return []


def unwrap_longitudes(geom: shapely.Geometry) -> shapely.Geometry:
    """Make longitudes continuous when a polygon jumps across ±180° (vertices at +179.9 and
    -179.9 would otherwise run round the globe). No SatSeg region spans 180° of longitude,
    so a wider extent means wrapping: move the western longitudes east by 360°."""
    xmin, _, xmax, _ = geom.bounds
    if xmax - xmin <= 180:
        return geom
    return shapely.transform(geom, lambda xy: np.column_stack([np.where(xy[:, 0] < 0, xy[:, 0] + 360, xy[:, 0]),
                                                               xy[:, 1]]))


def split_at_antimeridian(geom: shapely.Geometry) -> shapely.Geometry:
    """Cut a WGS84 geometry with continuous longitudes (they may pass ±180°) at the antimeridian,
    moving every piece back into [-180, 180] (RFC 7946 §3.1.9). Unchanged when it does not cross."""
    if geom.is_empty:
        return geom
    xmin, _, xmax, _ = geom.bounds
    if xmin >= -180 and xmax <= 180:
        return geom
    world = shapely.box(-180, -90, 180, 90)
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        part = shapely.intersection(shapely.affinity.translate(geom, xoff=shift), world)
        pieces.extend(p for p in polygon_parts(part) if p.area > 0)
    return shapely.MultiPolygon(pieces)


def reproject_raster(raster: Raster, dst_crs=WEB_MERCATOR, resampling: Resampling = Resampling.bilinear,
                     max_size: Optional[int] = None) -> Raster:
    """Warp a Raster to another CRS (by default Web Mercator, for the map).

    Nodata stays nodata: the mask is warped with nearest neighbour and
    anything outside the source footprint is nodata too.
    """
    dst_crs = as_crs(dst_crs)
    transform, width, height = calculate_default_transform(
        raster.crs, dst_crs, raster.width, raster.height, *raster.bounds
    )
    if max_size and max(width, height) > max_size:
        f = max(width, height) / max_size
        width, height = max(1, round(width / f)), max(1, round(height / f))
        transform, width, height = calculate_default_transform(
            raster.crs, dst_crs, raster.width, raster.height, *raster.bounds, dst_width=width, dst_height=height
        )
    data = np.zeros((raster.count, height, width), dtype=np.float32)
    src = np.where(raster.nodata_mask[None], np.nan, raster.data).astype(np.float32)
    reproject(src, data, src_transform=raster.transform, src_crs=raster.crs, src_nodata=np.nan,
              dst_transform=transform, dst_crs=dst_crs, dst_nodata=np.nan, resampling=resampling)
    nodata = ~np.isfinite(data).all(axis=0)
    data[:, nodata] = 0
    return Raster(data, transform, dst_crs, list(raster.band_names), nodata, dict(raster.metadata))
