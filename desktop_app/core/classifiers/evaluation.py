"""What a classifier's ``evaluate`` returns: per-class arrays for a block of pixels.

Kept apart from the classifiers so the score cache (``scale/score_cache.py``) can
keep, slice and re-join evaluations without the classifier machinery.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np


@dataclass
class Evaluation:
    """Per-class arrays for n pixels, each (K, n); ``extra`` holds method-specific ones."""

    rank: np.ndarray
    extra: dict = field(default_factory=dict)
    invalid: Optional[np.ndarray] = None  # (n,) bool: pixels the method cannot label at all (-> 0)
    nodata: Optional[np.ndarray] = None   # (n,) bool: pixels with a non-finite band (-> NODATA)

    @property
    def n(self) -> int:
        return self.rank.shape[1]


def concat_evaluations(parts: Sequence[Evaluation]) -> Evaluation:
    """One evaluation of the pixels of ``parts`` side by side (chunks evaluated separately)."""
    rank = np.concatenate([p.rank for p in parts], axis=1)
    extra = {key: np.concatenate([p.extra[key] for p in parts], axis=-1) for key in parts[0].extra}

    def flags(name):
        got = [getattr(p, name) for p in parts]
        if all(g is None for g in got):
            return None
        return np.concatenate([np.zeros(p.n, bool) if g is None else g for p, g in zip(parts, got)])

    return Evaluation(rank, extra, flags("invalid"), flags("nodata"))
