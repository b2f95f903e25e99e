"""What the Model panel shows for each classifier: label, options, threshold spin box.

The classifier classes in ``core.classifiers`` are the authority for the
label, the threshold rule text, unit and range, and ``core.classifiers.options``
for the options and their one default (shared with the CLI and the project
file); this module adds only what a form needs (sensible spin-box steps) and
the rule wording of docs/classifiers.md for a method whose class does not
describe itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..core.classifiers.options import Option, options_for as core_options_for  # noqa: F401 (Option re-exported)

UNCLASSIFIED_NOTE = "A pixel rejected by every class is left unclassified (0)."


@dataclass(frozen=True)
class MethodSpec:
    key: str
    label: str
    threshold_help: str
    threshold_unit: str
    threshold_min: float
    threshold_max: float
    threshold_default: float
    threshold_step: float
    threshold_decimals: int
    options: tuple = field(default_factory=tuple)


_FALLBACK = {
    "mahalanobis": MethodSpec(
        "mahalanobis", "Mahalanobis distance",
        "Mahalanobis distance: class k is rejected for a pixel when its distance D_k > T_k "
        "(a distance, not squared). Larger T accepts more pixels.",
        "Mahalanobis distance, in standard deviations", 0.0, 1000.0, 5.0, 0.1, 2),
    "max_likelihood": MethodSpec(
        "max_likelihood", "Maximum likelihood",
        "Maximum likelihood: class k is rejected when D_k² > χ²_bands(p_k), p_k being the confidence "
        "level. Larger p accepts more pixels.",
        "confidence level p, 0 < p < 1", 0.5, 0.999999, 0.99, 0.005, 6),
    "parallelepiped": MethodSpec(
        "parallelepiped", "Parallelepiped",
        "Parallelepiped: a pixel belongs to a class when it lies inside the class's box on every band; "
        "the box is [min, max] of the samples or mean ± k·σ. Overlaps go to the class with the smallest "
        "standardized distance.",
        "k, in standard deviations", 0.0, 100.0, 3.0, 0.1, 2),
    "random_forest": MethodSpec(
        "random_forest", "Random forest",
        "Random forest: a pixel is left unclassified when its highest class probability is below t.",
        "probability t, 0..1", 0.0, 1.0, 0.5, 0.05, 2),
    "min_distance": MethodSpec(
        "min_distance", "Minimum distance",
        "Minimum distance: class k is rejected when the Euclidean distance to its mean exceeds the maximum distance.",
        "distance in reflectance units", 0.0, 10.0, 0.1, 0.01, 3),
    "spectral_angle": MethodSpec(
        "spectral_angle", "Spectral angle",
        "Spectral angle: class k is rejected when the angle between the pixel and the class mean exceeds "
        "the maximum angle.",
        "angle in radians", 0.0, 3.14159, 0.1, 0.01, 3),
    "svm": MethodSpec(
        "svm", "SVM (RBF)",
        "SVM: class k is rejected when its probability is below t_k.",
        "probability t, 0..1", 0.0, 1.0, 0.5, 0.05, 2),
}

def method_specs() -> dict[str, MethodSpec]:
    """Specs in the order of ``core.classifiers.METHODS``; texts taken from the classifier classes."""
    try:
        from ..core.classifiers import METHODS
    except ImportError:
        return dict(_FALLBACK)
    specs = {}
    for key, cls in METHODS.items():
        base = _FALLBACK.get(key) or MethodSpec(key, key.replace("_", " "), "", "", 0.0, 1e6, 1.0, 0.1, 3)
        lo, hi = getattr(cls, "threshold_range", (base.threshold_min, base.threshold_max))
        lo = max(float(lo), base.threshold_min) if key in _FALLBACK else float(lo)
        hi = min(float(hi), base.threshold_max)
        specs[key] = MethodSpec(
            key, getattr(cls, "label", "") or base.label,
            getattr(cls, "threshold_help", "") or base.threshold_help,
            getattr(cls, "threshold_unit", "") or base.threshold_unit,
            lo, hi, min(max(base.threshold_default, lo), hi), base.threshold_step, base.threshold_decimals,
        )
    return specs


def options_for(key: str) -> tuple:
    """The form's options: the core's one option table, less CLI-only ones (the seed)."""
    return tuple(o for o in core_options_for(key) if o.in_form)


def default_threshold(spec: MethodSpec, n_bands: Optional[int]) -> float:
    """Starting value for a threshold spin box.

    For Mahalanobis distance it depends on the number of bands: the distance
    within which 99.9 % of a Gaussian class's own pixels fall, sqrt(χ²_n(0.999))
    (the same value ``MahalanobisClassifier.default_threshold`` suggests).
    """
    if spec.key == "mahalanobis" and n_bands:
        from scipy.special import chdtri   # chi2.ppf(q, n) == chdtri(n, 1 - q); far lighter than scipy.stats

        return round(float(chdtri(int(n_bands), 1 - 0.999)) ** 0.5, spec.threshold_decimals)
    return spec.threshold_default
