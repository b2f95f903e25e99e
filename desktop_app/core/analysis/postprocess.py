"""Cleaning a class map: majority filter and sieve by area.

* ``majority_filter``: each pixel takes the most frequent value in the K×K
  window around it (K odd); ties keep the pixel's own value when it is among
  the most frequent, else the smallest id. Nodata (255) neither votes nor
  changes; unclassified (0) votes like a class.
* ``sieve``: connected patches (4-connectivity) smaller than N pixels are
  merged into their largest neighbouring patch (GDAL's sieve, via
  ``rasterio.features.sieve``), or set to unclassified with ``small="drop"``.
  Nodata never grows and is never filled.
* ``sieve_pixels_for_ha``: hectares -> pixels with the map's true mean ground
  pixel area (``core.areas``).

See docs/analysis.md, "Clean maps".
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from rasterio import features
from scipy import ndimage

from ..classes import NODATA, UNCLASSIFIED
from ..errors import SatSegError
from ..jobs import Job, ensure_job


def majority_filter(array: np.ndarray, size: int, block: int = 1024, job: Optional[Job] = None) -> np.ndarray:
    """K×K majority filter of a uint8 class array, block by block with a halo."""
    job = ensure_job(job)
    if size < 1 or size % 2 == 0:
        raise SatSegError(f"the majority window must be an odd number of pixels (3, 5, 7 ...), not {size}")
    array = np.asarray(array, dtype=np.uint8)
    if size == 1:
        return array.copy()
    out = array.copy()
    halo = size // 2
    h, w = array.shape
    blocks = [(r, c) for r in range(0, h, block) for c in range(0, w, block)]
    for i, (r, c) in enumerate(blocks):
        job.step(i / len(blocks), f"majority filter {i + 1}/{len(blocks)}")
        R0, C0 = max(0, r - halo), max(0, c - halo)
        R1, C1 = min(h, r + block + halo), min(w, c + block + halo)
        sub = array[R0:R1, C0:C1]
        res = _majority_block(sub, size)
        rr, cc = r - R0, c - C0
        bh, bw = min(block, h - r), min(block, w - c)
        out[r:r + bh, c:c + bw] = res[rr:rr + bh, cc:cc + bw]
    job.step(1.0, "majority filter done")
    return out


def _majority_block(sub: np.ndarray, size: int) -> np.ndarray:
    values = [int(v) for v in np.unique(sub) if v != NODATA]
    best = np.zeros(sub.shape, np.float32)
    best_val = sub.copy()
    own = np.zeros(sub.shape, np.float32)
    for v in values:   # one pass per class present, never per pixel
        # Counts as box sums of the indicator; 'constant' = pixels outside the map do not vote.
        count = ndimage.uniform_filter((sub == v).astype(np.float32), size, mode="constant") * size * size
        count = np.rint(count)
        better = count > best
        best_val[better] = v
        best = np.maximum(best, count)
        own[sub == v] = count[sub == v]
    keep = (own >= best) | (sub == NODATA)
    return np.where(keep, sub, best_val).astype(np.uint8)


def sieve(array: np.ndarray, min_pixels: int, small: str = "merge") -> np.ndarray:
    """Remove patches smaller than ``min_pixels`` (merge into the largest neighbour, or drop to 0)."""
    if small not in ("merge", "drop"):
        raise SatSegError(f"small patches must be 'merge' or 'drop', not {small!r}")
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if min_pixels <= 1:
        return array.copy()
    valid = array != NODATA
    if small == "merge":
        out = features.sieve(array, size=int(min_pixels), mask=valid, connectivity=4)
        out[~valid] = NODATA
        return out
    out = array.copy()
    for v in np.unique(array):
        if v in (NODATA, UNCLASSIFIED):
            continue
        labels, n = ndimage.label(array == v)
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        tiny = sizes < min_pixels
        tiny[0] = False
        out[tiny[labels]] = UNCLASSIFIED
    return out


def sieve_pixels_for_ha(hectares: float, transform, crs, shape) -> int:
    """Pixels that make ``hectares`` on this grid (mean true ground area of a pixel)."""
    from ..areas import pixel_areas

    if hectares < 0:
        raise SatSegError("--sieve-ha must not be negative")
    if hectares == 0:
        return 0
    h, w = shape
    # The mean ground pixel area from a coarse sample of rows is plenty for a size threshold.
    rows = np.linspace(0, h - 1, min(h, 16)).astype(int)
    mean = float(np.mean([pixel_areas(transform, crs, int(r), 0, 1, w).mean() for r in rows]))
    return max(1, int(np.ceil(hectares * 1e4 / mean)))


def clean_class_array(array: np.ndarray, transform, crs, majority: int = 1, sieve_ha: float = 0.0,
                      sieve_px: int = 0, small: str = "merge", job: Optional[Job] = None) -> tuple[np.ndarray, dict]:
    """Majority filter, then sieve; returns the cleaned array and what was done (for tags and reports)."""
    job = ensure_job(job)
    out = majority_filter(array, majority, job=job.sub(0, 0.7)) if majority > 1 else np.asarray(array, np.uint8)
    px = max(int(sieve_px), sieve_pixels_for_ha(sieve_ha, transform, crs, array.shape) if sieve_ha else 0)
    if px > 1:
        job.step(0.75, "sieving small patches")
        out = sieve(out, px, small)
    job.step(1.0, "cleaned")
    steps = {"majority": int(majority), "sieve_ha": float(sieve_ha), "sieve_pixels": int(px), "small": small,
             "changed_pixels": int(np.count_nonzero(out != array))}
    return out, steps


def postprocess_file(in_path, out_path, majority: int = 1, sieve_ha: float = 0.0, small: str = "merge",
                     job: Optional[Job] = None) -> dict:
    """Clean the class raster at ``in_path`` into a new class raster at ``out_path`` (atomic write)."""
    import json

    from ..atomic import check_writable
    from ..classes import read_class_raster, write_class_raster

    job = ensure_job(job)
    check_writable(out_path)
    array, transform, crs, classes = read_class_raster(in_path)
    if crs is None and sieve_ha:
        raise SatSegError(f"{in_path} has no CRS; cannot measure hectares")
    out, steps = clean_class_array(array, transform, crs, majority, sieve_ha, small=small, job=job.sub(0, 0.9))
    write_class_raster(out_path, out, transform, crs, classes, extra_tags={"SATSEG_POSTPROCESS": json.dumps(steps)})
    job.step(1.0, "written")
    return steps
