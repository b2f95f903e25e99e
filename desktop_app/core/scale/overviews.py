"""Reduced copies of a big image for the map, built once into the user cache (never beside the image).

A map tile of a zoomed-out view covers millions of source pixels; without overviews GDAL
would decompress all of them for every such tile. Images that have no overviews get a small
pyramid here: the image reduced 4×, 16×, 64×… (pixel averages, nodata left out), each level
made from the one before, block by block, so the one full pass reads each pixel once and
memory stays one block. Levels are float32 reflectance GeoTIFFs written through the atomic
writer into ``<data home>/cache/overviews/<key>/``; the key names the image path, size and
modification time, so a changed image gets new levels. docs/performance.md, "Map tiles".
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

import numpy as np
from rasterio.windows import Window

from ..jobs import Job, ensure_job

FACTOR = 4
SMALLEST = 256       # stop when a level's longer side is at most this


def cache_folder() -> Path:
    from ..paths import data_home

    return data_home() / "cache" / "overviews"


def key_for(path: str) -> str:
    st = os.stat(path)
    text = f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def level_plan(width: int, height: int) -> list[int]:
    """Factors of the levels to build (4, 16, 64, ...) down to ~SMALLEST px."""
    out, f = [], FACTOR
    while max(width, height) / (f / FACTOR) > SMALLEST and f <= 4096:
        out.append(f)
        f *= FACTOR
    return out


def existing_levels(path: str, width: int, height: int) -> Optional[list[tuple[int, Path]]]:
    """The built levels of ``path`` as (factor, file), or None when not (all) built yet
    ([] for an image small enough to need none)."""
    folder = cache_folder() / key_for(path)
    levels = [(f, folder / f"x{f}.tif") for f in level_plan(width, height)]
    return levels if all(p.is_file() for _, p in levels) else None


def build_levels(source, job: Optional[Job] = None, block: int = 1024) -> list[tuple[int, Path]]:
    """Build (or find) the reduced levels of an ImageSource; returns (factor, file) per level."""
    from ..geotiff import GeoTiffWriter
    from ..raster import iter_windows

    job = ensure_job(job)
    found = existing_levels(source.path, source.width, source.height)
    if found is not None:
        return found
    folder = cache_folder() / key_for(source.path)
    folder.mkdir(parents=True, exist_ok=True)
    levels, prev, prev_factor = [], source, 1
    plan = level_plan(source.width, source.height)
    for n, f in enumerate(plan):
        step = f // prev_factor
        w, h = -(-source.width // f), -(-source.height // f)
        path = folder / f"x{f}.tif"
        transform = source.transform @ __import__("affine").Affine.scale(f)
        with GeoTiffWriter(path, width=w, height=h, count=source.count, dtype="float32", transform=transform,
                           crs=source.crs, nodata=float("nan"), band_names=list(source.band_names)) as out:
            # Output blocks of block/step px read prev blocks of ``block`` px: aligned, each read once.
            windows = iter_windows(h, w, max(64, block // step))
            for i, ow in enumerate(windows):
                job.step((n + i / len(windows)) / len(plan), f"building map overviews (1:{f})")
                src_w = Window(ow.col_off * step, ow.row_off * step,
                               min(prev.width - ow.col_off * step, ow.width * step),
                               min(prev.height - ow.row_off * step, ow.height * step))
                r = prev.read(src_w)
                out.write(_reduce(r.data, r.nodata_mask, step, int(ow.height), int(ow.width)), window=ow)
        if prev is not source:
            prev.close()
        from ..sources import open_image

        prev, prev_factor = open_image(str(path), check_valid=False), f
        levels.append((f, path))
    if prev is not source:
        prev.close()
    job.step(1.0, "map overviews built")
    return levels


def _reduce(data: np.ndarray, nodata: np.ndarray, step: int, out_h: int, out_w: int) -> np.ndarray:
    """Mean of each step × step cell over valid pixels (NaN where none), shaped (bands, out_h, out_w)."""
    b, h, w = data.shape
    ph, pw = out_h * step - h, out_w * step - w
    if not ph and not pw and not nodata.any():
        # Whole cells, every pixel valid (most blocks of a scene): a plain mean, in float32
        # (pairwise summation of step² values), a third of the time of the masked path below.
        return data.reshape(b, out_h, step, out_w, step).mean(axis=(2, 4), dtype=np.float32)
    valid = ~nodata
    if ph or pw:
        data = np.pad(data, ((0, 0), (0, ph), (0, pw)))
        valid = np.pad(valid, ((0, ph), (0, pw)))
    v = valid.reshape(out_h, step, out_w, step).sum(axis=(1, 3)).astype(np.float32)
    out = np.empty((b, out_h, out_w), np.float32)
    for k in range(b):   # band by band: temporaries stay one band of the block
        s = np.where(valid, data[k], 0).reshape(out_h, step, out_w, step).sum(axis=(1, 3), dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[k] = s / v
    out[:, v == 0] = np.nan
    return out
