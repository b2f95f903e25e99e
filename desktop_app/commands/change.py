"""satseg change BEFORE.tif AFTER.tif --out CHANGE.tif [--report MATRIX.csv]"""
from __future__ import annotations

from .common import add_json_argument, print_json, print_warnings

NAME = "change"
HELP = "from–to change between two class rasters"
DESCRIPTION = (
    "Compare two class rasters: a from–to matrix in pixels, m² and ha, and a change raster with one id per "
    "from–to pair that occurs (named 'from → to', with a colour table). AFTER is resampled by nearest "
    "neighbour onto BEFORE's grid; classes are matched by name. See docs/analysis.md."
)


def add_arguments(p) -> None:
    p.add_argument("before", metavar="BEFORE.tif", help="class raster of the first date (its grid is used)")
    p.add_argument("after", metavar="AFTER.tif", help="class raster of the second date")
    p.add_argument("--out", required=True, metavar="CHANGE.tif", help="change raster to write")
    p.add_argument("--report", metavar="MATRIX.csv", help="from–to table as CSV (from,to,change_id,pixels,area_m2,area_ha)")
    add_json_argument(p)


def run(args) -> int:
    from pathlib import Path

    from ..core.analysis.change import change_file
    from ..core.errors import SatSegError
    from .progress import terminal_job

    if Path(args.out).resolve() in (Path(args.before).resolve(), Path(args.after).resolve()):
        raise SatSegError("--out must not be one of the input rasters")
    result = change_file(args.before, args.after, args.out, args.report,
                         job=terminal_job(None if not args.json else False))
    d = result.to_dict()
    if print_json(args, {"path": args.out, "report": args.report, **d}):
        return 0
    print_warnings(d["warnings"])
    names = d["classes"]
    width = max(8, *(len(n) for n in names))
    print(f"{args.out}: {d['changed_pixels']} of {d['compared_pixels']} pixels changed")
    print("from–to matrix, hectares (rows = before, columns = after):")
    print(" " * (width + 2) + " ".join(f"{n[:width]:>{width}}" for n in names))
    for n, row in zip(names, d["area_ha"]):
        print(f"  {n:<{width}}" + " ".join(f"{v:>{width}.2f}" for v in row))
    if args.report:
        print(args.report)
    return 0
