"""Minimum distance to means: the nearest class mean in plain Euclidean distance."""
from __future__ import annotations

import numpy as np

from .base import Classifier
from .evaluation import Evaluation
from .thresholds import squared_bound


class MinDistanceClassifier(Classifier):
    name = "min_distance"
    label = "Minimum distance"
    score_name = "Euclidean distance to the class mean, in reflectance (lower is closer)"
    higher_score_is_better = False
    threshold_range = (0.0, 10.0)
    threshold_unit = "Euclidean distance in reflectance units (0..1 scale)"
    threshold_help = (
        "Minimum distance: each pixel goes to the class whose mean spectrum is nearest "
        "(Euclidean distance over the chosen bands, reflectance 0..1). Threshold T: class k is "
        "rejected when the distance exceeds T_k; all rejected = unclassified (0). Larger T accepts "
        "more pixels. Off by default."
    )

    from_signatures = True
    nan_propagates = True

    def _fit_signatures(self, sigs):
        means = sigs.means
        self.means = means
        # ‖x−m‖² = ‖x‖² − 2mᵀx + ‖m‖²: the ranking needs only the last two terms (one matmul).
        self.M2 = (-2 * means).astype(np.float32)
        self.mm = (means ** 2).sum(axis=1).astype(np.float32)[:, None]
        # Root-mean-square distance of a signature's pixels to its mean (threshold suggestion).
        n = np.maximum(sigs.counts, 1)
        self.typical = np.sqrt(np.trace(sigs.covs, axis1=1, axis2=2) * (n - 1) / n)

    def _evaluate(self, Xt, full=True):
        # Always the whole distance (``full`` ignored): the ‖x‖² term is cheap next to the
        # matmul, and one rank whatever the thresholds lets kept evaluations re-decide to
        # exactly the labels of a fresh prediction (scale/score_cache.py).
        rank = self.M2 @ Xt
        rank += self.mm
        rank += np.einsum("ij,ij->j", Xt, Xt)
        np.maximum(rank, 0, out=rank)
        return Evaluation(rank)

    def _scores(self, ev):
        return np.sqrt(ev.rank)

    def _rank_bound(self, limits):
        return squared_bound(limits)     # the rank is the squared distance

    def default_threshold(self, class_id):
        rows = self.row_ids == class_id
        return float(3 * self.typical[rows].max())
