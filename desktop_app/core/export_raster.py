"""GeoTIFF export of a class map (and optionally its per-class scores).

The class map uses the class-raster format of ``core.classes`` (uint8, tiled,
deflate, colour table, ``SATSEG_CLASSES`` tag, nodata 255) on the source grid.
The score raster is float32 with one band per class, named after the class,
NaN where the class map is nodata. Both are written atomically in row strips.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from affine import Affine
from rasterio.windows import Window

from .classes import NODATA, ClassInfo, class_raster_writer
from .errors import SatSegError
from .geotiff import CLASSES_TAG, GeoTiffWriter
from .jobs import Job, ensure_job

_STRIP_ROWS = 512


def export_class_geotiff(path: str | os.PathLike, class_array: np.ndarray, transform: Affine, crs,
                         classes: Sequence[ClassInfo], scores: Optional[np.ndarray] = None,
                         scores_path: Optional[str | os.PathLike] = None,
                         job: Optional[Job] = None) -> dict[str, Path]:
    """Write the class map to ``path`` and, if given, ``scores`` (K, rows, cols) to ``scores_path``."""
    job = ensure_job(job)
    if class_array.ndim != 2:
        raise SatSegError(f"a class map has one band; got an array of shape {class_array.shape}")
    height, width = class_array.shape
    if scores is not None:
        if scores_path is None:
            raise SatSegError("a score raster needs its own output path")
        if scores.ndim != 3 or scores.shape[1:] != class_array.shape or scores.shape[0] != len(classes):
            raise SatSegError(f"the score raster must have one band per class ({len(classes)}) on the class "
                              f"map's grid {height}x{width}; got shape {scores.shape}")
    written: dict[str, Path] = {}
    share = 0.5 if scores is not None else 1.0
    with class_raster_writer(path, width=width, height=height, transform=transform, crs=crs,
                             classes=classes) as w:
        for r0 in range(0, height, _STRIP_ROWS):
            job.step(share * r0 / max(height, 1), "writing class map")
            strip = np.asarray(class_array[r0:r0 + _STRIP_ROWS], dtype=np.uint8)
            w.write(strip, window=Window(0, r0, width, strip.shape[0]))
    written["classes"] = Path(path)
    if scores is not None:
        tags = {CLASSES_TAG: [c.to_dict() for c in classes]}
        with GeoTiffWriter(scores_path, width=width, height=height, count=len(classes), dtype="float32",
                           transform=transform, crs=crs, nodata=float("nan"),
                           band_names=[c.name for c in classes], tags=tags) as w:
            for r0 in range(0, height, _STRIP_ROWS):
                job.step(0.5 + 0.5 * r0 / max(height, 1), "writing class scores")
                strip = np.array(scores[:, r0:r0 + _STRIP_ROWS], dtype=np.float32)
                strip[:, np.asarray(class_array[r0:r0 + _STRIP_ROWS]) == NODATA] = np.nan
                w.write(strip, window=Window(0, r0, width, strip.shape[1]))
        written["scores"] = Path(scores_path)
    job.step(1.0, "GeoTIFF written")
    return written
