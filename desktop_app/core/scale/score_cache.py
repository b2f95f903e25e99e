"""Per-pixel evaluations kept after a classification, so a threshold change only re-decides.

A classifier's prediction is ``evaluate`` (the arithmetic: distances, likelihoods,
probabilities) then ``decide`` (thresholds -> class ids); see classifiers/base.py
and classifiers/thresholds.py.
:func:`classify_cached` runs both block by block, like ``classify_array``, and keeps
every block's evaluation; :meth:`ScoreCache.decide` later applies new thresholds to the
kept evaluations: nothing is re-read, nothing is refitted, and the labels are exactly
those of a fresh prediction.

Layout (why: docs/performance.md, "Score cache"): block-major; inside a block, over the
block's *valid* pixels only, the winning row (one byte, which also flags nodata and
unusable pixels), the winning rank (float32), the other rows' ranks (float32, row order
without the winner) and the method's extra arrays; a block with nodata also keeps its
valid mask packed to one bit per pixel. That is exactly the rank array and one flag byte,
rearranged so that a threshold change looks at one row per pixel: where the winner is not
rejected it is the answer (the decide rule takes the best row not rejected), and only the
other pixels are decided again from all their rows with the classifier's own ``_decide``.
Small results stay in memory; bigger ones go to an anonymous file in the user cache
(deleted by the OS when closed, even after a crash) and each block is memory-mapped only
while it is decided, so memory stays bounded.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from rasterio.windows import Window

from ..areas import KEPT_BLOCKS, block_tally
from ..classes import NODATA
from ..classifiers.evaluation import Evaluation
from ..classifiers.rows import argmin_rows
from ..jobs import Job, ensure_job
from ..raster import Raster, iter_windows, resolve_bands

# Up to this many bytes of evaluations stay in memory (the demo scene: ~20 MB).
IN_MEMORY_BYTES = 256 * 2 ** 20
# Codes of the winning-row byte beyond the rows: the pixel is unusable (-> 0) or nodata.
_INVALID, _NODATA = 254, 255
MAX_ROWS = 254


def cache_folder():
    """Where big score caches go: the user's cache, next to the imagery cache (docs/data-folder.md)."""
    from ..paths import data_home

    return data_home() / "cache" / "scores"


@dataclass
class _Block:
    window: Window
    valid: Optional[np.ndarray]        # packed bits of the valid mask; None = every pixel valid
    n: int                             # valid pixels evaluated
    arrays: Optional[dict] = None      # in memory: name -> array
    offset: int = 0                    # on disk: byte offset of the block's segment
    layout: tuple = ()                 # on disk: (name, dtype, rows) of each array; rows 0 = (n,)
    shape: tuple = field(default=())

    def __post_init__(self):
        self.shape = (int(self.window.height), int(self.window.width))


def _split(ev: Evaluation) -> dict:
    """The block's arrays in the kept layout (see the module doc)."""
    rank = ev.rank
    K = rank.shape[0]
    win, wrank = argmin_rows(rank, return_min=True)      # the same winner the decide rule finds
    others = np.empty((K - 1, ev.n), np.float32)
    for j in range(K - 1):                                # row j, or j + 1 once past the winner
        np.copyto(others[j], np.where(win > j, rank[j], rank[j + 1]))
    if ev.invalid is not None:
        win[ev.invalid] = _INVALID
    if ev.nodata is not None:
        win[ev.nodata] = _NODATA
    arrays = {"win": win, "wrank": np.asarray(wrank, np.float32), "others": others}
    arrays.update((k, np.asarray(v, np.float32)) for k, v in sorted(ev.extra.items()))
    return arrays


def _evaluation(arrays: dict, sel) -> Evaluation:
    """The classifier's Evaluation of the pixels ``sel`` (slice or indices) of a block, rank rebuilt."""
    win, wrank = arrays["win"][sel], arrays["wrank"][sel]
    others = arrays["others"][:, sel] if isinstance(sel, slice) else np.take(arrays["others"], sel, axis=1)
    K, m = others.shape[0] + 1, win.shape[0]
    rank = np.empty((K, m), np.float32)
    rank[0] = others[0] if K > 1 else wrank
    for k in range(1, K):       # row k is others[k] before the winner, others[k - 1] after it
        np.copyto(rank[k], others[k - 1])
        if k < K - 1:
            np.copyto(rank[k], others[k], where=win > k)
    usable = win < _INVALID
    rank[win[usable], np.flatnonzero(usable)] = wrank[usable]
    extra = {k: v[..., sel] for k, v in arrays.items() if k not in ("win", "wrank", "others")}
    invalid, nodata = win == _INVALID, win == _NODATA
    return Evaluation(rank, extra, invalid if invalid.any() else None, nodata if nodata.any() else None)


