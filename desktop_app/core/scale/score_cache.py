"""Per-pixel evaluations kept after a classification, so a threshold change only re-decides.

A classifier's prediction is ``evaluate`` (the arithmetic: distances, likelihoods,
probabilities) then ``decide`` (thresholds -> class ids); see classifiers/base.py.
:func:`classify_cached` runs both block by block, like ``classify_array``, and keeps
every block's :class:`Evaluation`; :meth:`ScoreCache.decide` later applies new
thresholds to the kept evaluations with the classifier's own ``_decide``: nothing is
re-read, nothing is refitted, and the labels are exactly those of a fresh prediction.

Layout (why: docs/performance.md, "Score cache"): block-major, and inside a block
each array as (rows, n) float32 over the block's *valid* pixels only, followed by one
flag byte per pixel (non-finite / unusable); a block with nodata also keeps its valid
mask packed to one bit per pixel. Small results stay in memory; bigger ones go to an
anonymous file in the user cache (deleted by the OS when closed, even after a crash)
and each block is memory-mapped only while it is decided, so memory stays bounded.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Optional

import numpy as np
from rasterio.windows import Window

from ..classes import NODATA
from ..classifiers.base import Evaluation
from ..jobs import Job, ensure_job
from ..raster import Raster, iter_windows, resolve_bands

# Up to this many bytes of evaluations stay in memory (the demo scene: ~20 MB).
IN_MEMORY_BYTES = 256 * 2 ** 20
_NODATA_BIT, _INVALID_BIT = 1, 2


def cache_folder():
    """Where big score caches go: the user's cache, next to the imagery cache (docs/data-folder.md)."""
    from ..paths import data_home

    return data_home() / "cache" / "scores"


@dataclass
class _Block:
    window: Window
    valid: Optional[np.ndarray]        # packed bits of the valid mask; None = every pixel valid
    n: int                             # valid pixels evaluated
    ev: Optional[Evaluation] = None    # in memory
    offset: int = 0                    # on disk: byte offset of the block's segment
    layout: tuple = ()                 # on disk: (name, ndim, rows) of each float32 array


class ScoreCache:
    """The kept evaluations of one classification; ``decide`` gives the class array for new thresholds."""

    def __init__(self, clf, height: int, width: int, nbytes_hint: int, folder=None) -> None:
        self.clf, self.height, self.width = clf, height, width
        self.blocks: list[_Block] = []
        self._file = None
        self._end = 0
        if nbytes_hint > IN_MEMORY_BYTES:
            folder = cache_folder() if folder is None else folder
            os.makedirs(folder, exist_ok=True)
            # Anonymous (already unlinked) file: a scratch area, not a user output, so
            # nothing is ever left half-written in the user's folders.
            self._file = tempfile.TemporaryFile(dir=folder, prefix="satseg-scores-")

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    @property
    def nbytes(self) -> int:
        if self.on_disk:
            return self._end
        return sum(b.ev.rank.nbytes + sum(a.nbytes for a in b.ev.extra.values()) for b in self.blocks)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- building -------------------------------------------------------------
    def add(self, window: Window, valid: Optional[np.ndarray], ev: Evaluation) -> None:
        packed = None if valid is None else np.packbits(valid.ravel())
        if not self.on_disk:
            self.blocks.append(_Block(window, packed, ev.n, ev=ev))
            return
        arrays = [("rank", ev.rank)] + sorted(ev.extra.items())
        offset = self._end
        fd = self._file.fileno()
        for _, a in arrays:
            a = np.ascontiguousarray(a, np.float32)
            self._pwrite(fd, a, self._end)
            self._end += a.nbytes
        self._pwrite(fd, _flags(ev), self._end)
        self._end += ev.n
        layout = tuple((name, a.ndim, 1 if a.ndim == 1 else a.shape[0]) for name, a in arrays)
        self.blocks.append(_Block(window, packed, ev.n, offset=offset, layout=layout))

    @staticmethod
    def _pwrite(fd: int, a: np.ndarray, offset: int) -> None:
        view = memoryview(a).cast("B")
        while view:
            done = os.pwrite(fd, view, offset)
            view, offset = view[done:], offset + done

    def evaluation(self, b: _Block) -> Evaluation:
        """The kept evaluation of one block: its valid pixels only (``b.valid``, packed; None = all)."""
        return self._evaluation(b)

    def _evaluation(self, b: _Block) -> Evaluation:
        if b.ev is not None:
            return b.ev
        mm = np.memmap(self._file, np.uint8, "r", offset=b.offset, shape=(b.n * (4 * sum(r for _, _, r in b.layout) + 1),))
        arrays, pos = {}, 0
        for name, ndim, rows in b.layout:
            a = mm[pos:pos + 4 * rows * b.n].view(np.float32)
            arrays[name] = a if ndim == 1 else a.reshape(rows, b.n)
            pos += 4 * rows * b.n
        flags = mm[pos:pos + b.n]
        rank = arrays.pop("rank")
        nodata = (flags & _NODATA_BIT).astype(bool) if flags.any() else None
        invalid = (flags & _INVALID_BIT).astype(bool) if nodata is not None else None
        return Evaluation(rank, arrays, invalid if invalid is not None and invalid.any() else None,
                          nodata if nodata is not None and nodata.any() else None)

    # -- deciding -------------------------------------------------------------
    def decide_block(self, b: _Block, limits) -> np.ndarray:
        """The (rows, cols) uint8 class ids of one block under ``limits`` (threshold_array)."""
        ev = self._evaluation(b)
        step = self.clf.chunk
        labels = np.empty(b.n, np.uint8)
        for i in range(0, b.n, step):
            part = Evaluation(ev.rank[:, i:i + step], {k: v[..., i:i + step] for k, v in ev.extra.items()},
                              None if ev.invalid is None else ev.invalid[i:i + step],
                              None if ev.nodata is None else ev.nodata[i:i + step])
            labels[i:i + step] = self.clf._decide(part, limits)
        shape = (int(b.window.height), int(b.window.width))
        if b.valid is None:
            return labels.reshape(shape)
        out = np.full(shape, NODATA, np.uint8)
        out[np.unpackbits(b.valid, count=shape[0] * shape[1]).view(bool).reshape(shape)] = labels
        return out

    def decide(self, thresholds=None, job: Optional[Job] = None) -> np.ndarray:
        """The whole uint8 class array under ``thresholds``, block by block on the chunk pool."""
        from ..classifiers.pool import chunk_pool

        job = ensure_job(job)
        limits = self.clf.threshold_array(thresholds)
        out = np.empty((self.height, self.width), np.uint8)

        def work(b: _Block) -> None:
            job.check()
            out[b.window.toslices()] = self.decide_block(b, limits)

        for i, _ in enumerate(chunk_pool().map(work, self.blocks)):
            job.step((i + 1) / len(self.blocks), "applying thresholds")
        return out


