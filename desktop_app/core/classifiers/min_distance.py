"""Minimum distance to means: the nearest class mean in plain Euclidean distance."""
from __future__ import annotations

import numpy as np

from .base import Classifier, Evaluation, class_means


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

    def _fit(self, X, index):
        K = self.n_classes
        means = class_means(X, index, K)
        self.means = means
        # ‖x−m‖² = ‖x‖² − 2mᵀx + ‖m‖²: the ranking needs only the last two terms (one matmul).
        self.M2 = (-2 * means).astype(np.float32)
        self.mm = (means ** 2).sum(axis=1).astype(np.float32)[:, None]
        spread = [np.sqrt(((X[index == k] - means[k]) ** 2).sum(axis=1)).mean() for k in range(K)]
        self.typical = np.array(spread)

    def _evaluate(self, Xt, full=True):
        rank = self.M2 @ Xt
        rank += self.mm
        if full:
            rank += np.einsum("ij,ij->j", Xt, Xt)
            np.maximum(rank, 0, out=rank)
        return Evaluation(rank)

    def _scores(self, ev):
        return np.sqrt(ev.rank)

    def _rejected(self, ev, limits):
        lim = np.where(np.isnan(limits), np.inf, limits ** 2).astype(np.float32)[:, None]
        return ev.rank > lim

    def default_threshold(self, class_id):
        k = int(np.flatnonzero(self.class_ids == class_id)[0])
        return float(3 * self.typical[k])
