"""satseg sample-design CLASSES.tif --total N --out POINTS.geojson"""
from __future__ import annotations

from .common import add_json_argument, print_json

NAME = "sample-design"
HELP = "stratified random sample of validation points (strata = map classes)"
DESCRIPTION = (
    "Draw a stratified random sample of points from a class raster for accuracy and area estimation "
    "(Olofsson et al. 2014). Each map class is a stratum and gets min(--min-per-class, its pixels) points; "
    "the rest of --total is shared in proportion to mapped area. The GeoJSON (WGS84) records the allocation "
    "in 'satseg_sample_design'; each point has 'stratum' (the map class) and 'reference' (null until "
    "labelled). Label the points, then run: satseg accuracy CLASSES.tif POINTS.geojson. See docs/analysis.md."
)


def add_arguments(p) -> None:
    p.add_argument("classes", metavar="CLASSES.tif", help="class raster (the map to assess)")
    p.add_argument("--total", type=int, required=True, metavar="N", help="number of points")
    p.add_argument("--min-per-class", type=int, default=50, metavar="M", help="minimum points per class (default 50)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, metavar="POINTS.geojson", help="point file to write")
    add_json_argument(p, "print the allocation as one JSON object")


def run(args) -> int:
    from ..core.analysis.sample_design import DESIGN_KEY, design_sample, write_sample
    from ..core.atomic import check_writable
    from .progress import terminal_job

    check_writable(args.out)
    fc = design_sample(args.classes, args.total, args.min_per_class, args.seed,
                       job=terminal_job(None if not args.json else False))
    write_sample(fc, args.out)
    design = fc[DESIGN_KEY]
    if print_json(args, {"path": str(args.out), **design}):
        return 0
    print(f"{args.out}: {len(fc['features'])} points, seed {args.seed}")
    print(f"  {'stratum':<20} {'weight':>8} {'points':>7}")
    for a in design["allocation"]:
        print(f"  {a['stratum']:<20} {a['weight']:>8.4f} {a['points']:>7}")
    return 0
