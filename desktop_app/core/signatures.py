"""Spectral signatures of the training classes and how separable they are."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .classifiers.gaussian import regularize


@dataclass
class Signature:
    class_id: int
    name: str
    color: str
    band_names: list[str]
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    pixels: int

    def to_dict(self) -> dict:
        return {"class_id": self.class_id, "name": self.name, "color": self.color, "bands": list(self.band_names),
                "mean": self.mean.tolist(), "std": self.std.tolist(), "min": self.min.tolist(),
                "max": self.max.tolist(), "pixels": self.pixels}


def class_signatures(training) -> list[Signature]:
    """Per-class mean, std, min and max per band (reflectance) of a TrainingData."""
    out = []
    for c in training.classes:
        x = training.X[training.y == c.id].astype(np.float64)
        if len(x) == 0:
            continue
        out.append(Signature(c.id, c.name, c.color, list(training.band_names), x.mean(axis=0),
                             x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(x.shape[1]),
                             x.min(axis=0), x.max(axis=0), len(x)))
    return out


def mode_signatures(training, mode: str) -> list[Signature]:
    """Every signature of every class in ``mode`` (per-polygon, auto; see classifiers/signature_set.py),
    each in its class's colour and named like ``class/2``."""
    from .classifiers.signature_set import build_signatures

    present = [c for c in training.classes if (training.y == c.id).any()]
    sigs = build_signatures(training.X, training.y, present, list(training.band_names), mode,
                            training.groups, training.group_labels)
    color = {c.id: c.color for c in present}
    return [Signature(int(sigs.class_of[i]), sigs.names[i], color[int(sigs.class_of[i])], list(sigs.band_names),
                      sigs.means[i], np.sqrt(np.maximum(np.diagonal(sigs.covs[i]), 0)), sigs.mins[i], sigs.maxs[i],
                      int(sigs.counts[i]))
            for i in range(sigs.n)]


def jeffries_matusita(training) -> np.ndarray:
    """(K, K) Jeffries–Matusita distance between every pair of classes (0..2; 2 = fully separable).

    JM = 2 (1 − e^(−B)), B the Bhattacharyya distance between the classes'
    Gaussian models:
    B = ⅛ (m₁−m₂)ᵀ Σ⁻¹ (m₁−m₂) + ½ ln(|Σ| / sqrt(|Σ₁||Σ₂|)), Σ = (Σ₁+Σ₂)/2.
    Rows/columns follow ``training.classes``; singular covariances are
    regularized as in the classifiers.
    """
    classes = [c for c in training.classes if (training.y == c.id).any()]
    X = training.X.astype(np.float64)
    floor = max(float(np.mean(np.var(X, axis=0))) * 1e-6, 1e-12)
    means, covs = [], []
    for c in classes:
        x = X[training.y == c.id]
        cov = np.atleast_2d(np.cov(x, rowvar=False)) if len(x) > 1 else np.zeros((X.shape[1],) * 2)
        means.append(x.mean(axis=0))
        covs.append(regularize(cov, floor)[0])
    K = len(classes)
    jm = np.zeros((K, K))
    for i in range(K):
        for j in range(i + 1, K):
            cov = (covs[i] + covs[j]) / 2
            d = means[i] - means[j]
            _, ld = np.linalg.slogdet(cov)
            _, li = np.linalg.slogdet(covs[i])
            _, lj = np.linalg.slogdet(covs[j])
            b = d @ np.linalg.solve(cov, d) / 8 + 0.5 * (ld - 0.5 * (li + lj))
            jm[i, j] = jm[j, i] = 2 * (1 - np.exp(-b))
    return jm
