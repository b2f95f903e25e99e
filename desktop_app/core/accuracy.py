"""Accuracy of a class raster against reference data (validation polygons or a truth raster).

Reference pixels are those with a known class; the classifier's nodata (255)
is left out (it was never classified), while unclassified (0) counts as an
error for the reference class, so rejecting pixels with thresholds costs
producer's accuracy and shows up as ``unclassified_share``.

Confusion matrix: rows = reference class, columns = predicted class, in the
order of ``classes``; a separate column counts pixels left unclassified.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .classes import NODATA, UNCLASSIFIED, ClassInfo, normalize_color, read_class_raster
from .errors import SatSegError

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2")


@dataclass
class AccuracyReport:
    classes: list[ClassInfo]
    matrix: np.ndarray                # (K, K) int: [reference, predicted]
    unclassified: np.ndarray          # (K,) int: reference pixels predicted 0
    excluded_nodata: int = 0          # reference pixels on classifier nodata (not counted)
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return int(self.matrix.sum() + self.unclassified.sum())

    @property
    def overall_accuracy(self) -> float:
        return float(np.trace(self.matrix) / self.total) if self.total else float("nan")

    @property
    def kappa(self) -> float:
        """Cohen's kappa, with 'unclassified' as an extra predicted category."""
        n = self.total
        if not n:
            return float("nan")
        rows = (self.matrix.sum(axis=1) + self.unclassified) / n
        cols = self.matrix.sum(axis=0) / n
        pe = float(rows @ cols)
        po = self.overall_accuracy
        return float((po - pe) / (1 - pe)) if pe < 1 else (1.0 if po == 1 else 0.0)

    @property
    def unclassified_share(self) -> float:
        return float(self.unclassified.sum() / self.total) if self.total else float("nan")

    def per_class(self) -> list[dict]:
        out = []
        diag = np.diag(self.matrix)
        ref = self.matrix.sum(axis=1) + self.unclassified
        pred = self.matrix.sum(axis=0)
        for k, c in enumerate(self.classes):
            pa = diag[k] / ref[k] if ref[k] else None
            ua = diag[k] / pred[k] if pred[k] else None
            f1 = 2 * pa * ua / (pa + ua) if pa is not None and ua is not None and (pa + ua) > 0 else (
                0.0 if pa is not None and ua is not None else None)
            union = ref[k] + pred[k] - diag[k]
            iou = diag[k] / union if union else None   # intersection over union (Jaccard) of the class
            out.append({
                "id": c.id, "name": c.name, "color": c.color,
                "reference_pixels": int(ref[k]), "predicted_pixels": int(pred[k]),
                "producers_accuracy": _r(pa), "users_accuracy": _r(ua), "f1": _r(f1), "iou": _r(iou),
                "unclassified": int(self.unclassified[k]),
            })
        return out

    def to_dict(self) -> dict:
        return {
            "overall_accuracy": _r(self.overall_accuracy), "kappa": _r(self.kappa),
            "classes": [c.to_dict() for c in self.classes],
            "confusion_matrix": self.matrix.astype(int).tolist(),
            "confusion_matrix_axes": "rows = reference class, columns = predicted class (order of 'classes')",
            "unclassified_per_class": self.unclassified.astype(int).tolist(),
            "per_class": self.per_class(), "unclassified_share": _r(self.unclassified_share),
            "reference_pixels": self.total, "excluded_nodata": int(self.excluded_nodata),
            "warnings": list(self.warnings),
        }


def _r(v) -> Optional[float]:
    return None if v is None or not np.isfinite(v) else round(float(v), 6)


