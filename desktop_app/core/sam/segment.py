"""Segment a scene with a fine-tuned model: no sample polygons, only the model's stored mapping.

The scene must have the bands the model needs (its recipe's and its head's);
it is mapped with the model's stored stretch, not one computed from the new
scene, so it looks to SAM exactly as the training scene did (docs/sam.md).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..classes import NODATA, ClassInfo
from ..errors import SatSegError
from ..jobs import Job, ensure_job


def model_classes(meta: dict) -> list[ClassInfo]:
    return [ClassInfo(int(c["id"]), str(c["name"]), str(c["color"])) for c in meta["classes"]]


def check_scene(meta: dict, band_names: Sequence[str], classes: Optional[Sequence[ClassInfo]] = None) -> None:
    """A SatSegError when a scene lacks the model's bands, or ``classes`` (a project's) differ from the model's."""
    from ..raster import normalize_band_name

    have = {normalize_band_name(b).upper() for b in band_names}
    need = list(dict.fromkeys(meta["mapping"]["bands"] + meta["head_bands"]))
    missing = [b for b in need if normalize_band_name(b).upper() not in have]
    if missing:
        raise SatSegError(f"this scene lacks band(s) {', '.join(missing)} that the model needs "
                          f"(it was trained on {', '.join(need)}; the scene has {', '.join(band_names)})")
    if classes is not None:
        mine = [(c.id, c.name) for c in model_classes(meta)]
        theirs = [(c.id, c.name) for c in classes]
        if mine != theirs:
            raise SatSegError("the model was trained on other classes ("
                              + ", ".join(f"{i} {n}" for i, n in mine) + ") than these ("
                              + ", ".join(f"{i} {n}" for i, n in theirs) + ")")


def window_labels(source, net, meta: dict, base, tile, cache, image_id: str, job: Job) -> Optional[np.ndarray]:
    """uint8 class ids of one SAM window, or None when the window is all nodata.

    The one per-window step of both the single-process path and the dask
    workers (core/scale/dask_segment.py), so both give the same pixels.
    """
    from .finetune import _rgb, band_tensor, predict_window
    from .recipe import InputMapping

    mapping = InputMapping.from_dict(meta["mapping"])
    raster = source.read(tile.window)
    if raster.nodata_mask.all():
        return None
    key = cache.key(image_id, tile.key(), mapping.key(), base.key)
    feats = cache.features(base, key, lambda: _rgb(mapping, raster))
    job.check()
    bands = band_tensor(raster, meta["head_bands"], np.asarray(meta["band_stats"], np.float64), base.device)
    return predict_window(net, feats, bands, raster.nodata_mask, [c["id"] for c in meta["classes"]])


def segment_scene(source, net, meta: dict, base, tiles, cache, image_id: str, job: Optional[Job] = None) -> np.ndarray:
    """uint8 class raster of the whole scene (model class ids; nodata 255)."""
    from .windows import stitch

    job = ensure_job(job)
    out = np.full(source.shape, NODATA, np.uint8)
    for i, tile in enumerate(tiles):
        job.step(i / len(tiles), f"window {i + 1}/{len(tiles)}")
        labels = window_labels(source, net, meta, base, tile, cache, image_id, job)
        if labels is not None:
            stitch(out, tile, labels)
    job.step(1.0, "segmented")
    return out


def segment_image(source, image_id: str, model_dir, out, device: Optional[str] = None, window: Optional[int] = None,
                  cache_dir="default", classes: Optional[Sequence[ClassInfo]] = None,
                  job: Optional[Job] = None, client=None, image_path=None) -> tuple[np.ndarray, dict]:
    """Segment ``source`` with the fine-tuned model in ``model_dir`` into ``out``: (class array, summary).

    With a dask ``client``, the windows are computed on its workers, which open
    ``image_path`` themselves (core/scale/dask_segment.py).
    """
    from ..areas import class_areas
    from ..atomic import check_writable
    from ..classes import write_class_raster
    from .features import FeatureCache
    from .recipe import InputMapping
    from .saved import load_model, read_meta
    from .scene import fit_window, output_tags
    from .windows import tile_scene

    job = ensure_job(job)
    start = time.perf_counter()
    out = Path(out)
    check_writable(out)
    meta = read_meta(model_dir)
    warnings: list[str] = []
    check_scene(meta, source.band_names, classes)
    job.step(0.02, "loading the model")
    net, meta, base = load_model(model_dir, device)
    size = fit_window(window or meta["window"], warnings)
    tiles = tile_scene(source.height, source.width, size, min(meta.get("overlap", 128), size // 2 - 1))
    cache = FeatureCache(cache_dir)
    if client is not None:
        from ..scale.dask_segment import dask_segment_scene

        labels = dask_segment_scene(client, image_path, model_dir, device, source.shape, tiles, job.sub(0.05, 0.95))
    else:
        labels = segment_scene(source, net, meta, base, tiles, cache, image_id, job.sub(0.05, 0.95))
        cache.prune()
    transform, crs = source.transform, source.crs
    classes_out = model_classes(meta)
    tags = output_tags("segment", base, InputMapping.from_dict(meta["mapping"]),
                       {"fine_tuned_model": str(Path(model_dir).resolve()), "variant": meta["variant"],
                        "window": size})
    write_class_raster(out, labels, transform, crs, classes_out, tags)
    areas = class_areas(labels, transform, crs, classes_out)
    job.step(1.0, "written")
    return labels, {
        "path": str(out), "device": base.device, "model": base.identity(), "random_init": base.random_init,
        "fine_tuned_model": str(model_dir), "variant": meta["variant"],
        "seconds": round(time.perf_counter() - start, 3), "windows": len(tiles), "window": size,
        "cache_hits": cache.hits, "cache_misses": cache.misses,
        "classes": [{"id": r.class_id, "name": r.class_name, "color": r.color, "pixels": r.pixels,
                     "area_m2": round(r.area_m2, 2)} for r in areas.rows],
        "nodata": areas.nodata.pixels, "warnings": warnings}


def segment_file(image, model_dir, out, device: Optional[str] = None, window: Optional[int] = None,
                 cache_dir="default", classes: Optional[Sequence[ClassInfo]] = None, job: Optional[Job] = None,
                 client=None) -> dict:
    """Segment the image file (or URL) ``image``; with a dask ``client``, window by window on its workers."""
    from ..atomic import check_writable
    from ..classify import bounded_gdal_cache
    from ..sources import open_image
    from .features import image_identity
    from .saved import read_meta

    out = Path(out)
    if out.resolve() == Path(image).resolve():
        raise SatSegError("--out must not be the input image")
    check_writable(out)
    read_meta(model_dir)
    with bounded_gdal_cache(), open_image(image) as source:
        return segment_image(source, image_identity(image), model_dir, out, device, window, cache_dir, classes,
                             job, client, image)[1]
