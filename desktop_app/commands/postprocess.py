"""satseg postprocess CLASSES.tif --majority K --sieve-ha HA --out CLEAN.tif"""
from __future__ import annotations

from pathlib import Path

from ..core.errors import SatSegError
from .common import add_json_argument, print_json, print_warnings
from .export_options import add_export_arguments, print_exports, run_exports, wants_exports
from .progress import terminal_job

NAME = "postprocess"
HELP = "clean a class raster: majority filter and sieve by hectares"
DESCRIPTION = (
    "Clean a class raster into a new one: a K×K majority filter (K odd; nodata neither votes nor changes), "
    "then patches smaller than --sieve-ha hectares (true ground area) are merged into their largest "
    "neighbour (or made unclassified with --small drop). The export options (--vector, --kml, --report) "
    "are written from the cleaned raster, so the raster, the polygons and the area report describe the "
    "same map. Rules: docs/analysis.md."
)


def add_arguments(p) -> None:
    p.add_argument("classes", metavar="CLASSES.tif", help="class raster written by satseg classify")
    p.add_argument("--out", required=True, metavar="CLEAN.tif", help="cleaned class raster to write")
    p.add_argument("--majority", type=int, default=1, metavar="K", help="majority filter window, K×K pixels "
                   "(odd; default 1 = off)")
    p.add_argument("--sieve-ha", type=float, default=0.0, metavar="HA",
                   help="remove patches smaller than HA hectares (default 0 = off)")
    add_json_argument(p)
    add_export_arguments(p)


def run(args) -> int:
    from ..core.analysis.postprocess import postprocess_file

    out = Path(args.out)
    if out.resolve() == Path(args.classes).resolve():
        raise SatSegError("--out must not be the input raster")
    if not args.sieve_ha >= 0:
        raise SatSegError("--sieve-ha must not be negative")
    job = terminal_job(None if not args.json else False)
    steps = postprocess_file(args.classes, out, majority=args.majority, sieve_ha=args.sieve_ha, small=args.small,
                             job=job.sub(0, 0.7))
    result = {"path": str(out), **steps}
    exports = run_exports(args, out, job=job.sub(0.7, 1.0), rewrite_raster=True) \
        if wants_exports(args) or args.min_area > 1 else None
    if exports is not None:
        result["areas"] = exports["areas"].to_dict()
        result["exports"] = {"vector": exports["vector"] and str(exports["vector"]),
                             "kml": exports["kml"] and str(exports["kml"]),
                             "reports": [str(p) for p in exports["reports"]], "features": exports["features"]}
    if print_json(args, result):
        return 0
    print(f"{out}: majority {args.majority}×{args.majority}, sieve {steps['sieve_pixels']} px "
          f"({args.sieve_ha:g} ha), {steps['changed_pixels']} pixels changed")
    if exports is not None:
        print_warnings(exports["warnings"])
        print_exports(exports)
    return 0
