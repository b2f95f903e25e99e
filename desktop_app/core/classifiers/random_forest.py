"""Random forest (scikit-learn) with a probability threshold."""
from __future__ import annotations

import numpy as np

from ..errors import SatSegError
from .base import Classifier, Evaluation


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

    def _evaluate(self, Xt, full=True):
        X = np.ascontiguousarray(Xt.T, dtype=np.float32)
        p = self._proba(X)
        return Evaluation(np.ascontiguousarray(-p.T, dtype=np.float32))

    def scores_from(self, ev):
        return -ev.rank

    def _rejected(self, ev, limits):
        # p_k < t_k rejects  <=>  −p_k > −t_k; p equal to t is accepted.
        lim = np.where(np.isnan(limits), np.inf, -limits).astype(np.float32)[:, None]
        return ev.rank > lim

    def default_threshold(self, class_id):
        return 0.5


class RandomForestClassifier(ProbabilityClassifier):
    """Options: ``trees`` (100), ``max_depth`` (None = grow fully), ``balanced``
    (False; True weights classes inversely to their pixel counts), ``seed`` (0)."""

    name = "random_forest"
    label = "Random forest"
    threshold_help = (
        "Random forest: each pixel goes to the class with the highest share of tree votes "
        "(probability). Threshold t (0..1, e.g. 0.5): class k is rejected when its probability is "
        "below t_k; all rejected = unclassified (0). Larger t rejects more pixels. Off by default."
    )

    def _fit(self, X, index):
        from sklearn.ensemble import RandomForestClassifier as SkForest

        trees = int(self.options.get("trees", 100))
        depth = self.options.get("max_depth")
        if trees < 1:
            raise SatSegError("the random forest needs at least one tree")
        if depth is not None and int(depth) < 1:
            raise SatSegError("the random forest max depth must be at least 1")
        self.model = SkForest(
            n_estimators=trees, max_depth=None if depth is None else int(depth),
            class_weight="balanced" if self.options.get("balanced") else None,
            n_jobs=-1, random_state=int(self.options.get("seed", 0)),
        )
        self.model.fit(X, index)

    @property
    def feature_importances(self) -> dict[str, float]:
        return dict(zip(self.band_names, map(float, self.model.feature_importances_)))
