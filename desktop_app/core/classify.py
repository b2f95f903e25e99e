"""Apply a fitted classifier to a raster: in memory, or block by block from disk.

``classify_image`` reads a window, predicts it and writes it to the class
raster before reading the next, so memory is bounded by the block size (a
few tens of MB at 1024 x 1024 px), not by the image.
"""
from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from rasterio.windows import Window

from .classes import NODATA, UNCLASSIFIED, ClassInfo, class_raster_writer
from .errors import SatSegError
from .geotiff import GeoTiffWriter
from .jobs import Job, ensure_job
from .areas import AreaTally
from .raster import Raster, iter_windows, resolve_bands

# GDAL's block cache defaults to 5 % of RAM (1.2 GB on a 24 GB machine) and
# would keep a whole Sentinel-2 tile once read; a windowed pass needs only a
# few blocks, so the cache is capped while classifying (rasterio takes bytes).
GDAL_CACHE_BYTES = 256 * 2 ** 20


def bounded_gdal_cache(nbytes: int = GDAL_CACHE_BYTES):
    """Context manager capping GDAL's block cache; wrap opening *and* processing a big image in it."""
    import rasterio

    # Images read over HTTP(S) (a COG URL): every request has a deadline and a few retries.
    return rasterio.Env(GDAL_CACHEMAX=int(nbytes), GDAL_HTTP_TIMEOUT=30, GDAL_HTTP_MAX_RETRY=3,
                        GDAL_HTTP_RETRY_DELAY=1, GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR")


@dataclass
class ClassifySummary:
    classes: list[ClassInfo]
    pixels: dict[int, int]            # class id -> pixel count
    area_m2: dict[int, float]         # class id -> area in m²
    unclassified: int
    nodata: int
    seconds: float
    path: Optional[str] = None
    method: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "path": self.path, "method": self.method,
            "classes": [{"id": c.id, "name": c.name, "color": c.color, "pixels": self.pixels.get(c.id, 0),
                         "area_m2": round(self.area_m2.get(c.id, 0.0), 2)} for c in self.classes],
            "unclassified": self.unclassified, "nodata": self.nodata,
            "seconds": round(self.seconds, 3), "warnings": list(self.warnings),
        }


def _band_indexes(band_names: list[str], clf) -> Optional[list[int]]:
    """Positions of the classifier's bands in an image; None when they are all bands in order."""
    idx = resolve_bands(band_names, clf.band_names)
    return None if idx == list(range(len(band_names))) else idx


def classify_raster(raster: Raster, clf, thresholds=None, with_scores: bool = False):
    """uint8 (rows, cols) class ids for an in-memory Raster; 255 where nodata, 0 where rejected.

    ``with_scores``: (labels, float32 winning scores with NaN on nodata).
    """
    idx = _band_indexes(raster.band_names, clf)
    data = raster.data if idx is None else raster.data[idx]
    out = np.full(raster.shape, NODATA, np.uint8)
    scores = np.full(raster.shape, np.nan, np.float32) if with_scores else None
    valid = ~raster.nodata_mask
    n_valid = int(valid.sum())
    if n_valid == 0:
        return (out, scores) if with_scores else out
    if n_valid == valid.size:
        # No nodata: classify the block as a (bands, n) view, no copy.
        got = clf.predict_cols(data.reshape(data.shape[0], -1), thresholds, with_scores=with_scores)
        if with_scores:
            out[:], scores[:] = got[0].reshape(raster.shape), got[1].reshape(raster.shape)
        else:
            out[:] = got.reshape(raster.shape)
    else:
        got = clf.predict_cols(data[:, valid], thresholds, with_scores=with_scores)
        if with_scores:
            out[valid], scores[valid] = got
        else:
            out[valid] = got
    return (out, scores) if with_scores else out


