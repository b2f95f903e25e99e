"""Gaussian maximum likelihood with a chi-square rejection test."""
from __future__ import annotations

import numpy as np

from ..errors import SatSegError
from .base import Classifier
from .evaluation import Evaluation
from .gaussian import gaussian_stats, squared_mahalanobis


class MaxLikelihoodClassifier(Classifier):
    """g_k(x) = ln p_k − ½ ln|Σ_k| − ½ D_k² (− b/2 ln 2π); the pixel takes argmax g_k.

    Options: ``priors`` = "equal" (default; sample polygons say nothing about
    how common a class is in the landscape) or "samples" (proportional to
    training pixels).
    """

    name = "max_likelihood"
    label = "Maximum likelihood"
    score_name = "log-likelihood ln p(x|k) + ln prior (higher is more likely)"
    higher_score_is_better = True
    threshold_unit = "confidence level p, 0 < p <= 1"
    threshold_range = (1e-9, 1.0)   # p = 1: the whole chi-square range, nothing rejected
    threshold_help = (
        "Maximum likelihood: each pixel goes to the class with the highest Gaussian log-likelihood. "
        "Threshold p (a confidence level, e.g. 0.99): class k is rejected when the pixel's squared "
        "Mahalanobis distance D_k² exceeds the chi-square quantile χ²_bands(p_k), i.e. when the pixel "
        "lies outside the region holding p of that class's pixels. Larger p accepts more pixels. "
        "Off by default."
    )

    from_signatures = True
    nan_propagates = True

    def _fit_signatures(self, sigs):
        priors = self.options["priors"]
        self.stats, self.signatures = gaussian_stats(sigs, self.warnings)
        counts = self.stats.counts.astype(np.float64)
        if priors == "equal":
            # Each class 1/K; several signatures of a class share it in proportion to their pixels.
            cls = np.searchsorted(self.class_ids, self.signatures.class_of)
            per_class = np.bincount(cls, weights=counts, minlength=self.n_classes)
            p = counts / per_class[cls] / self.n_classes
        elif priors == "samples":
            p = counts / counts.sum()
        else:
            raise SatSegError(f"unknown priors '{priors}' for maximum likelihood (use equal or samples)")
        self.log_priors = np.log(p)
        # rank = D² + offset  with offset = ln|Σ| − 2 ln p  (rank = −2 g up to a constant).
        self.offset = (self.stats.logdets - 2 * self.log_priors).astype(np.float32)[:, None]
        self.log_2pi_term = 0.5 * self.n_bands * np.log(2 * np.pi)

    def _evaluate(self, Xt, full=True):
        d2 = squared_mahalanobis(self.stats, Xt)
        d2 += self.offset
        return Evaluation(d2)

    def _scores(self, ev):
        return (-0.5 * ev.rank - np.float32(self.log_2pi_term)).astype(np.float32)

    def _rank_bound(self, limits):
        # D_k² > χ²_b(p_k)  <=>  rank_k > χ²_b(p_k) + offset_k.
        from scipy.stats import chi2   # here, not at the top: scipy.stats costs `satseg` a second to import

        q = np.where(np.isnan(limits), np.inf, chi2.ppf(np.nan_to_num(limits, nan=0.5), self.n_bands))
        return (q + self.offset[:, 0]).astype(np.float32)

    def default_threshold(self, class_id):
        return 0.99
