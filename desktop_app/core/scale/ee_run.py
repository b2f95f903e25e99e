"""`satseg classify-ee`: train and classify inside Earth Engine, fetch the uint8 class raster by tiles.

The imagery request is a ``FetchRequest`` (same ROI, dates, bands, composite,
checks and composite graph as ``satseg fetch``); the class image comes back
through the same computePixels tile fetcher, tile runner and tile cache, one
byte per pixel, and is written with the local class-raster writer (ids,
colours, SATSEG_CLASSES). See docs/scale.md.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Optional

import numpy as np

from ..classes import NODATA, class_raster_writer
from ..errors import SatSegError, advised
from ..jobs import Job, ensure_job
from . import ee_classify as S

# Beyond this many pixels the result is an Earth Engine export, not tiles pulled by this process.
SMALL_MAX_PIXELS = 100_000_000


def parse_ee_thresholds(items, classes):
    """--threshold items -> None, one value, or {class id: value} (class by name or id), as `satseg classify`."""
    from ..classifiers.options import split_threshold_items

    if not items:
        return None
    default, per_class = split_threshold_items(items)
    by_name = {c.name: c.id for c in classes} | {str(c.id): c.id for c in classes}
    per = {}
    for key, v in per_class.items():
        if key not in by_name:
            raise SatSegError(f"--threshold '{key}={v:g}': no class '{key}' in the samples")
        per[by_name[key]] = v
    if not per:
        return default
    return {c.id: per.get(c.id, default) for c in classes if per.get(c.id, default) is not None}


def result_grid(request):
    """The class raster's grid: the ROI's UTM grid at the request's scale. No pixel limit here: an export
    is filled by Earth Engine (``maxPixels`` 1e13); tiles are limited by ``SMALL_MAX_PIXELS``."""
    c = request.checked()
    return c.roi.grid(c.scale, max_pixels=None)


def classify_on_ee(request, samples, method: str, out_path, *, thresholds=None, options: Optional[dict] = None,
                   cache_dir, job: Optional[Job] = None, backoff=None, initialize: bool = True,
                   small_max_pixels: int = SMALL_MAX_PIXELS, export: Optional[str] = None) -> dict:
    """Classify ``request``'s ROI on Earth Engine with ``samples``; write the class GeoTIFF ``out_path``.

    ``export`` ('gs://BUCKET/PREFIX' or 'drive:FOLDER/PREFIX'): start an Earth
    Engine export of the class raster instead (``core/scale/ee_tasks.py``).
    """
    from ..classifiers import make_classifier
    from ..online import earthengine as E
    from ..online.ee_errors import call_with_retries
    from ..online.fetch import _tiles_in_roi
    from ..online.tile_cache import TileCache
    from ..online.tile_runner import Backoff, run_tiles
    from ..online.tiling import plan_tiles

    job = ensure_job(job)
    backoff = backoff or Backoff()
    start = time.perf_counter()
    c = request.checked()
    S.check_method(method, thresholds)
    S.check_samples_in_roi(samples, c.roi)
    clf = make_classifier(method, **(options or {}))    # the method's options, checked the local way
    grid = result_grid(request)
    if export is not None:
        from .ee_tasks import parse_destination

        parse_destination(export)
    elif grid.width * grid.height > small_max_pixels:
        raise SatSegError(advised(
            f"the ROI is {grid.width} x {grid.height} px at {c.scale:g} m, more than "
            f"{small_max_pixels / 1e6:g} MP to pull tile by tile",
            cli="export it with --export gs://BUCKET/PREFIX (or drive:FOLDER/PREFIX), or use a coarser --scale",
            app="tick 'Export the result on Earth Engine' in the Classify on Earth Engine dialog, or choose a "
                "larger Pixel size there"))
    tiles = _tiles_in_roi(c, grid) if export is None else []
    if initialize:
        job.step(0.0, "signing in to Earth Engine")
        E.ensure_session(request.ee_project, request.ee_key_file, request.ee_url, job=job, timeout=c.timeout())
    job.step(0.01, "searching Earth Engine for scenes")
    scenes = E.search_scenes(c.roi, c.start, c.end, request.composite, request.max_cloud, backoff, job,
                             request.ee_project, c.timeout())
    composite = E.build_composite(scenes, c.bands, request.composite, c.roi, c.start, c.end, request.cs_threshold)
    image = S.reflectance(composite, c.bands)
    features = S.sample_features(samples, c.roi)
    crs = grid.crs.to_string()
    fitted = None
    if method in S.STATS_METHODS and not (method == "mahalanobis" and thresholds is None):
        job.step(0.03, "class statistics on Earth Engine")
        info = call_with_retries(lambda: S.stats_graph(image, features, [k.id for k in samples.classes], c.bands,
                                                       c.scale, crs).getInfo(),
                                 "computing class statistics", backoff, job, request.ee_project, c.timeout())
        clf.fit_signatures(S.signatures_from_stats(info, samples.classes, c.bands))
        fitted = clf
    labels = S.finish(S.classifier_graph(image, method, features, c.bands, c.scale, crs, fitted=fitted,
                                         thresholds=thresholds, trees=clf.options.get("trees", 100),
                                         seed=clf.options.get("seed", 0)), image).rename("class")
    tags = {"SATSEG_METHOD": method, "SATSEG_ENGINE": "earthengine", "SATSEG_SCENES": json.dumps(scenes),
            "SATSEG_START": str(c.start), "SATSEG_END": str(c.end), "SATSEG_BANDS": ",".join(c.bands),
            "SATSEG_ROI": json.dumps(c.roi.wgs84_geojson())}
    if export is not None:
        from .ee_tasks import export_task, start_and_record

        task = export_task(labels, E.ee_region(c.roi), grid, export, f"satseg {method} {Path(out_path).stem}",
                           S.MAX_PIXELS)
        record = start_and_record(task, export, out_path, samples.classes, tags)
        job.step(1.0, "export started")
        return {"task": record["id"], "export": export, "out": record["out"], "method": method,
                "engine": "earthengine", "scenes": scenes, "width": grid.width, "height": grid.height,
                "seconds": round(time.perf_counter() - start, 3)}
    ident = json.dumps({"req": c.key(), "method": method, "thr": str(thresholds), "opt": clf.options,
                        "samples": json.dumps(samples.to_geojson(), sort_keys=True)}, sort_keys=True, default=str)
    cache = TileCache(cache_dir, "classify-ee-" + hashlib.sha256(ident.encode()).hexdigest()[:16])
    fetch = E.tile_fetcher(labels, grid, ["class"], backoff, job.sub(0.05, 0.95), request.ee_project, c.timeout(),
                           c.tile_size())
    stats = run_tiles(tiles, cache, fetch, job.sub(0.05, 0.95), workers=request.workers, label="class tile")
    counts = np.zeros(256, np.int64)
    with class_raster_writer(out_path, width=grid.width, height=grid.height, transform=grid.transform, crs=grid.crs,
                             classes=samples.classes, extra_tags=tags) as w:
        requested = {t.key for t in tiles}
        for t in plan_tiles(grid.width, grid.height, c.tile_size()):
            if t.key not in requested:    # entirely outside the ROI: never asked for
                block = np.full((t.height, t.width), NODATA, np.uint8)
            else:
                block = np.asarray(cache.load(t))[0].astype(np.uint8)
                block[c.roi.mask(grid, t.x, t.y, t.width, t.height)] = NODATA
            w.write(block, window=t.window)
            counts += np.bincount(block.ravel(), minlength=256)
    cache.drop_tiles()
    job.step(1.0, "done")
    return {"path": str(Path(out_path)), "method": method, "engine": "earthengine", "scenes": scenes,
            "width": grid.width, "height": grid.height, "tiles": len(tiles), "tiles_fetched": stats.fetched,
            "classes": [{"id": k.id, "name": k.name, "color": k.color, "pixels": int(counts[k.id])}
                        for k in samples.classes],
            "unclassified": int(counts[0]), "nodata": int(counts[NODATA]),
            "seconds": round(time.perf_counter() - start, 3)}