def classify_blocks(image, clf, thresholds=None, block: int = 1024,
                    job: Optional[Job] = None, with_scores: bool = False) -> Iterator[tuple[Window, np.ndarray]]:
    """``(window, class ids)`` block by block, row-major, for an ImageSource or an in-memory Raster.

    ``with_scores``: ``(window, (class ids, winning scores))`` (see ``classify_raster``).

    Only the classifier's bands are read; progress and Cancel are checked between blocks.
    Arguments are checked at the call, before any block is read.
    """
    job = ensure_job(job)
    if block < 64:
        raise SatSegError("block size must be at least 64 pixels")
    clf.threshold_array(thresholds)
    if isinstance(image, Raster):
        read = image.window     # a view; classify_raster picks the bands
    else:
        names = [image.band_names[i] for i in resolve_bands(image.band_names, clf.band_names)]

        def read(w):
            return image.read(w, bands=names)
    return _blocks(iter_windows(image.height, image.width, block), read, clf, thresholds, job, with_scores)


def _blocks(windows, read, clf, thresholds, job: Job, with_scores: bool = False):
    for i, w in enumerate(windows):
        job.step(i / len(windows), f"classifying block {i + 1}/{len(windows)}")
        yield w, classify_raster(read(w), clf, thresholds, with_scores)
    job.step(1.0, "classified")


def classify_array(image, clf, thresholds=None, block: int = 1024, job: Optional[Job] = None) -> np.ndarray:
    """The whole uint8 class array of ``image`` (see :func:`classify_blocks`)."""
    out = np.empty((image.height, image.width), np.uint8)
    for w, labels in classify_blocks(image, clf, thresholds, block, job):
        out[w.toslices()] = labels
    return out


def classify_image(source, clf, out_path, thresholds=None, block: int = 1024, job: Optional[Job] = None,
                   extra_tags: Optional[dict] = None, scores_path=None, blocks=None) -> ClassifySummary:
    """Classify an ImageSource block by block into a class GeoTIFF at ``out_path``.

    ``blocks``: classified ``(window, labels)`` pairs computed elsewhere, in any
    order (the dask path, ``core/scale/dask_classify.py``); default: classify here.

    ``scores_path``: also a float32 GeoTIFF of each pixel's winning score (NaN =
    nodata). Files appear only when complete (atomic write); on cancel or error
    nothing is left behind.
    """
    start = time.perf_counter()
    if blocks is None:
        blocks = classify_blocks(source, clf, thresholds, block, job, with_scores=scores_path is not None)
    tally = AreaTally(source.transform, source.crs)
    tags = {"SATSEG_METHOD": clf.name}
    tags.update(extra_tags or {})
    with bounded_gdal_cache(), ExitStack() as stack:
        writer = stack.enter_context(class_raster_writer(
            out_path, width=source.width, height=source.height, transform=source.transform, crs=source.crs,
            classes=clf.classes, extra_tags=tags))
        score_writer = None if scores_path is None else stack.enter_context(GeoTiffWriter(
            scores_path, width=source.width, height=source.height, count=1, dtype="float32",
            transform=source.transform, crs=source.crs, nodata=float("nan"), band_names=["score"],
            tags={"SATSEG_METHOD": clf.name, "SATSEG_SCORE": clf.score_name}))
        for w, labels in blocks:
            if score_writer is not None:
                labels, scores = labels
                score_writer.write(scores, window=w)
            writer.write(labels, window=w)
            tally.add(labels, int(w.row_off), int(w.col_off))
    classes = list(clf.classes)
    summary = ClassifySummary(
        classes, {c.id: int(tally.counts[c.id]) for c in classes}, {c.id: float(tally.areas[c.id]) for c in classes},
        int(tally.counts[UNCLASSIFIED]), int(tally.counts[NODATA]), time.perf_counter() - start,
        str(Path(out_path)), clf.name, list(clf.warnings))
    if summary.nodata == source.width * source.height:
        summary.warnings.append("every pixel of the image is nodata: nothing was classified")
    elif sum(summary.pixels.values()) == 0:
        summary.warnings.append("every valid pixel was rejected by the thresholds (all unclassified): "
                                "loosen the thresholds")
    return summary
