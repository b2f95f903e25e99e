"""The pixel classifier's per-class scores as SAM ``mask_input`` logits (docs/sam.md, "Prompts").

Every classifier scores each pixel for each class in its own unit: a distance, an angle, a
log-likelihood, a probability (``Classifier.scores_from``). SAM's ``mask_input`` wants
per-pixel logits for "this pixel belongs to the mask". One rule serves every method:

* the *margin* of class k at a pixel is its score minus the best other class's score,
  oriented so that higher is better: positive only where k wins, zero on a tie, more
  negative the further k is behind;
* margins are divided by the scene's *median winning margin* (best minus second best over
  the valid pixels) and multiplied by ``MASK_LOGIT`` (4, the logit of a plain class-mask
  prompt), then clipped to +-8: a pixel the classifier decides as clearly as a typical
  pixel gets the same +-4 as the class-mask prompt, a hesitant one (near a class boundary)
  a logit near 0, a clear-cut one up to +-8. Dividing by a scene statistic makes the
  logits unit-free, so a distance in reflectance and a probability give comparable prompts.

:class:`ScoreLogits` reads the evaluations a classification kept (``core.scale.score_cache``)
window by window, so memory stays bounded by one window's K score planes.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..jobs import Job, ensure_job
from .prompts import MASK_LOGIT, SCORE_LOGIT_CLIP

SAMPLE_STEP = 16      # every 16th valid pixel of each block for the median winning margin


def _top_two(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index of the best row, best, second best) per column of a (K, n) array, K >= 2."""
    best = np.argmax(g, axis=0)
    top = np.take_along_axis(g, best[None], axis=0)[0]
    rest = g.copy()
    np.put_along_axis(rest, best[None], -np.inf, axis=0)
    return best, top, rest.max(axis=0)


def winning_margin(goodness: np.ndarray) -> np.ndarray:
    """(n,) best minus second-best of (K, n) scores oriented higher-is-better."""
    _, top, second = _top_two(goodness)
    return top - second


def margin_logits(goodness: np.ndarray, temperature: float) -> np.ndarray:
    """(K, ...) float32 logits from scores oriented higher-is-better (K, ...) and the median winning margin.

    Non-finite scores (nodata) give -8 for every class.
    """
    shape = goodness.shape
    g = np.asarray(goodness, np.float64).reshape(shape[0], -1)
    finite = np.isfinite(g).all(axis=0)
    g = np.where(finite, g, 0.0)
    best, top, second = _top_two(g)
    other = np.broadcast_to(top, g.shape).copy()            # best other class: the winner, ...
    np.put_along_axis(other, best[None], second[None], axis=0)   # ... or, for the winner, the runner-up
    logits = np.clip((g - other) * (MASK_LOGIT / temperature), -SCORE_LOGIT_CLIP, SCORE_LOGIT_CLIP)
    logits[:, ~finite] = -SCORE_LOGIT_CLIP
    return logits.astype(np.float32).reshape(shape)


def _oriented(clf, ev) -> np.ndarray:
    s = clf.scores_from(ev)
    return s if clf.higher_score_is_better else -s


class ScoreLogits:
    """Per-class ``mask_input`` logits of a classification's kept scores, for any window of the scene.

    ``ids`` are the class ids in the order of the logit planes. ``temperature`` is None when
    the scores cannot give logits (one class, or no pixel the classifier tells apart); the
    prompts then come from the class mask.
    """

    def __init__(self, cache, job: Optional[Job] = None) -> None:
        job = ensure_job(job)
        self.cache, self.clf = cache, cache.clf
        self.ids = [c.id for c in self.clf.classes]
        self.temperature: Optional[float] = None
        if len(self.ids) < 2:
            return
        parts = []
        for i, b in enumerate(cache.blocks):
            job.check()
            ev = cache.evaluation(b)
            sample = type(ev)(ev.rank[:, ::SAMPLE_STEP], {k: v[..., ::SAMPLE_STEP] for k, v in ev.extra.items()},
                              None if ev.invalid is None else ev.invalid[::SAMPLE_STEP],
                              None if ev.nodata is None else ev.nodata[::SAMPLE_STEP])
            m = winning_margin(_oriented(self.clf, sample))
            parts.append(m[np.isfinite(m)])
        margins = np.concatenate(parts) if parts else np.zeros(0)
        t = float(np.median(margins)) if margins.size else 0.0
        self.temperature = t if np.isfinite(t) and t > 0 else None

    def block_scores(self, b) -> np.ndarray:
        """(K, rows, cols) oriented scores of one kept block; NaN where the block had no valid pixel."""
        h, w = int(b.window.height), int(b.window.width)
        g = _oriented(self.clf, self.cache.evaluation(b))
        if b.valid is None:
            return g.reshape(-1, h, w)
        out = np.full((g.shape[0], h, w), np.nan, np.float32)
        out[:, np.unpackbits(b.valid, count=h * w).view(bool).reshape(h, w)] = g
        return out

    def window(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        """(K, height, width) float32 logits of a scene window (see the module's rule)."""
        g = np.full((len(self.ids), height, width), np.nan, np.float32)
        for b in self.cache.blocks:
            r0, c0 = int(b.window.row_off), int(b.window.col_off)
            r1, c1 = r0 + int(b.window.height), c0 + int(b.window.width)
            rr0, rr1, cc0, cc1 = max(r0, row), min(r1, row + height), max(c0, col), min(c1, col + width)
            if rr0 >= rr1 or cc0 >= cc1:
                continue
            g[:, rr0 - row:rr1 - row, cc0 - col:cc1 - col] = self.block_scores(b)[:, rr0 - r0:rr1 - r0, cc0 - c0:cc1 - c0]
        return margin_logits(g, self.temperature)
