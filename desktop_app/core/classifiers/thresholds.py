"""The threshold half of a classifier: user thresholds -> per-row limits -> class ids.

:class:`ThresholdRules` is mixed into ``base.Classifier``; it turns thresholds
(one number, or per class id/name/signature) into a (rows,) limit array, checks
them against the method's range, and decides each pixel's class from an
:class:`Evaluation` (the best row not rejected; 0 when every row is). The rules
themselves are in docs/classifiers.md. Kept apart from evaluation so a threshold
slider re-decides without touching the expensive part.

It relies on the fitted state ``Classifier`` keeps: ``classes``, ``row_class``,
``row_ids``, ``row_names``, ``n_rows``, ``label`` and ``threshold_unit``.
"""
from __future__ import annotations

from typing import Mapping, Optional, Union

import numpy as np

from ..classes import NODATA
from ..errors import SatSegError
from .evaluation import Evaluation
from .rows import argmin_rows

ThresholdValue = Union[int, float]
Thresholds = Union[None, ThresholdValue, Mapping[Union[int, str], ThresholdValue]]


class ThresholdRules:
    """Threshold parsing and the decide rule; methods override ``_rank_bound`` or ``_rejected``."""

    def decide(self, evaluation: Evaluation, thresholds: Thresholds = None) -> np.ndarray:
        """Class ids from an earlier ``evaluate`` under (new) thresholds: cheap."""
        return self._decide(evaluation, self.threshold_array(thresholds))

    def threshold_array(self, thresholds: Thresholds) -> Optional[np.ndarray]:
        """Thresholds as a (rows,) float64 array, NaN = no threshold for that row; None if all off.

        Accepts one number for every class or a mapping keyed by class id or
        class name (every signature of the class) or signature name (that
        signature only; it overrides its class's value). Unknown keys and
        out-of-range values are errors, never silently ignored.
        """
        if thresholds is None:
            return None
        if isinstance(thresholds, Mapping):
            if not thresholds:
                return None
            values = np.full(self.n_classes, np.nan)
            rows = {}
            for key, value in thresholds.items():
                k = self._class_index(key, signatures=True)
                if k >= 0:
                    values[k] = self._check_threshold(float(value), self.classes[k].name)
                else:
                    rows[-k - 1] = self._check_threshold(float(value), self.row_names[-k - 1])
            values = values[self.row_class]
            for r, v in rows.items():
                values[r] = v
        else:
            v = float(thresholds)
            values = np.array([self._check_threshold(v, c.name) for c in self.classes], dtype=float)[self.row_class]
        return None if np.isnan(values).all() else values

    def _class_index(self, key, signatures: bool = False) -> int:
        """Position of a class (by id or name); with ``signatures``, −1−row for a signature name."""
        for k, c in enumerate(self.classes):
            if (isinstance(key, (int, np.integer)) and int(key) == c.id) or \
                    (isinstance(key, str) and (key == c.name or (key.strip().isdigit() and int(key) == c.id))):
                return k
        if signatures and self.several_per_class and key in self.row_names:
            return -1 - self.row_names.index(key)
        known = ", ".join(f"{c.id}={c.name}" for c in self.classes)
        raise SatSegError(f"threshold given for unknown class '{key}'; classes are {known}")

    def _check_threshold(self, value: float, class_name: str) -> float:
        lo, hi = self.threshold_range
        if not np.isfinite(value) or not lo <= value <= hi:
            raise SatSegError(
                f"threshold {value:g} for class '{class_name}' is out of range for {self.label}: "
                f"expected {lo:g}..{hi:g} ({self.threshold_unit})"
            )
        return value

    threshold_range: tuple[float, float] = (0.0, np.inf)

    def default_threshold(self, class_id: int) -> Optional[float]:
        """A sensible starting value for a class's threshold (a UI suggestion, never applied by default)."""
        return None

    def rank_limits(self, limits: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """(rows,) float32 L with "row k rejected" exactly when rank_k > L_k (+inf: never), for
        methods whose threshold is a plain bound on the rank (``_rank_bound``); None when the
        rule needs more than the rank (spectral angle, parallelepiped). A kept classification
        then re-decides most pixels from their winning row alone (scale/score_cache.py)."""
        if type(self)._rank_bound is ThresholdRules._rank_bound:
            return None
        if limits is None:
            return np.full(self.n_rows, np.inf, np.float32)
        return self._rank_bound(limits)

    def _rank_bound(self, limits: np.ndarray) -> np.ndarray:
        """The bound on the rank for thresholds ``limits`` (NaN = none: +inf); methods with such a rule."""
        raise NotImplementedError

    def winner_rejected(self, win: np.ndarray, wrank: np.ndarray, extra: dict,
                        limits: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """(n,) bool: each pixel's winning row (``win``: row index; codes >= n_rows are flagged
        pixels, never rejected) rejected under ``limits``, computed exactly as ``_rejected``
        computes that row; None when the winner alone cannot tell (the rule needs every row)."""
        lim = self.rank_limits(limits)
        if lim is None:
            return None
        table = np.full(256, np.inf, np.float32)
        table[:len(lim)] = lim
        return wrank > table.take(win)

    def _rejected(self, ev: Evaluation, limits: np.ndarray) -> np.ndarray:
        """(K, n) bool: class k rejected for the pixel. ``limits`` has NaN for 'no threshold'.

        Methods with a plain bound on the rank get it here; the others override it."""
        return ev.rank > self.rank_limits(limits)[:, None]

    def _labels(self, ev: Evaluation, limits: Optional[np.ndarray]) -> np.ndarray:
        """Class ids from the rank: the best class not rejected, 0 when all are."""
        if limits is None:
            return self.row_ids[argmin_rows(ev.rank)]
        rejected = self._rejected(ev, limits)
        labels = self.row_ids[argmin_rows(np.where(rejected, np.float32(np.inf), ev.rank))]
        labels[rejected.all(axis=0)] = 0
        return labels

    def _decide(self, ev: Evaluation, limits: Optional[np.ndarray]) -> np.ndarray:
        labels = self._labels(ev, limits)
        if ev.invalid is not None:
            labels[ev.invalid] = 0
        if ev.nodata is not None:
            labels[ev.nodata] = NODATA
        return labels


def squared_bound(limits: np.ndarray) -> np.ndarray:
    """Rank bound of a distance threshold T when the rank is the squared distance: D > T <=> D² > T² (T >= 0)."""
    return np.where(np.isnan(limits), np.inf, limits ** 2).astype(np.float32)
