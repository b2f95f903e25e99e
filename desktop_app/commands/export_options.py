"""Export options shared by `satseg classify` and `satseg export`.

``add_export_arguments(parser)`` adds --vector/--kml/--report/--min-area/
--simplify/--kml-opacity/--per-patch/--small; ``run_exports(args, path)``
writes whatever was asked for from a class raster on disk and returns what
it wrote, so both commands behave the same.
"""
from __future__ import annotations

import argparse
from typing import Optional

from ..core.errors import SatSegError
from ..core.jobs import Job, ensure_job


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of pixels, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _opacity(text: str) -> float:
    value = _non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("exports")
    g.add_argument("--vector", metavar="OUT.geojson", help="class polygons as GeoJSON (WGS84, RFC 7946)")
    g.add_argument("--kml", metavar="OUT.kml", help="class polygons as KML (one folder per class)")
    g.add_argument("--report", metavar="OUT.csv", action="append", default=None,
                   help="area report: CSV, or JSON if the name ends in .json (may be given twice)")
    g.add_argument("--min-area", metavar="PIXELS", type=_non_negative_int, default=0,
                   help="patches smaller than this many pixels are merged into their largest neighbour "
                        "(or made unclassified with --small drop) in the vectors, the area report and the "
                        "class raster alike; default 0 = keep all")
    g.add_argument("--small", choices=("merge", "drop"), default="merge",
                   help="what --min-area does with small patches: merge into the largest neighbour, or drop "
                        "(unclassified) (default merge)")
    g.add_argument("--simplify", metavar="METRES", type=_non_negative_float, default=0.0,
                   help="vector output: simplification tolerance in ground metres (default 0 = exact pixel edges)")
    g.add_argument("--per-patch", action="store_true",
                   help="vector output: one feature per patch instead of one MultiPolygon per class")
    g.add_argument("--kml-opacity", metavar="0..1", type=_opacity, default=0.6,
                   help="fill opacity of KML polygons (default 0.6)")


def export_outputs(args) -> dict:
    """The files the export options ask for, by option name (for ``core.atomic.check_outputs``)."""
    outputs = {"--vector": getattr(args, "vector", None), "--kml": getattr(args, "kml", None)}
    for i, path in enumerate(getattr(args, "report", None) or []):
        outputs["--report" if i == 0 else f"--report ({i + 1})"] = path
    return outputs


def wants_exports(args) -> bool:
    return bool(getattr(args, "vector", None) or getattr(args, "kml", None) or getattr(args, "report", None))


def min_area_cleaning(args) -> bool:
    return int(getattr(args, "min_area", 0) or 0) > 1


def run_exports(args, class_raster_path, job: Optional[Job] = None, rewrite_raster: bool = False) -> dict:
    """Write the exports requested in ``args`` from the class raster at ``class_raster_path``.

    With ``--min-area`` the small patches are removed from the map once and
    the vectors, the area report and (``rewrite_raster=True``, for a raster
    this run created) the class raster itself all describe that cleaned map.

    Returns {"vector": path|None, "kml": path|None, "reports": [paths], "areas": AreaTable,
    "features": number of vector features, "warnings": [messages], "cleaned": array|None}.
    """
    # Imported here: the commands that take these options must start fast (issue 12).
    from ..core.areas import class_areas, class_areas_of_file
    from ..core.atomic import check_writable, staged_path
    from ..core.classes import read_class_raster, write_class_raster
    from ..core.export_vector import write_geojson, write_kml
    from ..core.report import write_area_report
    from ..core.vectorize import vectorize_classes

    job = ensure_job(job)
    result: dict = {"vector": None, "kml": None, "reports": [], "areas": None, "features": 0, "warnings": [],
                    "cleaned": None}
    # Fail on an unwritable destination before any long computation.
    for path in [getattr(args, "vector", None), getattr(args, "kml", None), *(getattr(args, "report", None) or [])]:
        if path:
            check_writable(path)
    wants_vectors = bool(getattr(args, "vector", None) or getattr(args, "kml", None))
    # A raster this run wrote may still wait under its temporary name (core.atomic.atomic_batch).
    source = staged_path(class_raster_path)
    if not wants_vectors and not min_area_cleaning(args):
        # Reports only: read the raster window by window so any size fits in memory.
        result["areas"] = table = class_areas_of_file(source, job=job)
    else:
        array, transform, crs, classes = read_class_raster(source)
        if crs is None:
            raise SatSegError(f"{class_raster_path} has no CRS; cannot compute areas or export polygons")
        if min_area_cleaning(args):
            from ..core.analysis.postprocess import sieve

            array = sieve(array, args.min_area, args.small)
            result["cleaned"] = array
            if rewrite_raster:
                write_class_raster(class_raster_path, array, transform, crs, classes,
                                   extra_tags=_tags_of(source, args))
        result["areas"] = table = class_areas(array, transform, crs, classes, job=job.sub(0.0, 0.2))
    for path in getattr(args, "report", None) or []:
        result["reports"].append(write_area_report(table, path))
    if wants_vectors:
        features = vectorize_classes(array, transform, crs, classes, min_area_px=0,
                                     simplify_m=args.simplify, per_patch=args.per_patch, small=args.small,
                                     job=job.sub(0.2, 0.6))
        result["features"] = len(features)
        if not features:
            result["warnings"].append(f"{class_raster_path} has no classified pixels: the polygon files are empty")
        if args.vector:
            result["vector"] = write_geojson(features, crs, args.vector, job=job.sub(0.6, 0.8))
        if args.kml:
            result["kml"] = write_kml(features, crs, args.kml, opacity=args.kml_opacity, job=job.sub(0.8, 1.0))
    job.step(1.0, "exports written")
    return result


def _tags_of(path, args) -> dict:
    """The raster's own SATSEG_* tags (method, indices ...) plus a record of the clean-up."""
    import json

    from ..core.geotiff import CLASSES_TAG
    from ..core.sources.geotiff_source import open_dataset

    with open_dataset(path) as ds:
        tags = {k: v for k, v in ds.tags().items() if k.startswith("SATSEG_") and k != CLASSES_TAG}
    tags["SATSEG_POSTPROCESS"] = json.dumps({"sieve_pixels": int(args.min_area), "small": args.small})
    return tags


def print_exports(result: dict) -> None:
    """One line per written file, for the terminal."""
    for key in ("vector", "kml"):
        if result.get(key):
            print(result[key])
    for path in result.get("reports", []):
        print(path)
