"""What every pixel classifier offers: fitting, evaluation and prediction.

A classifier is fitted once on training pixels and then predicts blocks of
pixels. Prediction is split in two so the desktop app can move a threshold
slider without recomputing anything expensive:

* ``evaluate(X)`` does the arithmetic (distances, likelihoods, probabilities)
  and returns an :class:`Evaluation`;
* ``decide(evaluation, thresholds)`` turns it into class ids: the best class
  among those *not rejected* by their own threshold, 0 (unclassified) when
  every class is rejected (``thresholds.py``, the one place thresholds are
  applied).

Every method stores a *rank* per class (lower is better) and, where its
threshold is not a plain bound on the rank, the statistic the threshold is
compared with. Internally pixels are laid out as (bands, n) so that the
per-class arrays are (K, n) with contiguous rows: the hot loops are then
BLAS matrix products and whole-row numpy operations, never Python per pixel.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..classes import ClassInfo
from ..errors import SatSegError
from .chunks import CHUNK, evaluate_chunks, predict_chunks
from .evaluation import Evaluation
from .rows import argmin_rows, finite_columns
from .thresholds import ThresholdRules, Thresholds


class Classifier(ThresholdRules, ABC):
    """Base class; subclasses implement ``_fit``, ``_evaluate`` and the threshold rule.

    Fitting and evaluation live here; thresholds and the decide rule come from
    :class:`ThresholdRules` (thresholds.py), the chunk-by-chunk driving from chunks.py.
    """

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
        return evaluate_chunks(self, X.T)

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
            finite = finite_columns(Xt)
            if not finite.all():
                ev.nodata = ~finite
            return ev
        finite = finite_columns(Xt)
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
        return predict_chunks(self, Xt, self.threshold_array(thresholds), with_scores)

    def winning_score(self, ev: Evaluation) -> np.ndarray:
        """(n,) float32 score of the best signature before thresholds, in the method's unit
        (the value a threshold is compared with); NaN for nodata (docs/classifiers.md, "Score rasters")."""
        _, best = argmin_rows(ev.rank, return_min=True)
        s = np.asarray(self._scores(Evaluation(best[None], ev.extra, ev.invalid, ev.nodata)), np.float32)[0]
        if ev.nodata is not None:
            s[ev.nodata] = np.nan
        return s

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

    def describe(self) -> dict:
        return {"method": self.name, "options": dict(self.options), "warnings": list(self.warnings),
                "signatures": self.row_names}

