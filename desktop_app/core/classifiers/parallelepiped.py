"""Parallelepiped (box) classifier: a pixel belongs to a class when it lies in
that class's box on every band; overlaps go to the class with the smallest
standardized distance."""
from __future__ import annotations

import numpy as np

from ..errors import SatSegError
from .base import Classifier
from .evaluation import Evaluation
from .rows import argmin_rows, group_reduce


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

    from_signatures = True
    nan_propagates = True

    def _fit_signatures(self, sigs):
        box = self.options["box"]
        if box not in ("minmax", "sigma"):
            raise SatSegError(f"unknown parallelepiped box '{box}' (use minmax or sigma)")
        self.box = box
        self.k = float(self.options["k"])
        if not self.k > 0:
            raise SatSegError("the parallelepiped k (standard deviations) must be positive")
        spread = float(np.mean(np.sqrt(sigs.overall_variance())))
        floor = max(spread * 1e-6, 1e-12)
        means = sigs.means
        stds = np.sqrt(np.maximum(np.diagonal(sigs.covs, axis1=1, axis2=2), 0))
        flat = stds < floor
        what = "signature" if len(set(sigs.class_of.tolist())) != sigs.n else "class"
        for k in np.flatnonzero(flat.any(axis=1)):
            bands = [self.band_names[i] for i in np.flatnonzero(flat[k])]
            self.warnings.append(
                f"{what} '{sigs.names[k]}': no spread in band(s) {', '.join(bands)}; "
                "its standardized distance there uses a tiny tolerance"
            )
        stds = np.maximum(stds, floor)
        self.means, self.stds, self.lo, self.hi = means, stds, sigs.mins, sigs.maxs
        # z = (x − m)/σ per band: a broadcast multiply-subtract, no matrix product needed.
        self.scale = (1 / stds).astype(np.float32)[:, :, None]      # (S, b, 1)
        self.offset = (means / stds).astype(np.float32)[:, :, None]
        # The min/max box is tested on the pixel values themselves, never on a rescaled
        # value: lo and hi are float32 sample values, so x < lo and x > hi are exact and a
        # training pixel can never round out of its own box (docs/classifiers.md).
        self.lo32 = sigs.mins.astype(np.float32)[:, :, None]
        self.hi32 = sigs.maxs.astype(np.float32)[:, :, None]

    def _evaluate(self, Xt, full=True):
        K = self.n_rows
        Y = Xt[None] * self.scale            # (K, b, n)
        Y -= self.offset
        np.square(Y, out=Y)
        rank = group_reduce(Y, K)            # Σ z²: squared standardized distance
        extra = {}
        if full or self.box == "sigma":
            # Largest squared standardized deviation: |z| <= k on every band <=> max z² <= k².
            extra["zmax2"] = group_reduce(Y, K, np.maximum)
        if self.box == "minmax":
            # Largest overshoot beyond the box on any band: > 0 exactly when some band is
            # outside [lo, hi] (the sign of a float difference is exact).
            over = np.maximum(self.lo32 - Xt[None], Xt[None] - self.hi32)
            extra["over"] = group_reduce(over, K, np.maximum)
        return Evaluation(rank, extra)

    def _scores(self, ev):
        return np.sqrt(np.maximum(ev.rank, 0))

    def _box_limits(self, limits):
        """(K,) k per class: the threshold where given, else the default sigma k (NaN = min/max box)."""
        default = np.nan if self.box == "minmax" else self.k
        lim = np.full(self.n_rows, default) if limits is None else np.where(np.isnan(limits), default, limits)
        return lim

    def _outside(self, ev, limits):
        """(K, n) bool: pixel outside class k's box (its threshold box if given, else the default box)."""
        lim = self._box_limits(limits)
        use_sigma = ~np.isnan(lim)
        if not use_sigma.any():
            return ev.extra["over"] > 0
        out = ev.extra["zmax2"] > (np.where(use_sigma, lim, 0.0) ** 2).astype(np.float32)[:, None]
        if not use_sigma.all():
            out[~use_sigma] = ev.extra["over"][~use_sigma] > 0
        return out

    def _rejected(self, ev, limits):
        return self._outside(ev, limits)

    def _labels(self, ev, limits):
        # The box test always applies; a class's threshold replaces (not adds to) its default box.
        masked = np.where(self._outside(ev, limits), np.float32(np.inf), ev.rank)
        best, low = argmin_rows(masked, return_min=True)
        labels = self.row_ids[best]
        labels[np.isinf(low)] = 0
        return labels

    def default_threshold(self, class_id):
        return 3.0
