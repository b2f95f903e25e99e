"""Stratified random sample of points for accuracy and area estimation.

Strata are the map classes of a class raster. Allocation rule
(docs/analysis.md, "Sample design"), after Olofsson et al. (2014, §5.1.5):
every stratum first gets ``min(min_per_class, its pixel count)`` points; the
rest of ``total`` is shared in proportion to the strata's mapped areas
(largest-remainder rounding, never more points than pixels). Points are
pixel centres drawn without replacement with numpy's PCG64 from ``seed``.

The GeoJSON (RFC 7946, WGS84) carries the design in a foreign member
``satseg_sample_design``; each point has ``id``, ``stratum`` (map class
name) and ``reference`` (null until labelled).
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import Advice, SatSegError
from ..jobs import Job, ensure_job

DESIGN_KEY = "satseg_sample_design"


def allocate(pixels: np.ndarray, areas: np.ndarray, total: int, min_per_class: int) -> np.ndarray:
    """Points per stratum under the rule above."""
    pixels = np.asarray(pixels, dtype=np.int64)
    areas = np.asarray(areas, dtype=np.float64)
    if total < 1:
        raise SatSegError("--total must be at least 1")
    if min_per_class < 0:
        raise SatSegError("--min-per-class must not be negative")
    if total > pixels.sum():
        more = f"{total} is more than the {int(pixels.sum())} classified pixels of the map"
        raise SatSegError(Advice(f"a sample of {more}: lower 'total' (Stratified sample of points, Tools panel)",
                                 f"--total {more}"))
    base = np.minimum(min_per_class, pixels)
    if base.sum() > total:
        less = (f"{total} is less than {int(base.sum())}, the minimum of {min_per_class} points for each of the "
                f"{int((pixels > 0).sum())} mapped classes")
        raise SatSegError(Advice(f"a sample of {less}: raise 'total' or lower 'at least … per class' (Stratified "
                                 "sample of points, Tools panel)",
                                 f"--total {less}: raise --total or lower --min-per-class"))
    n = base.copy()
    rest = total - int(n.sum())
    while rest > 0:   # a few rounds at most: strata that hit their pixel count hand on their share
        room = pixels - n
        w = np.where(room > 0, areas, 0.0)
        if w.sum() <= 0:
            break
        quota = rest * w / w.sum()
        add = np.minimum(np.floor(quota).astype(np.int64), room)
        left = rest - int(add.sum())
        order = np.argsort(-(quota - np.floor(quota)), kind="stable")
        for k in order:
            if left == 0:
                break
            if add[k] < room[k]:
                add[k] += 1
                left -= 1
        n += add
        rest = total - int(n.sum())
    return n


def design_sample(classes_path, total: int, min_per_class: int = 50, seed: int = 0,
                  job: Optional[Job] = None) -> dict:
    """The sample as a GeoJSON FeatureCollection (dict) with the design in ``satseg_sample_design``."""
    from ..classes import read_class_raster

    array, transform, crs, classes = read_class_raster(classes_path)
    return design_sample_array(array, transform, crs, classes, total, min_per_class, seed, job,
                               map_name=str(Path(classes_path).name))


def design_sample_array(array, transform, crs, classes, total: int, min_per_class: int = 50, seed: int = 0,
                        job: Optional[Job] = None, map_name: str = "") -> dict:
    """``design_sample`` for a class array in memory (the app's current result)."""
    from pyproj import Transformer
    from rasterio.transform import xy

    from ..areas import class_areas

    job = ensure_job(job)
    if crs is None:
        raise SatSegError("the map has no CRS; cannot place points on the ground")
    table = class_areas(array, transform, crs, classes, job=job.sub(0, 0.3))
    rows = [r for r in table.rows]
    pixels = np.array([r.pixels for r in rows])
    areas = np.array([r.area_m2 for r in rows])
    if pixels.sum() == 0:
        raise SatSegError("the map has no classified pixel to sample")
    n = allocate(pixels, areas, total, min_per_class)
    rng = np.random.Generator(np.random.PCG64(seed))
    flat = array.ravel()
    features = []
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    for k, (r, count) in enumerate(zip(rows, n)):
        job.step(0.3 + 0.7 * k / len(rows), f"drawing points for {r.class_name}")
        if count == 0:
            continue
        where = np.flatnonzero(flat == r.class_id)
        pick = np.sort(rng.choice(where.size, size=int(count), replace=False))
        rr, cc = np.divmod(where[pick], array.shape[1])
        xs, ys = xy(transform, rr, cc, offset="center")
        lon, lat = to_wgs84.transform(np.asarray(xs), np.asarray(ys))
        for i in range(len(pick)):
            features.append({"type": "Feature",
                             "geometry": {"type": "Point", "coordinates": [round(float(lon[i]), 8),
                                                                            round(float(lat[i]), 8)]},
                             "properties": {"id": 0, "stratum": r.class_name, "reference": None,
                                            "row": int(rr[i]), "col": int(cc[i])}})
    # Shuffle so labelling in file order does not walk stratum by stratum (less anchoring on the map label).
    order = rng.permutation(len(features))
    features = [features[i] for i in order]
    for i, f in enumerate(features, start=1):
        f["properties"]["id"] = i
    design = {
        "design": "stratified random", "strata": "map classes", "map": map_name,
        "map_crs": crs.to_string(), "total": int(total), "min_per_class": int(min_per_class), "seed": int(seed),
        "allocation_rule": (f"each stratum gets min({min_per_class}, its pixels); the remaining points are shared "
                            "in proportion to mapped area (largest remainder), never more than a stratum's pixels"),
        "allocation": [{"stratum": r.class_name, "class_id": r.class_id, "pixels": int(r.pixels),
                        "mapped_area_m2": round(float(r.area_m2), 2),
                        "weight": round(float(r.area_m2 / table.classified_m2), 8), "points": int(c)}
                       for r, c in zip(rows, n)],
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    job.step(1.0, "sample drawn")
    return {"type": "FeatureCollection", DESIGN_KEY: design, "features": features}


def write_sample(fc: dict, out_path) -> Path:
    from ..atomic import write_text_atomic

    return write_text_atomic(out_path, json.dumps(fc, indent=1) + "\n")