def _label_space(pred_classes: Sequence[ClassInfo], truth_classes: Optional[Sequence[ClassInfo]]):
    """Classes of the report and a lookup truth id -> report index (by name when both sides have names)."""
    classes = list(pred_classes)
    if truth_classes is None:
        return classes, {c.id: k for k, c in enumerate(classes)}
    by_name = {c.name: k for k, c in enumerate(classes)}
    if not any(t.name in by_name for t in truth_classes):
        if all(t.name == f"class {t.id}" for t in truth_classes):
            # A truth raster without class names: its ids are taken as the classification's ids.
            return classes, {c.id: k for k, c in enumerate(classes)}
        raise SatSegError(
            f"none of the reference classes ({', '.join(t.name for t in truth_classes)}) is a class of the "
            f"classification ({', '.join(c.name for c in classes)}); check --class-field")
    lookup = {}
    for t in truth_classes:
        if t.name not in by_name:
            # A reference class the classification does not have: its pixels can only be errors.
            classes.append(ClassInfo(1000 + len(classes), t.name, normalize_color(t.color, len(classes))))
            by_name[t.name] = len(classes) - 1
        lookup[t.id] = by_name[t.name]
    return classes, lookup


def accuracy_from_arrays(pred: np.ndarray, truth: np.ndarray, classes: Sequence[ClassInfo],
                         truth_classes: Optional[Sequence[ClassInfo]] = None) -> AccuracyReport:
    """Accuracy of ``pred`` (uint8 class raster) against ``truth`` (uint8; 0 and 255 = no reference).

    Without ``truth_classes`` truth ids are the prediction's ids; with them,
    classes are matched by name.
    """
    pred = np.asarray(pred)
    truth = np.asarray(truth)
    if pred.shape != truth.shape:
        raise SatSegError(f"classification {pred.shape} and reference {truth.shape} differ in size")
    report_classes, lookup = _label_space(classes, truth_classes)
    K = len(report_classes)
    warnings = []
    has_ref = (truth != UNCLASSIFIED) & (truth != NODATA)
    unknown = np.setdiff1d(np.unique(truth[has_ref]), list(lookup))
    if len(unknown):
        raise SatSegError(f"the reference has class id(s) {', '.join(map(str, unknown))} that the "
                          f"classification does not know (classes: {', '.join(c.name for c in classes)})")
    on_nodata = has_ref & (pred == NODATA)
    use = has_ref & ~on_nodata
    if not use.any():
        raise SatSegError("no reference pixel falls on a classified pixel: the reference does not overlap "
                          "the classification")
    ref_map = np.zeros(256, np.int64)
    for tid, k in lookup.items():
        ref_map[tid] = k
    pred_map = np.full(256, K, np.int64)        # K = unclassified (or an id the report lacks)
    for k, c in enumerate(report_classes[:len(classes)]):
        pred_map[c.id] = k
    r = ref_map[truth[use]]
    p = pred_map[pred[use]]
    stray = (p == K) & (pred[use] != UNCLASSIFIED)
    if stray.any():
        warnings.append(f"{int(stray.sum())} pixel(s) carry class ids the class list does not name; "
                        "counted as unclassified")
    m = np.bincount(r * (K + 1) + p, minlength=K * (K + 1)).reshape(K, K + 1)
    return AccuracyReport(report_classes, m[:, :K], m[:, K], int(on_nodata.sum()), warnings)


def _load_classes(classified, transform=None, crs=None, classes=None):
    if isinstance(classified, (str, Path)):
        return read_class_raster(classified)
    if transform is None or crs is None or classes is None:
        raise SatSegError("an in-memory classification needs its transform, crs and classes")
    return np.asarray(classified), transform, crs, list(classes)


class PolygonReference:
    """Reference polygons rasterized on one grid, kept until the grid or the polygons change.

    A threshold change alters only the prediction: with this cache it re-counts the reference
    pixels and rasterizes nothing (docs/performance.md). Polygons are compared by class, role and
    geometry, so a new but equal SampleSet (the window builds one per run) still hits. One entry;
    safe to share between worker threads.
    """

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._key = None
        self._pixels = (np.zeros(0, np.intp), np.zeros(0, np.uint8))

    def pixels(self, samples, shape, transform, crs, role: Optional[str]) -> tuple[np.ndarray, np.ndarray]:
        """(flat indices of the reference pixels, their class ids) on the grid."""
        from .samples import rasterize_samples

        polys = samples.with_role(role)
        key = (tuple(shape), tuple(transform), crs.to_wkt(), role,
               tuple((c.id, c.name) for c in samples.classes),
               tuple((p.class_name, p.geometry.wkb) for p in polys))
        with self._lock:
            if key != self._key:
                truth = rasterize_samples(samples, tuple(shape), transform, crs, role=role).ravel()
                idx = np.flatnonzero((truth != UNCLASSIFIED) & (truth != NODATA))
                self._key, self._pixels = key, (idx, truth[idx])
            return self._pixels


