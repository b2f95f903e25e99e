"""Driving a classifier over many pixels one chunk at a time, on the shared chunk pool.

Only one chunk's (K, CHUNK) per-class arrays exist per worker at a time, so memory
stays bounded whatever the block size; chunks run on the pool's threads when the
method allows it (``Classifier.parallel_chunks``).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from .evaluation import Evaluation, concat_evaluations
from .pool import _workers

# Pixels per inner step: (K x bands, CHUNK) float32 work arrays stay within the CPU cache.
CHUNK = 16384


def run_chunks(clf, starts: range, work: Callable[[int], object]) -> list:
    """``work(i)`` for every chunk start, results in order: on the chunk pool when there are
    several chunks and the method evaluates in parallel, else one after the other."""
    if clf.parallel_chunks and len(starts) > 1 and _workers() > 1:
        from .pool import chunk_pool

        # The shared chunk pool owns the one BLAS thread limit (see pool.py).
        return list(chunk_pool().map(work, starts))
    return [work(i) for i in starts]


def evaluate_chunks(clf, Xt: np.ndarray) -> Evaluation:
    """Evaluation of pixels Xt (bands, n) (any strides), chunk by chunk on the calling thread."""
    n = Xt.shape[1]
    if n <= clf.chunk:
        return clf._evaluate_chunk(Xt)
    return concat_evaluations([clf._evaluate_chunk(Xt[:, i:i + clf.chunk]) for i in range(0, n, clf.chunk)])


def predict_chunks(clf, Xt: np.ndarray, limits: Optional[np.ndarray], with_scores: bool):
    """uint8 class ids (and, ``with_scores``, float32 winning scores) of checked pixels Xt (bands, n)
    under threshold limits (``threshold_array``); only each chunk's evaluation is ever held."""
    n = Xt.shape[1]
    out = np.empty(n, np.uint8)
    scores = np.empty(n, np.float32) if with_scores else None

    def work(i: int) -> None:
        # ``full=False``: without thresholds only the ranking is needed, which some
        # methods get cheaper (e.g. minimum distance skips the |x|² term).
        ev = clf._evaluate_chunk(Xt[:, i:i + clf.chunk], full=limits is not None or with_scores)
        out[i:i + clf.chunk] = clf._decide(ev, limits)
        if with_scores:
            scores[i:i + clf.chunk] = clf.winning_score(ev)

    run_chunks(clf, range(0, n, clf.chunk), work)
    return (out, scores) if with_scores else out
