"""What every pixel classifier offers, and the one place thresholds are applied.

A classifier is fitted once on training pixels and then predicts blocks of
pixels. Prediction is split in two so the desktop app can move a threshold
slider without recomputing anything expensive:

* ``evaluate(X)`` does the arithmetic (distances, likelihoods, probabilities)
  and returns an :class:`Evaluation`;
* ``decide(evaluation, thresholds)`` turns it into class ids: the best class
  among those *not rejected* by their own threshold, 0 (unclassified) when
  every class is rejected.

Every method stores a *rank* per class (lower is better) and, where its
threshold is not a plain bound on the rank, the statistic the threshold is
compared with. Internally pixels are laid out as (bands, n) so that the
per-class arrays are (K, n) with contiguous rows: the hot loops are then
BLAS matrix products and whole-row numpy operations, never Python per pixel.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from ..classes import NODATA, ClassInfo
from ..errors import SatSegError
from .pool import _workers

ThresholdValue = Union[int, float]
Thresholds = Union[None, ThresholdValue, Mapping[Union[int, str], ThresholdValue]]

# Pixels per inner step: (K x bands, CHUNK) float32 work arrays stay within the CPU cache.
CHUNK = 16384


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


class Classifier(ABC):
    """Base class; subclasses implement ``_fit``, ``_evaluate`` and the threshold rule."""

    name = "base"
    label = "classifier"
    #: What ``scores`` returns and whether higher means a better match.
    score_name = "score"
    higher_score_is_better = False
    #: Tooltip / README text: the rule, the unit and the direction of the threshold.
    threshold_help = ""
    threshold_unit = ""
    #: Inner chunk of pixels; sklearn-based methods prefer bigger ones.
    chunk = CHUNK
    #: Evaluate chunks on all cores (numpy and single-threaded BLAS release the GIL).
    #: Off for scikit-learn models, which parallelize themselves.
    parallel_chunks = True
    #: A non-finite band makes every rank row non-finite (the statistics methods), so
    #: nodata can be detected on the rank; scikit-learn models may map NaN to a class.
    nan_propagates = False
    #: Fitted from signature statistics alone (``_fit_signatures``); several signatures
    #: per class possible. False: fitted from pixels (``_fit``), one row per class.
    from_signatures = False

    def __init__(self, **options) -> None:
        from .options import resolve_options

        # Every option with its value; the defaults come from the one table in options.py.
        self.options = resolve_options(self.name, options)
        self.classes: list[ClassInfo] = []
        self.class_ids = np.zeros(0, np.uint8)
        self.band_names: list[str] = []
        self.warnings: list[str] = []
        self.fitted = False
        # Rows of the per-row arrays (rank etc.): one per signature, each mapped to a class.
        self.signatures = None                        # a SignatureSet for from_signatures methods
        self.row_class = np.zeros(0, np.intp)         # (S,) index into self.classes
        self.row_ids = np.zeros(0, np.uint8)          # (S,) class id of each row
        self.row_names: list[str] = []

    # -- fitting ----------------------------------------------------------
    def fit(self, training) -> "Classifier":
        """Fit on a ``TrainingData`` (X (n, bands), y class ids, classes, band_names)."""
        X = np.ascontiguousarray(training.X, dtype=np.float32)
        y = np.asarray(training.y)
        finite = np.isfinite(X).all(axis=1)
        dropped = int((~finite).sum())
        if dropped:   # nodata by docs/classifiers.md, "Nodata"
            X, y = X[finite], y[finite]
        ids = sorted({int(i) for i in np.unique(y)})
        if len(ids) < 2:
            raise SatSegError("at least two classes with training pixels are needed to classify")
        by_id = {c.id: c for c in training.classes}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise SatSegError(f"training labels {missing} have no class entry")
        self.classes = [by_id[i] for i in ids]
        self.class_ids = np.array(ids, dtype=np.uint8)
        self.band_names = list(training.band_names)
        self.warnings = []
        if dropped:
            self.warnings.append(f"{dropped} training pixel(s) with a non-finite band (NaN/inf) were left out")
        mode = self.options.get("signatures", "per-class")
        if self.from_signatures:
            from .signature_set import build_signatures

            groups = getattr(training, "groups", None)
            sigs = build_signatures(X, y, self.classes, self.band_names, mode,
                                    None if groups is None else np.asarray(groups)[finite],
                                    getattr(training, "group_labels", ()), seed=0)
            warnings = self.warnings + list(sigs.notes)
            self.fit_signatures(sigs)
            self.warnings = warnings + self.warnings
            return self
        index = np.searchsorted(self.class_ids, y)
        self.row_class = np.arange(len(ids))
        self._fit(X, index)
        self._after_fit()
        self._set_rows([c.name for c in self.classes])
        return self

    def fit_signatures(self, sigs) -> "Classifier":
        """Fit from a ``SignatureSet`` (from pixels, a catalogue or a saved model): no pixels needed."""
        if not self.from_signatures:
            raise SatSegError(f"the {self.label} classifier is trained on pixels, not on signatures")
        present = sorted({int(c) for c in sigs.class_of})
        if len(present) < 2:
            raise SatSegError("at least two classes with training pixels are needed to classify")
        self.classes = [c for c in sorted(sigs.classes, key=lambda c: c.id) if c.id in present]
        self.class_ids = np.array([c.id for c in self.classes], dtype=np.uint8)
        self.band_names = list(sigs.band_names)
        self.warnings = []
        self.signatures = self.input_signatures = sigs   # input kept: a saved model refits from it
        self.row_class = np.searchsorted(self.class_ids, sigs.class_of)
        self._fit_signatures(sigs)          # may replace self.signatures (the Gaussian guard merges some)
        self.row_class = np.searchsorted(self.class_ids, self.signatures.class_of)
        self._set_rows(list(self.signatures.names))
        return self

    def _set_rows(self, names: list[str]) -> None:
        self.row_ids = self.class_ids[self.row_class]
        self.row_names = names
        self.fitted = True

    def _fit(self, X: np.ndarray, index: np.ndarray) -> None:
        """Pixel-trained methods: X (n, bands) float32, index (n,) 0..K-1 into ``self.classes``."""
        raise NotImplementedError

    def _after_fit(self) -> None:
        """Derived state after ``_fit`` (also run when a saved model is loaded)."""

    def _fit_signatures(self, sigs) -> None:
        """Signature-trained methods: per-row statistics from ``sigs`` (one row per signature)."""
        raise NotImplementedError

    @property
    def n_rows(self) -> int:
        return len(self.row_class)

    @property
    def several_per_class(self) -> bool:
        return self.n_rows != self.n_classes

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_bands(self) -> int:
        return len(self.band_names)

    def class_name(self, k: int) -> str:
        return self.classes[k].name

    # -- prediction -------------------------------------------------------
    def _check_X(self, X: np.ndarray) -> np.ndarray:
        if not self.fitted:
            raise SatSegError(f"the {self.label} classifier has not been trained yet")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_bands:
            got = X.shape[1] if X.ndim == 2 else X.shape
            raise SatSegError(
                f"the classifier was trained on {self.n_bands} bands ({', '.join(self.band_names)}) "
                f"but was given {got}"
            )
        return X

    def evaluate(self, X: np.ndarray) -> Evaluation:
        """The expensive part of prediction for pixels X (n, bands)."""
        X = self._check_X(X)
        return self._evaluate_cols(X.T)

    def _evaluate_cols(self, Xt: np.ndarray) -> Evaluation:
        """Xt is (bands, n) (any strides); evaluated chunk by chunk."""
        n = Xt.shape[1]
        if n <= self.chunk:
            return self._evaluate_chunk(Xt)
        return _concat([self._evaluate_chunk(Xt[:, i:i + self.chunk]) for i in range(0, n, self.chunk)])

    def _evaluate_chunk(self, Xt: np.ndarray, full: bool = True) -> Evaluation:
        """``_evaluate`` with non-finite pixels treated as nodata (docs/classifiers.md, "Nodata").

        A NaN compares False with every limit and would otherwise win class 1;
        such pixels are evaluated as zeros and flagged, so they end as NODATA.
        """
        Xt = np.asarray(Xt, dtype=np.float32)
        if self.nan_propagates:
            # Every band enters every row of the rank, so a non-finite band makes rank[0]
            # non-finite: one row to test on the fast path, the bands only when it fires.
            with np.errstate(invalid="ignore", over="ignore"):
                ev = self._evaluate(Xt, full)
            if np.isfinite(ev.rank[0]).all():
                return ev
            finite = _finite_columns(Xt)
            if not finite.all():
                ev.nodata = ~finite
            return ev
        finite = _finite_columns(Xt)
        if finite.all():
            return self._evaluate(Xt, full)
        ev = self._evaluate(np.where(finite, Xt, np.float32(0)), full)
        ev.nodata = ~finite
        return ev

    @abstractmethod
    def _evaluate(self, Xt: np.ndarray, full: bool = True) -> Evaluation:
        """Per-class arrays for a (bands, n) float32 chunk; ``full=False`` may skip what only thresholds need."""

    def predict(self, X: np.ndarray, thresholds: Thresholds = None) -> np.ndarray:
        """uint8 class ids for pixels X (n, bands); 0 where every class is rejected."""
        return self.predict_cols(np.asarray(X).T, thresholds)

    def predict_cols(self, Xt: np.ndarray, thresholds: Thresholds = None, with_scores: bool = False):
        """Like ``predict`` for pixels laid out as (bands, n), e.g. a reshaped raster block.

        Works chunk by chunk so only one chunk's per-class arrays exist at a time.
        ``with_scores``: also the (n,) float32 winning score (see ``winning_score``).
        """
        Xt = self._check_X(np.asarray(Xt).T).T
        limits = self.threshold_array(thresholds)
        n = Xt.shape[1]
        out = np.empty(n, np.uint8)
        scores = np.empty(n, np.float32) if with_scores else None

        def work(i: int) -> None:
            # ``full=False``: without thresholds only the ranking is needed, which some
            # methods get cheaper (e.g. minimum distance skips the |x|² term).
            ev = self._evaluate_chunk(Xt[:, i:i + self.chunk], full=limits is not None or with_scores)
            out[i:i + self.chunk] = self._decide(ev, limits)
            if with_scores:
                scores[i:i + self.chunk] = self.winning_score(ev)

        starts = range(0, n, self.chunk)
        workers = _workers() if self.parallel_chunks and len(starts) > 1 else 1
        if workers == 1:
            for i in starts:
                work(i)
        else:
            from .pool import chunk_pool

            # The shared chunk pool owns the one BLAS thread limit (see pool.py).
            list(chunk_pool().map(work, starts))
        return (out, scores) if with_scores else out

    def winning_score(self, ev: Evaluation) -> np.ndarray:
        """(n,) float32 score of the best signature before thresholds, in the method's unit
        (the value a threshold is compared with); NaN for nodata (docs/classifiers.md, "Score rasters")."""
        _, best = argmin_rows(ev.rank, return_min=True)
        s = np.asarray(self._scores(Evaluation(best[None], ev.extra, ev.invalid, ev.nodata)), np.float32)[0]
        if ev.nodata is not None:
            s[ev.nodata] = np.nan
        return s

    def decide(self, evaluation: Evaluation, thresholds: Thresholds = None) -> np.ndarray:
        """Class ids from an earlier ``evaluate`` under (new) thresholds: cheap."""
        return self._decide(evaluation, self.threshold_array(thresholds))

    def scores(self, X: np.ndarray) -> np.ndarray:
        """(n, K) float32 per-class score in the method's own unit (see ``score_name``)."""
        return np.ascontiguousarray(self.scores_from(self.evaluate(X)).T)

    def scores_from(self, ev: Evaluation) -> np.ndarray:
        """(K, n) float32 scores from an evaluation (a class's best signature); NaN for nodata pixels."""
        if self.several_per_class:
            rank = np.stack([ev.rank[self.row_class == k].min(axis=0) for k in range(self.n_classes)])
            ev = Evaluation(rank, ev.extra, ev.invalid, ev.nodata)
        s = np.asarray(self._scores(ev), dtype=np.float32)
        if ev.nodata is not None:
            s = s.copy() if s is ev.rank else s
            s[:, ev.nodata] = np.nan
        return s

    def _scores(self, ev: Evaluation) -> np.ndarray:
        """(K, n) scores in the method's unit; subclasses convert their rank."""
        return ev.rank

    # -- thresholds -------------------------------------------------------
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
        if type(self)._rank_bound is Classifier._rank_bound:
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

    def describe(self) -> dict:
        return {"method": self.name, "options": dict(self.options), "warnings": list(self.warnings),
                "signatures": self.row_names}