def accuracy_against_polygons(classified, *grid_and_samples, samples=None, transform=None, crs=None, classes=None,
                              role: Optional[str] = "auto",
                              reference: Optional[PolygonReference] = None) -> AccuracyReport:
    """Accuracy against polygons (a SampleSet).

    ``classified`` is a class-raster path or a uint8 array; an array also needs
    its transform, crs and classes. These and the SampleSet may be passed by
    keyword or positionally in any order (they are told apart by type), e.g.
    ``accuracy_against_polygons(array, transform, crs, samples, classes)``.
    ``role="auto"`` uses the validation polygons if the set has any, else all
    polygons. Classes are matched by name. ``reference`` keeps the rasterized polygons between
    calls on the same grid (a threshold change re-counts only).
    """
    from affine import Affine
    from rasterio.crs import CRS

    from .samples import SampleSet

    for arg in grid_and_samples:
        if isinstance(arg, SampleSet):
            samples = arg
        elif isinstance(arg, Affine):
            transform = arg
        elif isinstance(arg, CRS):
            crs = arg
        elif isinstance(arg, (list, tuple)):
            classes = arg
        else:
            raise TypeError(f"unexpected argument {arg!r}")
    if samples is None:
        raise SatSegError("no reference polygons given")
    pred, transform, crs, pred_classes = _load_classes(classified, transform, crs, classes)
    if role == "auto":
        role = "validation" if samples.with_role("validation") else None
    if not samples.with_role(role):
        raise SatSegError(f"the reference contains no {role} polygons")
    idx, truth = (reference or PolygonReference()).pixels(samples, pred.shape, transform, crs, role)
    if not len(idx):
        raise SatSegError("none of the reference polygons covers a pixel of the classification "
                          "(outside the image, or smaller than a pixel)")
    names = {c.name for c in pred_classes}
    missing = [c.name for c in samples.classes if c.name not in names and samples.with_role(role)
               and any(p.class_name == c.name for p in samples.with_role(role))]
    report = accuracy_from_arrays(np.take(pred, idx), truth, pred_classes, samples.classes)   # reference pixels only
    if missing:
        report.warnings.append(f"reference class(es) {', '.join(missing)} are not in the classification; "
                               "their pixels count as errors")
    return report


def accuracy_against_raster(classified, truth_path, transform=None, crs=None, classes=None) -> AccuracyReport:
    """Accuracy against a truth class raster (reprojected by nearest neighbour if its grid differs)."""
    from rasterio.warp import Resampling, reproject

    pred, transform, crs, pred_classes = _load_classes(classified, transform, crs, classes)
    truth, t_transform, t_crs, t_classes = read_class_raster(truth_path)
    if truth.shape != pred.shape or t_transform != transform or t_crs != crs:
        warped = np.zeros(pred.shape, np.uint8)
        reproject(truth, warped, src_transform=t_transform, src_crs=t_crs, src_nodata=NODATA,
                  dst_transform=transform, dst_crs=crs, dst_nodata=NODATA, resampling=Resampling.nearest)
        truth = warped
    return accuracy_from_arrays(pred, truth, pred_classes, t_classes)


def accuracy_against(classified, reference, class_field: str = "class", **grid) -> AccuracyReport:
    """Accuracy against a reference file: a class raster (.tif...) or polygons (GeoJSON/GPKG/SHP/KML)."""
    from .samples import read_samples

    ref = Path(reference)
    if ref.suffix.lower() in RASTER_SUFFIXES:
        return accuracy_against_raster(classified, ref, **grid)
    return accuracy_against_polygons(classified, read_samples(ref, class_field), **grid)
