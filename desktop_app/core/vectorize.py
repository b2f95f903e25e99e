"""Class raster -> polygons per class (rasterio ``features.shapes``).

Options a GIS user expects:

* ``min_area_px``: specks smaller than N pixels are merged into their
  largest neighbour (GDAL sieve, ``small="merge"``) or left out of the
  vector output (``small="drop"``).
* ``simplify_m``: tolerance in ground metres. Patches are simplified as a
  *coverage* (``shapely.coverage_simplify``) in a metric CRS, so neighbouring
  classes keep their shared edges — no gaps, no overlaps — and every polygon
  stays valid.
* holes are kept; one MultiPolygon per class, or one feature per patch.

Geometries stay in the raster CRS; exporters reproject to WGS84.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import shapely
from affine import Affine
from rasterio import features

from .classes import NODATA, UNCLASSIFIED, ClassInfo, generic_classes
from .errors import SatSegError
from .geo import WGS84, as_crs, polygon_parts, transform_geometry, utm_crs_for
from .jobs import Job, ensure_job


@dataclass
class ClassFeature:
    class_id: int
    name: str
    color: str
    geometry: shapely.Geometry          # Polygon or MultiPolygon in the raster CRS
    properties: dict = field(default_factory=dict)


def _metric_crs(transform: Affine, crs, shape) -> tuple[object, float]:
    """(CRS to simplify in, metres per unit). The raster's own CRS if projected in metres-like units
    with little distortion (not Web Mercator); otherwise the UTM zone of the raster's centre."""
    crs = as_crs(crs)
    if crs.is_projected and crs.to_epsg() not in (3857, 3395, 900913):
        return crs, float(crs.linear_units_factor[1])
    col, row = shape[1] / 2.0, shape[0] / 2.0
    cx, cy = transform.a * col + transform.b * row + transform.c, transform.d * col + transform.e * row + transform.f
    lon, lat = transform_geometry(shapely.Point(cx, cy), crs, WGS84).coords[0]
    return utm_crs_for(lon, lat), 1.0


def _polygonize(array: np.ndarray, transform: Affine, mask: Optional[np.ndarray],
                job: Job) -> dict[int, list[shapely.Polygon]]:
    by_class: dict[int, list[shapely.Polygon]] = {}
    for n, (geom, value) in enumerate(features.shapes(array, mask=mask, transform=transform, connectivity=4)):
        if n % 2000 == 0:
            job.check()   # a noisy map can have millions of patches: stay cancellable
        by_class.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    return by_class


def _valid_polygons(geom: shapely.Geometry) -> list[shapely.Polygon]:
    """The polygonal parts of ``geom`` made valid (GDAL can emit rings touching themselves)."""
    if not geom.is_empty and not geom.is_valid:
        geom = shapely.make_valid(geom)
    return polygon_parts(geom)


def vectorize_classes(class_array: np.ndarray, transform: Affine, crs, classes: Sequence[ClassInfo],
                      min_area_px: int = 0, simplify_m: float = 0.0, per_patch: bool = False,
                      small: str = "merge", job: Optional[Job] = None) -> list[ClassFeature]:
    """Polygons of every class present in ``class_array`` (unclassified and nodata are not vectorised)."""
    job = ensure_job(job)
    if small not in ("merge", "drop"):
        raise SatSegError(f"small patches must be 'merge' or 'drop', not {small!r}")
    if min_area_px < 0 or simplify_m < 0:
        raise SatSegError("--min-area and --simplify must not be negative")
    if class_array.ndim != 2:
        raise SatSegError(f"a class raster has one band; got an array of shape {class_array.shape}")
    array = np.ascontiguousarray(class_array, dtype=np.uint8)
    valid = array != NODATA
    if min_area_px > 1 and small == "merge":
        job.step(0.05, "merging small patches")
        # Nodata is masked out so specks never grow into it and it is never filled.
        array = features.sieve(array, size=int(min_area_px), mask=valid, connectivity=4)
        array[~valid] = NODATA
    job.step(0.15, "tracing polygons")
    # When simplifying, unclassified and nodata are traced too so that the whole
    # grid is one coverage and class edges against them stay consistent.
    classes_only = valid & (array != UNCLASSIFIED)
    by_class = _polygonize(array, transform, None if simplify_m > 0 else classes_only, job)
    pixel_area = abs(transform.a * transform.e - transform.b * transform.d)

    if min_area_px > 1 and small == "drop":
        by_class = {k: [p for p in v if p.area / pixel_area >= min_area_px - 1e-6] for k, v in by_class.items()}

    if simplify_m > 0:
        job.step(0.55, "simplifying")
        by_class = _simplify_coverage(by_class, transform, crs, array.shape, simplify_m)

    job.step(0.9, "assembling features")
    by_class.pop(UNCLASSIFIED, None)
    by_class.pop(NODATA, None)
    info = {c.id: c for c in classes}
    missing = sorted(set(by_class) - set(info))
    info.update({c.id: c for c in generic_classes(missing)})
    out: list[ClassFeature] = []
    for class_id in sorted(by_class):
        polys = [q for p in by_class[class_id] for q in _valid_polygons(p)]
        if not polys:
            continue
        c = info[class_id]
        if per_patch:
            out.extend(ClassFeature(class_id, c.name, c.color, p, {"patch": i + 1}) for i, p in enumerate(polys))
        else:
            out.append(ClassFeature(class_id, c.name, c.color, shapely.MultiPolygon(polys)))
    job.step(1.0, "vectorised")
    return out


def _simplify_coverage(by_class: dict[int, list[shapely.Polygon]], transform: Affine, crs, shape,
                       simplify_m: float) -> dict[int, list[shapely.Polygon]]:
    """Simplify all patches together so shared boundaries stay shared."""
    keys = [(k, i) for k, polys in by_class.items() for i in range(len(polys))]
    if not keys:
        return by_class
    geoms = np.array([by_class[k][i] for k, i in keys], dtype=object)
    metric, unit_m = _metric_crs(transform, crs, shape)
    same = as_crs(metric) == as_crs(crs)
    if not same:
        geoms = np.array([transform_geometry(g, crs, metric) for g in geoms], dtype=object)
    simplified = shapely.coverage_simplify(geoms, tolerance=simplify_m / unit_m, simplify_boundary=True)
    if not same:
        simplified = [transform_geometry(g, metric, crs) for g in simplified]
    out: dict[int, list[shapely.Polygon]] = {}
    for (k, _), g in zip(keys, simplified):
        out.setdefault(k, []).extend(_valid_polygons(g))
    return out
