"""Spectral angle mapper: the class whose mean spectrum points the same way,
insensitive to brightness (illumination, slope)."""
from __future__ import annotations

import numpy as np

from .base import Classifier
from .evaluation import Evaluation


class SpectralAngleClassifier(Classifier):
    name = "spectral_angle"
    label = "Spectral angle"
    score_name = "spectral angle to the class mean, radians (lower is closer)"
    higher_score_is_better = False
    threshold_unit = "angle in radians (0..π)"
    threshold_range = (0.0, float(np.pi))
    threshold_help = (
        "Spectral angle mapper: each pixel goes to the class whose mean spectrum makes the smallest "
        "angle with it, θ = arccos(x·m / (|x||m|)), in radians. Threshold T (radians, e.g. 0.1): class "
        "k is rejected when θ_k > T_k; all rejected = unclassified (0). Larger T accepts more pixels. "
        "Pixels with all-zero bands have no angle and stay unclassified. Off by default."
    )

    from_signatures = True
    nan_propagates = True

    def _fit_signatures(self, sigs):
        means = sigs.means
        norms = np.linalg.norm(means, axis=1)
        norms[norms == 0] = 1.0
        self.means = means
        self.unit = (means / norms[:, None]).astype(np.float32)
        self.negunit = -self.unit

    def _evaluate(self, Xt, full=True):
        # rank = −|x| cos θ_k: the smallest rank is the smallest angle (|x| is common to all classes).
        rank = self.negunit @ Xt
        norm = np.sqrt(np.einsum("ij,ij->j", Xt, Xt))
        return Evaluation(rank, {"norm": norm}, invalid=norm == 0)

    def _scores(self, ev):
        norm = ev.extra["norm"]
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = -ev.rank / norm
        return np.arccos(np.clip(np.nan_to_num(cos, nan=-1.0), -1, 1)).astype(np.float32)

    def _cos_limits(self, limits):
        return np.where(np.isnan(limits), -2.0, np.cos(np.nan_to_num(limits))).astype(np.float32)

    def _rejected(self, ev, limits):
        # θ_k > T_k  <=>  cos θ_k < cos T_k  <=>  −rank_k < |x| cos T_k.
        return -ev.rank < ev.extra["norm"] * self._cos_limits(limits)[:, None]

    def winner_rejected(self, win, wrank, extra, limits):
        if limits is None:
            return np.zeros(win.shape, bool)
        # The same float32 product as _rejected for the winning row; flagged codes get −inf
        # (never rejected: −rank < −inf is false, and 0·−inf is NaN, also false).
        table = np.full(256, -np.inf, np.float32)
        table[:self.n_rows] = self._cos_limits(limits)
        with np.errstate(invalid="ignore"):          # 0·−inf of unusable pixels: NaN, meant
            return -wrank < extra["norm"] * table.take(win)

    def default_threshold(self, class_id):
        return 0.1
