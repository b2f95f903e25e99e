"""satseg accuracy CLASSES.tif VALIDATION"""
from __future__ import annotations

from .common import add_json_argument, print_json, print_warnings

NAME = "accuracy"
HELP = "accuracy (and error-adjusted areas) of a class raster against sample points, polygons or a truth raster"
DESCRIPTION = (
    "Compare a class raster with reference data. Given labelled points from a stratified design "
    "(satseg sample-design; GeoJSON points with 'reference' labels) it reports, after Olofsson et al. (2014), "
    "the error-adjusted area of every class with its 95 % confidence interval, user's and producer's "
    "accuracy with standard errors, overall accuracy with its standard error and the area-weighted error "
    "matrix. Given validation polygons (GeoJSON/GeoPackage/Shapefile/KML; the 'validation' role polygons "
    "when the file has them, else all) or a truth class raster (.tif) it prints overall accuracy, Cohen's "
    "kappa, the confusion matrix (rows = reference, columns = predicted) and producer's/user's accuracy and "
    "F1 per class; unclassified pixels count as errors. Polygons are not a probability sample, so no area "
    "estimate is made from them. Classes are matched by name."
)

POLYGON_NOTE = ("polygons are not a probability sample: these figures describe the validation polygons, not the "
                "whole map, and give no area estimate; for areas with confidence intervals use "
                "satseg sample-design and labelled points")


def add_arguments(p) -> None:
    p.add_argument("classes", metavar="CLASSES.tif", help="class raster written by satseg classify")
    p.add_argument("validation", metavar="VALIDATION",
                   help="labelled sample points (GeoJSON), validation polygons or truth class raster")
    p.add_argument("--class-field", default="class", metavar="NAME", help="property holding the class name "
                   "(default class; for points: reference)")
    add_json_argument(p)


def run(args) -> int:
    from ..core.analysis.area_estimate import is_point_file

    if is_point_file(args.validation):
        return _run_points(args)
    from ..core.accuracy import RASTER_SUFFIXES, accuracy_against

    report = accuracy_against(args.classes, args.validation, class_field=args.class_field)
    d = report.to_dict()
    from pathlib import Path

    if Path(args.validation).suffix.lower() not in RASTER_SUFFIXES:
        d["note"] = POLYGON_NOTE
    if print_json(args, d):
        return 0
    print_warnings(d["warnings"])
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
    if "note" in d:
        print(f"note: {d['note']}")
    return 0


def _run_points(args) -> int:
    from ..core.analysis.area_estimate import estimate_from_points

    field = "reference" if args.class_field == "class" else args.class_field
    d = estimate_from_points(args.classes, args.validation, reference_field=field).to_dict()
    if print_json(args, d):
        return 0
    print_warnings(d["warnings"])
    print(f"{d['sample_points']} labelled points; overall accuracy {d['overall_accuracy']:.4f} "
          f"± {1.96 * d['overall_accuracy_se']:.4f} (95 % CI)")
    width = max(8, *(len(n) for n in d["classes"]))

    def pm(v, se):
        return f"{'-':>15}" if v is None else f"{v:7.3f} ± {1.96 * (se or 0):5.3f}"

    print(f"  {'class':<{width}} {'user’s':>15} {'producer’s':>15} {'mapped ha':>12} {'estimated ha (95 % CI)':>26}")
    for name, e in d["area_estimate"].items():
        print(f"  {name:<{width}} {pm(e['users_accuracy'], e['users_accuracy_se'])} "
              f"{pm(e['producers_accuracy'], e['producers_accuracy_se'])} {e['mapped_area_m2'] / 1e4:>12.2f} "
              f"{e['area_m2'] / 1e4:>14.2f} ± {e['ci95_m2'] / 1e4:<9.2f}")
    print("area-weighted error matrix (rows = map, columns = reference):")
    for name, row in zip(d["classes"], d["area_weighted_matrix"]):
        print(f"  {name:<{width}}" + " ".join(f"{v:8.4f}" for v in row))
    return 0
