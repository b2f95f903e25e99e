"""Parallelepiped (box) classifier: a pixel belongs to a class when it lies in
that class's box on every band; overlaps go to the class with the smallest
standardized distance."""
from __future__ import annotations

import numpy as np

from ..errors import SatSegError
from .base import Classifier, Evaluation, argmin_rows, group_sum_matrix

# Min/max boxes are widened by this relative amount so the sample pixels on a
# box face stay inside despite float32 rounding.
_EDGE = 1e-6


class ParallelepipedClassifier(Classifier):
    """Options: ``box`` = "minmax" (default: the [min, max] of the samples per band)
    or "sigma" (mean ± k·σ per band), and ``k`` (default 2.0) for sigma boxes.

    A per-class threshold k_c turns that class's box into mean ± k_c·σ,
    whatever the default box is.
    """

    name = "parallelepiped"
    label = "Parallelepiped"
    score_name = "standardized distance to the class mean (lower is closer)"
    higher_score_is_better = False
    threshold_range = (1e-6, 100.0)
    threshold_unit = "box half-width in standard deviations (k)"
    threshold_help = (
        "Parallelepiped: a pixel is a candidate for class k when it lies inside the class box on "
        "every band; among several candidates it takes the one with the smallest standardized "
        "distance sqrt(Σ((x−m)/σ)²); outside every box it is unclassified (0). The box is the "
        "samples' [min, max] per band (or mean ± k·σ). Threshold k (in standard deviations) sets "
        "class k's box to mean ± k·σ: larger k accepts more pixels."
    )

    def _fit(self, X, index):
        box = self.options.get("box", "minmax")
        if box not in ("minmax", "sigma"):
            raise SatSegError(f"unknown parallelepiped box '{box}' (use minmax or sigma)")
        self.box = box
        self.k = float(self.options.get("k", 2.0))
        if not self.k > 0:
            raise SatSegError("the parallelepiped k (standard deviations) must be positive")
        K, b = self.n_classes, X.shape[1]
        X64 = X.astype(np.float64)
        spread = float(np.mean(np.std(X64, axis=0)))
        floor = max(spread * 1e-6, 1e-12)
        means = np.array([X64[index == k].mean(axis=0) for k in range(K)])
        stds = np.array([X64[index == k].std(axis=0, ddof=1) if (index == k).sum() > 1 else np.zeros(b)
                         for k in range(K)])
        flat = stds < floor
        for k in np.flatnonzero(flat.any(axis=1)):
            bands = [self.band_names[i] for i in np.flatnonzero(flat[k])]
            self.warnings.append(
                f"class '{self.classes[k].name}': no spread in band(s) {', '.join(bands)}; "
                "its box there is widened to a tiny tolerance"
            )
        stds = np.maximum(stds, floor)
        lo = np.array([X64[index == k].min(axis=0) for k in range(K)])
        hi = np.array([X64[index == k].max(axis=0) for k in range(K)])
        centre = (lo + hi) / 2
        half = np.maximum((hi - lo) / 2 * (1 + _EDGE), floor)
        self.means, self.stds, self.lo, self.hi = means, stds, lo, hi
        # Rows 0..Kb-1: z = (x − m)/σ; rows Kb..2Kb-1: u = (x − centre)/half (|u| <= 1 inside min/max box).
        rows = [np.diag(1 / stds[k]) for k in range(K)]
        offs = [means[k] / stds[k] for k in range(K)]
        if box == "minmax":
            rows += [np.diag(1 / half[k]) for k in range(K)]
            offs += [centre[k] / half[k] for k in range(K)]
        self.A = np.vstack(rows).astype(np.float32)
        self.c = np.concatenate(offs).astype(np.float32)[:, None]
        self.G = group_sum_matrix(K, b)

    def _evaluate(self, Xt, full=True):
        K, b = self.n_classes, Xt.shape[0]
        Y = self.A @ Xt
        Y -= self.c
        np.square(Y, out=Y)
        Kb = K * b
        rank = self.G @ Y[:Kb]
        # Largest squared standardized deviation per class: |z| <= k on every band <=> max z² <= k².
        zmax2 = Y[:Kb].reshape(K, b, -1).max(axis=1)
        extra = {"zmax2": zmax2}
        if self.box == "minmax":
            extra["umax2"] = Y[Kb:].reshape(K, b, -1).max(axis=1)
        return Evaluation(rank, extra)

    def scores_from(self, ev):
        return np.sqrt(np.maximum(ev.rank, 0))

    def _box_limits(self, limits):
        """(K,) k per class: the threshold where given, else the default sigma k (NaN = min/max box)."""
        default = np.nan if self.box == "minmax" else self.k
        lim = np.full(self.n_classes, default) if limits is None else np.where(np.isnan(limits), default, limits)
        return lim

    def _outside(self, ev, limits):
        lim = self._box_limits(limits)
        use_sigma = ~np.isnan(lim)
        out = np.empty_like(ev.rank, dtype=bool)
        if use_sigma.any():
            kk = np.where(use_sigma, lim, 0.0) ** 2
            np.greater(ev.extra["zmax2"], kk.astype(np.float32)[:, None], out=out)
        if (~use_sigma).any():
            mm = ev.extra["umax2"] > 1.0
            out[~use_sigma] = mm[~use_sigma]
        return out

    def _rejected(self, ev, limits):
        return self._outside(ev, limits)

    def _decide(self, ev, limits):
        # The box test always applies; a class's threshold replaces (not adds to) its default box.
        rejected = self._outside(ev, limits)
        masked = np.where(rejected, np.float32(np.inf), ev.rank)
        labels = self.class_ids[argmin_rows(masked)]
        labels[rejected.all(axis=0)] = 0
        return labels

    def default_threshold(self, class_id):
        return 3.0