def _flags(ev: Evaluation) -> np.ndarray:
    f = np.zeros(ev.n, np.uint8)
    if ev.nodata is not None:
        f[ev.nodata] |= _NODATA_BIT
    if ev.invalid is not None:
        f[ev.invalid] |= _INVALID_BIT
    return f


def _evaluate_block(clf, raster: Raster, idx) -> tuple[Optional[np.ndarray], Evaluation]:
    """(valid mask or None, evaluation of the valid pixels), chunked as ``predict_cols`` chunks."""
    from ..classifiers.base import _concat
    from ..classifiers.pool import _workers, chunk_pool

    data = raster.data if idx is None else raster.data[idx]
    valid = ~raster.nodata_mask
    if valid.all():
        Xt, valid = data.reshape(data.shape[0], -1), None
    else:
        Xt = data[:, valid]
    n = Xt.shape[1]
    starts = range(0, max(n, 1), clf.chunk)
    chunk = (lambda i: clf._evaluate_chunk(Xt[:, i:i + clf.chunk], full=True))
    if clf.parallel_chunks and len(starts) > 1 and _workers() > 1:
        parts = list(chunk_pool().map(chunk, starts))
    else:
        parts = [chunk(i) for i in starts]
    return valid, parts[0] if len(parts) == 1 else _concat(parts)


def classify_cached(image, clf, thresholds=None, block: int = 1024, job: Optional[Job] = None,
                    folder=None) -> tuple[np.ndarray, ScoreCache]:
    """(uint8 class array, ScoreCache) of an ImageSource or in-memory Raster: one read of each pixel.

    The labels equal ``classify_array``'s for the same thresholds; the cache re-decides later.
    """
    job = ensure_job(job)
    clf.threshold_array(thresholds)                      # bad thresholds fail before any read
    names = resolve_bands(image.band_names, clf.band_names)
    idx = None if names == list(range(len(image.band_names))) else names
    rows = clf.n_rows + _extra_rows(clf)
    cache = ScoreCache(clf, image.height, image.width, image.height * image.width * (4 * rows + 1), folder)
    limits = clf.threshold_array(thresholds)
    out = np.full((image.height, image.width), NODATA, np.uint8)
    windows = iter_windows(image.height, image.width, block)
    try:
        for i, w in enumerate(windows):
            job.step(i / len(windows), f"classifying block {i + 1}/{len(windows)}")
            if isinstance(image, Raster):
                raster = image.window(w)
                sel = idx
            else:
                raster = image.read(w, bands=[image.band_names[j] for j in names])
                sel = None
            valid, ev = _evaluate_block(clf, raster, sel)
            cache.add(w, valid, ev)
            out[w.toslices()] = cache.decide_block(cache.blocks[-1], limits)
        job.step(1.0, "classified")
    except BaseException:
        cache.close()
        raise
    return out, cache


def _extra_rows(clf) -> int:
    """Rough size of the method's extra arrays per pixel (only to choose memory or disk)."""
    return clf.n_rows if clf.name == "parallelepiped" else 1