class ScoreCache:
    """The kept evaluations of one classification; ``decide`` gives the class array for new thresholds."""

    def __init__(self, clf, height: int, width: int, nbytes_hint: int, folder=None) -> None:
        from ..errors import SatSegError

        if clf.n_rows > MAX_ROWS:
            raise SatSegError(f"at most {MAX_ROWS} signatures can be classified at once; "
                              f"this classifier has {clf.n_rows}")
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
        return sum(a.nbytes for b in self.blocks for a in b.arrays.values())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- building -------------------------------------------------------------
    def add(self, window: Window, valid: Optional[np.ndarray], ev: Evaluation) -> None:
        packed = None if valid is None else np.packbits(valid.ravel())
        arrays = _split(ev)
        if not self.on_disk:
            self.blocks.append(_Block(window, packed, ev.n, arrays=arrays))
            return
        offset = self._end
        fd = self._file.fileno()
        layout = []
        for name, a in arrays.items():
            self._pwrite(fd, np.ascontiguousarray(a), self._end)
            self._end += a.nbytes
            layout.append((name, a.dtype.str, a.shape[0] if a.ndim == 2 else 0))
        self.blocks.append(_Block(window, packed, ev.n, offset=offset, layout=tuple(layout)))

    @staticmethod
    def _pwrite(fd: int, a: np.ndarray, offset: int) -> None:
        view = memoryview(a).cast("B")
        while view:
            done = os.pwrite(fd, view, offset)
            view, offset = view[done:], offset + done

    def evaluation(self, b: _Block) -> Evaluation:
        """The kept evaluation of one block: its valid pixels only (``b.valid``, packed; None = all)."""
        return _evaluation(self._arrays(b), slice(None))

    def _arrays(self, b: _Block) -> dict:
        if b.arrays is not None:
            return b.arrays
        if b.n == 0:      # nothing valid in the block: nothing to map
            return {name: np.empty((rows, 0) if rows else 0, dt) for name, dt, rows in b.layout}
        size = sum(np.dtype(dt).itemsize * max(rows, 1) * b.n for _, dt, rows in b.layout)
        # A plain ndarray view (it keeps the mapping alive): np.memmap's Python-level
        # __array_finalize__/__array_wrap__ would run, holding the GIL, on every slice and ufunc.
        mm = np.memmap(self._file, np.uint8, "r", offset=b.offset, shape=(size,)).view(np.ndarray)
        arrays, pos = {}, 0
        for name, dt, rows in b.layout:
            nbytes = np.dtype(dt).itemsize * max(rows, 1) * b.n
            a = mm[pos:pos + nbytes].view(dt)
            arrays[name] = a.reshape(rows, b.n) if rows else a
            pos += nbytes
        return arrays

    # -- deciding -------------------------------------------------------------
    def _tables(self, limits):
        """(limits, per-code class id) for ``limits`` (threshold_array)."""
        ids = np.zeros(256, np.uint8)
        ids[:self.clf.n_rows] = self.clf.row_ids
        ids[_NODATA] = NODATA
        return limits, ids

    def _decide_valid(self, b: _Block, tables) -> np.ndarray:
        """(n,) uint8 class ids of the block's valid pixels."""
        limits, ids = tables
        if b.n == 0:
            return np.empty(0, np.uint8)
        a = self._arrays(b)
        win = a["win"]
        extra = {k: v for k, v in a.items() if k not in ("win", "wrank", "others")}
        rejected = self.clf.winner_rejected(win, a["wrank"], extra, limits)
        if rejected is not None:
            # The decide rule takes the best row not rejected: where the winner is not, it is
            # the answer; the others are decided again from all their rows (exact either way).
            labels = ids.take(win)
            again = np.flatnonzero(rejected)
            if again.size:
                labels[again] = self.clf._decide(_evaluation(a, again), limits)
            return labels
        step = self.clf.chunk
        labels = np.empty(b.n, np.uint8)
        for i in range(0, b.n, step):
            labels[i:i + step] = self.clf._decide(_evaluation(a, slice(i, i + step)), limits)
        return labels

    def _block_labels(self, b: _Block, tables) -> np.ndarray:
        labels = self._decide_valid(b, tables)
        if b.valid is None:
            return labels.reshape(b.shape)
        out = np.full(b.shape, NODATA, np.uint8)
        out[np.unpackbits(b.valid, count=b.shape[0] * b.shape[1]).view(bool).reshape(b.shape)] = labels
        return out

    def decide_block(self, b: _Block, limits) -> np.ndarray:
        """The (rows, cols) uint8 class ids of one block under ``limits`` (threshold_array)."""
        return self._block_labels(b, self._tables(limits))

    def decide(self, thresholds=None, job: Optional[Job] = None, tally=None) -> np.ndarray:
        """The whole uint8 class array under ``thresholds``, block by block on the chunk pool.

        ``tally`` (a core ``AreaTally``): each block's pixel counts and ground areas are added
        in the same pass, so the area table needs no second pass over the class array.
        """
        from ..classifiers.pool import chunk_pool

        job = ensure_job(job)
        tables = self._tables(self.clf.threshold_array(thresholds))
        out = np.empty((self.height, self.width), np.uint8)

        def work(b: _Block):
            job.check()
            labels = self._block_labels(b, tables)
            out[b.window.toslices()] = labels
            if tally is not None:
                return block_tally(labels, tally.transform, tally.crs, int(b.window.row_off), int(b.window.col_off),
                                   keep=len(self.blocks) <= KEPT_BLOCKS)
            return None

        for i, counted in enumerate(chunk_pool().map(work, self.blocks)):
            if counted is not None:
                tally.counts += counted[0]
                tally.areas += counted[1]
            job.step((i + 1) / len(self.blocks), "applying thresholds")
        return out


