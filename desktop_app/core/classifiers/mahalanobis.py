"""Mahalanobis distance: the nearest class in its own covariance metric (the default method)."""
from __future__ import annotations

import numpy as np

from .base import Classifier
from .evaluation import Evaluation
from .thresholds import squared_bound
from .gaussian import gaussian_stats, squared_mahalanobis


class MahalanobisClassifier(Classifier):
    name = "mahalanobis"
    label = "Mahalanobis distance"
    score_name = "Mahalanobis distance (lower is closer)"
    higher_score_is_better = False
    threshold_range = (0.0, 1000.0)
    threshold_unit = "Mahalanobis distance, in standard deviations"
    threshold_help = (
        "Mahalanobis distance: each pixel goes to the class with the smallest distance "
        "D = sqrt((x−m)ᵀ Σ⁻¹ (x−m)). Threshold T (a distance, not squared): class k is rejected "
        "for a pixel when D_k > T_k; the pixel takes the nearest class that is not rejected, and is "
        "unclassified (0) when all are. Larger T accepts more pixels. Off by default."
    )

    from_signatures = True
    nan_propagates = True

    def _fit_signatures(self, sigs):
        self.stats, self.signatures = gaussian_stats(sigs, self.warnings)

    def _evaluate(self, Xt, full=True):
        return Evaluation(squared_mahalanobis(self.stats, Xt))

    def _scores(self, ev):
        return np.sqrt(np.maximum(ev.rank, 0))

    def _rank_bound(self, limits):
        return squared_bound(limits)     # the rank is D²; rows without a threshold never rejected

    def default_threshold(self, class_id):
        # Distance within which 99.9 % of a Gaussian class's own pixels fall.
        # chi2.ppf(q, n) == chdtri(n, 1 - q). scipy.special, not scipy.stats: the window calls this on
        # its UI thread after a run, and a first scipy.stats import froze it for up to a second.
        from scipy.special import chdtri

        return float(np.sqrt(chdtri(self.n_bands, 1 - 0.999)))
