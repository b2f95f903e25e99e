"""satseg classify-ee --roi ROI --start --end SAMPLES --method M --out CLASSES.tif"""
from __future__ import annotations

import sys

from ..core.atomic import check_outputs
from ..core.errors import SatSegError
from .common import add_json_argument, print_json
from .method_options import add_method_arguments, method_options
from .progress import terminal_job

NAME = "classify-ee"
HELP = "train and classify on Earth Engine's servers; fetch the uint8 class raster"
DESCRIPTION = (
    "Train on the sample polygons and classify the Sentinel-2 composite of the ROI inside Google Earth Engine "
    "(the same composite as 'satseg fetch --source earthengine'), then fetch the class raster by tiles, one byte "
    "per pixel. Methods: random_forest (ee.Classifier.smileRandomForest), mahalanobis "
    "(ee.Classifier.minimumDistance; with a threshold: band maths), max_likelihood and parallelepiped (per-class "
    "reduceRegion statistics and band maths). Class ids, colours, SATSEG_CLASSES and --threshold mean what they "
    "mean in 'satseg classify'; differences are listed in the README (Scale-out) and docs/scale.md."
)


def add_arguments(p) -> None:
    from ..core.online.fetch import COMPOSITES, SCALES

    p.add_argument("samples", metavar="SAMPLES", help="sample polygons (GeoJSON, GeoPackage, Shapefile, KML)")
    p.add_argument("--roi", required=True, metavar="ROI.geojson", help="GeoJSON polygon(s) in lon/lat")
    p.add_argument("--start", metavar="DATE", help="first day, YYYY-MM-DD (default: start of last full month)")
    p.add_argument("--end", metavar="DATE", help="last day, inclusive (default: end of last full month)")
    p.add_argument("--out", required=True, metavar="CLASSES.tif", help="class raster to write")
    p.add_argument("--bands", metavar="LIST", default="B2,B3,B4,B8,B11,B12", help="bands (default %(default)s)")
    p.add_argument("--scale", type=int, choices=SCALES, default=10, metavar="M", help="pixel size in metres")
    p.add_argument("--composite", choices=COMPOSITES, default="median", help="as satseg fetch")
    p.add_argument("--max-cloud", type=float, default=60.0, metavar="PCT", help="as satseg fetch")
    p.add_argument("--class-field", default="class", metavar="NAME", help="property holding the class name")
    p.add_argument("--threshold", action="append", metavar="VALUE|CLASS=VALUE", help="as satseg classify")
    p.add_argument("--cache-dir", metavar="DIR", help="tile cache folder (default: satseg fetch's)")
    p.add_argument("--workers", type=int, default=4, metavar="N", help="parallel requests (default 4)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds one request may stay silent")
    p.add_argument("--ee-project", metavar="ID", help="Google Cloud project registered for Earth Engine")
    p.add_argument("--ee-url", metavar="URL", help="advanced: alternative Earth Engine endpoint")
    p.add_argument("--ee-key", metavar="FILE", help="service-account JSON key instead of the stored sign-in")
    p.add_argument("--export", metavar="gs://BUCKET/PREFIX|drive:FOLDER/PREFIX",
                   help="big ROIs: start an Earth Engine export (Cloud-Optimized GeoTIFF, explicit maxPixels) "
                        "instead of fetching tiles; follow it with satseg ee-tasks")
    add_json_argument(p)
    add_method_arguments(p)


def run(args) -> int:
    from ..core.online.fetch import FetchRequest, default_cache_dir
    from ..core.raster import parse_band_option
    from ..core.samples import read_samples
    from ..core.scale.ee_run import classify_on_ee, parse_ee_thresholds
    from .fetch import ctrl_c_cancels

    check_outputs({"--out": args.out}, inputs=[args.samples, args.roi])
    samples = read_samples(args.samples, args.class_field)
    if not samples.classes:
        raise SatSegError(f"{args.samples} has no training polygons")
    request = FetchRequest(source="earthengine", roi=args.roi, start=args.start, end=args.end,
                           bands=parse_band_option(args.bands), scale=args.scale, composite=args.composite,
                           max_cloud=args.max_cloud, workers=args.workers, timeout=args.timeout,
                           ee_project=args.ee_project, ee_key_file=args.ee_key, ee_url=args.ee_url)
    job = terminal_job(None if not args.json else False)
    with ctrl_c_cancels(job):
        result = classify_on_ee(request, samples, args.method, args.out,
                                thresholds=parse_ee_thresholds(args.threshold, samples.classes),
                                options=method_options(args), cache_dir=args.cache_dir or default_cache_dir(), job=job,
                                export=args.export)
    if print_json(args, result):
        return 0
    if "task" in result:
        print(f"Earth Engine export {result['task']} started to {result['export']}; "
              f"'satseg ee-tasks download {result['task']}' writes {result['out']} when it is done")
        return 0
    print(f"{result['path']}: {args.method} on Earth Engine, {len(result['scenes'])} scenes, "
          f"{result['width']} x {result['height']} px")
    for c in result["classes"]:
        print(f"  {c['id']:>3} {c['name']:<16} {c['pixels']:>11}")
    print(f"  unclassified {result['unclassified']} px, nodata {result['nodata']} px, {result['seconds']:.2f} s",
          file=sys.stdout)
    return 0
