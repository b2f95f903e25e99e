"""Pixel classifiers behind one interface (see ``base.Classifier``).

``make_classifier("mahalanobis")`` gives an unfitted classifier; ``fit`` it on
``samples.collect_training(...)`` and ``predict`` blocks of pixels. Threshold
rules (docs/classifiers.md) live with each method and are described by its
``threshold_help``.
"""
from __future__ import annotations

from ..errors import SatSegError
from .base import Classifier
from .evaluation import Evaluation
from .mahalanobis import MahalanobisClassifier
from .max_likelihood import MaxLikelihoodClassifier
from .min_distance import MinDistanceClassifier
from .parallelepiped import ParallelepipedClassifier
from .random_forest import RandomForestClassifier
from .rows import argmin_rows
from .spectral_angle import SpectralAngleClassifier
from .svm import SvmClassifier
from .thresholds import Thresholds

METHODS: dict[str, type] = {
    "mahalanobis": MahalanobisClassifier,
    "max_likelihood": MaxLikelihoodClassifier,
    "parallelepiped": ParallelepipedClassifier,
    "random_forest": RandomForestClassifier,
    "min_distance": MinDistanceClassifier,
    "spectral_angle": SpectralAngleClassifier,
    "svm": SvmClassifier,
}
DEFAULT_METHOD = "mahalanobis"


def make_classifier(method: str = DEFAULT_METHOD, **options) -> Classifier:
    """An unfitted classifier for ``method`` (a key of METHODS) with method options."""
    try:
        cls = METHODS[method]
    except KeyError:
        raise SatSegError(f"unknown classification method '{method}'; choose one of {', '.join(METHODS)}") from None
    return cls(**options)


__all__ = [
    "METHODS", "DEFAULT_METHOD", "make_classifier", "Classifier", "Evaluation", "Thresholds", "argmin_rows",
    "MahalanobisClassifier", "MaxLikelihoodClassifier", "ParallelepipedClassifier", "RandomForestClassifier",
    "MinDistanceClassifier", "SpectralAngleClassifier", "SvmClassifier",
]