def _evaluate_block(clf, raster: Raster, idx) -> tuple[Optional[np.ndarray], Evaluation]:
    """(valid mask or None, evaluation of the valid pixels), chunked as ``predict_cols`` chunks."""
    from ..classifiers.chunks import run_chunks
    from ..classifiers.evaluation import concat_evaluations

    data = raster.data if idx is None else raster.data[idx]
    valid = ~raster.nodata_mask
    if valid.all():
        Xt, valid = data.reshape(data.shape[0], -1), None
    else:
        Xt = data[:, valid]
    n = Xt.shape[1]
    # max(n, 1): a block with no valid pixel still gets an (empty) evaluation.
    parts = run_chunks(clf, range(0, max(n, 1), clf.chunk),
                       lambda i: clf._evaluate_chunk(Xt[:, i:i + clf.chunk], full=True))
    return valid, parts[0] if len(parts) == 1 else concat_evaluations(parts)


def classify_cached(image, clf, thresholds=None, block: int = 1024, job: Optional[Job] = None,
                    folder=None, tally=None) -> tuple[np.ndarray, ScoreCache]:
    """(uint8 class array, ScoreCache) of an ImageSource or in-memory Raster: one read of each pixel.

    The labels equal ``classify_array``'s for the same thresholds; the cache re-decides later.
    ``tally`` (a core ``AreaTally``) gets each block's counts and areas, as in ``ScoreCache.decide``.
    """
    job = ensure_job(job)
    clf.threshold_array(thresholds)                      # bad thresholds fail before any read
    names = resolve_bands(image.band_names, clf.band_names)
    idx = None if names == list(range(len(image.band_names))) else names
    rows = clf.n_rows + _extra_rows(clf)
    cache = ScoreCache(clf, image.height, image.width, image.height * image.width * (4 * rows + 1), folder)
    tables = cache._tables(clf.threshold_array(thresholds))
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
            labels = cache._block_labels(cache.blocks[-1], tables)
            out[w.toslices()] = labels
            if tally is not None:
                tally.add(labels, int(w.row_off), int(w.col_off), keep=len(windows) <= KEPT_BLOCKS)
        job.step(1.0, "classified")
    except BaseException:
        cache.close()
        raise
    return out, cache


def _extra_rows(clf) -> int:
    """Rough size of the method's extra arrays per pixel (only to choose memory or disk)."""
    return clf.n_rows if clf.name == "parallelepiped" else 1
