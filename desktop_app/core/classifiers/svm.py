"""Support vector machine with an RBF kernel (scikit-learn SVC, Platt-scaled probabilities)."""
from __future__ import annotations

import numpy as np

from .random_forest import ProbabilityClassifier


class SvmClassifier(ProbabilityClassifier):
    """Options (options.py): ``C``, ``max_train_per_class``, ``seed``; gamma is scikit-learn's "scale".

    Kernel SVM training grows with the square of the sample count and
    prediction with the number of support vectors, so training uses at most
    ``max_train_per_class`` random pixels per class (a warning says when the
    cap applies). Bands are standardized first: the RBF kernel needs it.
    """

    name = "svm"
    label = "SVM (RBF)"
    chunk = 65536
    threshold_help = (
        "SVM (RBF kernel): each pixel goes to the class with the highest Platt-scaled probability. "
        "Threshold t (0..1): class k is rejected when its probability is below t_k; all rejected = "
        "unclassified (0). Off by default. Training uses at most 2000 pixels per class by default."
    )

    def _fit(self, X, index):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        cap = self.options["max_train_per_class"]
        rng = np.random.default_rng(self.options["seed"])
        keep = []
        for k in range(self.n_classes):
            idx = np.flatnonzero(index == k)
            if len(idx) > cap:
                self.warnings.append(
                    f"class '{self.classes[k].name}': SVM trained on a random {cap} of its {len(idx)} pixels"
                )
                idx = np.sort(rng.choice(idx, cap, replace=False))
            keep.append(idx)
        keep = np.concatenate(keep)
        self.model = make_pipeline(
            StandardScaler(),
            # Platt scaling fitted on the final SVM's decision values (sklearn's
            # replacement for the deprecated SVC(probability=True)).
            CalibratedClassifierCV(
                SVC(kernel="rbf", C=self.options["C"], gamma="scale", random_state=self.options["seed"]),
                method="sigmoid", ensemble=False,
            ),
        )
        self.model.fit(X[keep], index[keep])
