"""Classifier vs refined vs fine-tuned on held-out polygons: OA, kappa, per-class IoU, and which is best.

The best result is the one with the highest overall accuracy (kappa breaks
ties). Any SAM result scoring below the classifier is flagged ``worse`` so
the user always sees when SAM made things worse (docs/sam.md).
"""
from __future__ import annotations

from typing import Optional

CLASSIFIER = "classifier"


def compare(results: dict, samples, role: Optional[str] = "auto") -> dict:
    """``results`` maps a label ('classifier', 'refined', 'fine-tuned') to a class raster path (or an
    (array, transform, crs, classes) tuple). Returns {"rows": [...], "best": label, "basis": ...}."""
    from ..accuracy import accuracy_against_polygons

    rows = []
    for label, value in results.items():
        if value is None:
            continue
        if isinstance(value, tuple):
            array, transform, crs, classes = value
            report = accuracy_against_polygons(array, transform=transform, crs=crs, classes=classes,
                                               samples=samples, role=role)
        else:
            report = accuracy_against_polygons(value, samples=samples, role=role)
        rows.append({"result": label, "overall_accuracy": report.to_dict()["overall_accuracy"],
                     "kappa": report.to_dict()["kappa"],
                     "iou": {p["name"]: p["iou"] for p in report.per_class()},
                     "reference_pixels": report.total, "worse": False})
    if not rows:
        return {"rows": [], "best": None}
    key = lambda r: (r["overall_accuracy"] or 0.0, r["kappa"] or 0.0)   # noqa: E731
    base = next((r for r in rows if r["result"] == CLASSIFIER), None)
    for r in rows:
        if base is not None and r is not base and key(r) < key(base):
            r["worse"] = True
    best = max(rows, key=key)["result"]
    return {"rows": rows, "best": best}
