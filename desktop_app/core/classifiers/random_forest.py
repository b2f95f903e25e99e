"""Random forest (scikit-learn) with a probability threshold."""
from __future__ import annotations

import numpy as np

from .base import Classifier
from .evaluation import Evaluation


# Fully grown trees end in pure leaves, so the forest's probability is simply the share of
# trees voting for each class. Counting votes in 8-bit lanes of one uint64 per pixel (one
# gather and one add per tree) gives exactly scikit-learn's predict_proba at about twice its
# speed; trees are walked by scikit-learn's own ``apply`` on all cores.
_LANE_BITS = 8


def _vote_codes(model, n_classes: int):
    """Per tree (tree, uint64 code per node), or None when a leaf is impure or lanes would overflow."""
    trees = [e.tree_ for e in model.estimators_]
    if n_classes * _LANE_BITS > 64 or len(trees) >= 2 ** _LANE_BITS:
        return None
    out = []
    for t in trees:
        value = t.value[:, 0, :]
        leaves = t.children_left == -1
        if ((value[leaves] > 0).sum(axis=1) != 1).any():
            return None                      # a leaf holds several classes: use predict_proba
        cls = value.argmax(axis=1).astype(np.uint64)
        out.append((t, np.left_shift(np.uint64(1), cls * np.uint64(_LANE_BITS))))
    return out


def _vote_proba(codes, X: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, K) float32 vote shares of the trees in ``codes`` for float32 C-contiguous X."""
    from concurrent.futures import ThreadPoolExecutor

    from .pool import _workers

    def count(group):
        acc = np.zeros(len(X), np.uint64)
        for tree, code in group:
            acc += code[tree.apply(X)]       # apply releases the GIL: threads run in parallel
        return acc

    workers = min(_workers(), len(codes))
    with ThreadPoolExecutor(workers) as pool:
        acc = sum(pool.map(count, [codes[i::workers] for i in range(workers)]))
    P = np.empty((len(X), n_classes), np.float32)
    n = np.float32(len(codes))
    for k in range(n_classes):
        P[:, k] = ((acc >> np.uint64(k * _LANE_BITS)) & np.uint64(0xFF)).astype(np.float32) / n
    return P


class ProbabilityClassifier(Classifier):
    """Shared by methods whose score is a class probability: rank = −p."""

    score_name = "class probability (higher is more likely)"
    higher_score_is_better = True
    threshold_unit = "probability 0..1"
    threshold_range = (0.0, 1.0)
    # predict_proba has per-call overhead; bigger chunks amortize it (memory stays small: K floats per pixel).
    chunk = 262144
    parallel_chunks = False

    def _proba(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(X)

    def restore(self, model, classes, band_names) -> "ProbabilityClassifier":
        """A fitted classifier around a loaded scikit-learn ``model`` (see model_file.py)."""
        self.model = model
        self.classes = list(classes)
        self.class_ids = np.array([c.id for c in classes], np.uint8)
        self.band_names = list(band_names)
        self.row_class = np.arange(len(classes))
        self._after_fit()
        self._set_rows([c.name for c in classes])
        return self

    def _after_fit(self) -> None:
        """Derived state of a fitted or loaded model."""

    def _evaluate(self, Xt, full=True):
        X = np.ascontiguousarray(Xt.T, dtype=np.float32)
        p = self._proba(X)
        return Evaluation(np.ascontiguousarray(-p.T, dtype=np.float32))

    def _scores(self, ev):
        return -ev.rank

    def _rank_bound(self, limits):
        # p_k < t_k rejects  <=>  −p_k > −t_k; p equal to t is accepted.
        return np.where(np.isnan(limits), np.inf, -limits).astype(np.float32)

    def default_threshold(self, class_id):
        return 0.5


class RandomForestClassifier(ProbabilityClassifier):
    """Options (options.py): ``trees``, ``max_depth`` (None = grow fully), ``balanced``
    (weight classes inversely to their pixel counts), ``seed``."""

    name = "random_forest"
    label = "Random forest"
    threshold_help = (
        "Random forest: each pixel goes to the class with the highest share of tree votes "
        "(probability). Threshold t (0..1, e.g. 0.5): class k is rejected when its probability is "
        "below t_k; all rejected = unclassified (0). Larger t rejects more pixels. Off by default."
    )

    def _fit(self, X, index):
        from sklearn.ensemble import RandomForestClassifier as SkForest

        o = self.options
        self.model = SkForest(
            n_estimators=o["trees"], max_depth=o["max_depth"],
            class_weight="balanced" if o["balanced"] else None, n_jobs=-1, random_state=o["seed"],
        )
        self.model.fit(X, index)

    def _after_fit(self) -> None:
        self._vote_codes = _vote_codes(self.model, self.n_classes)

    def _proba(self, X):
        if self._vote_codes is None:
            return self.model.predict_proba(X)
        return _vote_proba(self._vote_codes, np.ascontiguousarray(X, dtype=np.float32), self.n_classes)
