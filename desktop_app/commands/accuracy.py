"""satseg accuracy CLASSES.tif VALIDATION"""
from __future__ import annotations

import json
import sys

NAME = "accuracy"
HELP = "accuracy of a class raster against validation polygons or a truth class raster"
DESCRIPTION = (
    "Compare a class raster with reference data: validation polygons (GeoJSON/GeoPackage/Shapefile/KML; the "
    "'validation' role polygons when the file has them, else all) or a truth class raster (.tif). Classes are "
    "matched by name. Prints overall accuracy, Cohen's kappa, the confusion matrix (rows = reference, "
    "columns = predicted) and producer's/user's accuracy and F1 per class; unclassified pixels count as errors."
)


def add_arguments(p) -> None:
    p.add_argument("classes", metavar="CLASSES.tif", help="class raster written by satseg classify")
    p.add_argument("validation", metavar="VALIDATION", help="validation polygons or truth class raster")
    p.add_argument("--class-field", default="class", metavar="NAME", help="property holding the class name (default class)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from ..core.accuracy import accuracy_against

    report = accuracy_against(args.classes, args.validation, class_field=args.class_field)
    d = report.to_dict()
    if args.json:
        print(json.dumps(d))
        return 0
    for w in d["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    names = [c["name"] for c in d["classes"]]
    width = max(8, *(len(n) for n in names))
    print(f"overall accuracy {d['overall_accuracy']:.4f}   kappa {d['kappa']:.4f}   "
          f"reference pixels {d['reference_pixels']}   unclassified {100 * d['unclassified_share']:.2f} %")
    print("confusion matrix (rows = reference, columns = predicted):")
    print(" " * (width + 2) + " ".join(f"{n[:width]:>{width}}" for n in names) + f" {'unclass.':>{width}}")
    for n, row, u in zip(names, d["confusion_matrix"], d["unclassified_per_class"]):
        print(f"  {n:<{width}}" + " ".join(f"{v:>{width}}" for v in row) + f" {u:>{width}}")
    print(f"  {'class':<{width}} {'producer':>9} {'user':>9} {'F1':>9}")

    def f(v):
        return f"{v:9.4f}" if v is not None else f"{'-':>9}"

    for c in d["per_class"]:
        print(f"  {c['name']:<{width}} {f(c['producers_accuracy'])} {f(c['users_accuracy'])} {f(c['f1'])}")
    return 0