def _finite_columns(Xt: np.ndarray) -> np.ndarray:
    """(n,) True where every band of a (bands, n) block is finite (whole-row passes, no strided reduction)."""
    finite = np.isfinite(Xt[0])
    for j in range(1, Xt.shape[0]):
        finite &= np.isfinite(Xt[j])
    return finite


def squared_bound(limits: np.ndarray) -> np.ndarray:
    """Rank bound of a distance threshold T when the rank is the squared distance: D > T <=> D² > T² (T >= 0)."""
    return np.where(np.isnan(limits), np.inf, limits ** 2).astype(np.float32)


def argmin_rows(a: np.ndarray, return_min: bool = False):
    """Index of the smallest row per column of a (K, n) array.

    K is small (classes), n large: K contiguous-row passes are far faster than
    ``a.argmin(axis=0)``, which walks each column with a stride. Ties go to
    the lower class index, as with ``argmin``.
    """
    K = a.shape[0]
    best = a[0].copy()
    idx = np.zeros(a.shape[1], np.uint8)
    for k in range(1, K):
        better = a[k] < best
        np.copyto(best, a[k], where=better)
        idx[better] = k
    return (idx, best) if return_min else idx


def _concat(parts: Sequence[Evaluation]) -> Evaluation:
    rank = np.concatenate([p.rank for p in parts], axis=1)
    extra = {key: np.concatenate([p.extra[key] for p in parts], axis=-1) for key in parts[0].extra}

    def flags(name):
        got = [getattr(p, name) for p in parts]
        if all(g is None for g in got):
            return None
        return np.concatenate([np.zeros(p.n, bool) if g is None else g for p, g in zip(parts, got)])

    return Evaluation(rank, extra, flags("invalid"), flags("nodata"))


def group_reduce(Y: np.ndarray, K: int, op=np.add) -> np.ndarray:
    """(K, n) reduction of a (K*b, n) or (K, b, n) array over each class's b rows.

    A loop over the b bands of whole (K, n) slices: far faster than
    ``reshape(K, b, n).sum(axis=1)``, which numpy reduces with a stride.
    """
    Y3 = Y.reshape(K, -1, Y.shape[-1])
    acc = Y3[:, 0].copy()
    for j in range(1, Y3.shape[1]):
        op(acc, Y3[:, j], out=acc)
    return acc
