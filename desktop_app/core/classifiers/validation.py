"""k-fold cross-validation of a classifier on its training polygons, grouped by polygon.

Pixels of one polygon are strongly alike; when some sit in the training fold
and their neighbours in the test fold, the score measures memory, not the
map. So folds are grouped by polygon (scikit-learn's ``GroupKFold``): no
polygon has pixels in both. ``by="pixel"`` gives the usual pixel-level folds,
only to show how much they overstate (docs/classifiers.md, "Cross-validation").
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import SatSegError
from ..jobs import Job, ensure_job

GROUPED_NOTE = ("folds grouped by polygon: no polygon has pixels in both a training and a test fold "
                "(pixel-level folds overstate accuracy)")
PIXEL_NOTE = "pixel-level folds: pixels of one polygon fall in both training and test folds, which overstates accuracy"


def fold_indices(training, k: int, by: str = "polygon", seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) pixel indices per fold."""
    if k < 2:
        raise SatSegError("cross-validation needs at least 2 folds")
    n = len(training.y)
    if by == "pixel":
        from sklearn.model_selection import StratifiedKFold

        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(n), training.y))
    if by != "polygon":
        raise SatSegError(f"unknown fold grouping '{by}' (use polygon or pixel)")
    if training.groups is None:
        raise SatSegError("polygon-grouped folds need to know each pixel's polygon")
    polygons = np.unique(training.groups)
    if len(polygons) < k:
        raise SatSegError(f"{k} folds need at least {k} training polygons; the samples have {len(polygons)}")
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(k).split(np.zeros(n), training.y, training.groups))


def cross_validate(training, method: str, options: Optional[dict] = None, k: int = 5, by: str = "polygon",
                   seed: int = 0, job: Optional[Job] = None) -> dict:
    """Out-of-fold overall accuracy and kappa (pooled over folds), and per-fold accuracy."""
    from ..accuracy import accuracy_from_arrays
    from ..samples import TrainingData
    from . import make_classifier

    job = ensure_job(job)
    make_classifier(method, **(options or {}))           # bad options fail before any work
    folds = fold_indices(training, k, by, seed)
    pred = np.zeros(len(training.y), np.uint8)
    per_fold, warnings = [], []
    for i, (tr, te) in enumerate(folds):
        job.step(i / len(folds), f"cross-validation fold {i + 1}/{len(folds)}")
        ytr = training.y[tr]
        present = [c for c in training.classes if (ytr == c.id).any()]
        missing = [c.name for c in training.classes if c not in present and (training.y[te] == c.id).any()]
        if missing:
            warnings.append(f"fold {i + 1}: class(es) {', '.join(missing)} have no training polygon left "
                            "(too few polygons); their test pixels count as errors")
        sub = TrainingData(training.X[tr], ytr, present, training.band_names,
                           {c.id: int((ytr == c.id).sum()) for c in present},
                           groups=None if training.groups is None else training.groups[tr],
                           group_labels=training.group_labels)
        clf = make_classifier(method, **(options or {})).fit(sub)
        pred[te] = clf.predict(training.X[te])
        test_polys = 0 if training.groups is None else len(np.unique(training.groups[te]))
        per_fold.append({"fold": i + 1, "test_pixels": int(len(te)), "test_polygons": test_polys,
                         "overall_accuracy": round(float(np.mean(pred[te] == training.y[te])), 6)})
    job.step(1.0, "cross-validation done")
    report = accuracy_from_arrays(pred, training.y.astype(np.uint8), training.classes)
    d = report.to_dict()
    return {
        "method": method, "folds": len(folds), "grouped_by": by,
        "note": GROUPED_NOTE if by == "polygon" else PIXEL_NOTE,
        "overall_accuracy": d["overall_accuracy"], "kappa": d["kappa"], "per_fold": per_fold,
        "classes": d["classes"], "confusion_matrix": d["confusion_matrix"],
        "unclassified_per_class": d["unclassified_per_class"], "warnings": warnings,
    }
