"""satseg export CLASSES.tif [--vector OUT.geojson] [--kml OUT.kml] [--report OUT.csv] ..."""
from __future__ import annotations

from ..core.areas import class_areas_of_file
from ..core.atomic import atomic_batch, check_outputs
from ..core.classes import read_class_raster
from ..core.errors import cli_text
from ..core.export_raster import export_class_geotiff
from ..core.report import format_area_table
from .export_options import add_export_arguments, min_area_cleaning, export_outputs, print_exports, run_exports, wants_exports
from .progress import terminal_job

NAME = "export"
HELP = "export a class raster: polygons (GeoJSON, KML), area report (CSV, JSON), class GeoTIFF"
DESCRIPTION = (
    "Export an existing SatSeg class raster. Areas are true ground areas on the ellipsoid, in m², ha "
    "and km², with each class's share of the classified area; polygons are written in WGS84 with their "
    "geodesic areas. Without any output option the area table is printed."
)


def add_arguments(p) -> None:
    p.add_argument("classes", metavar="CLASSES.tif", help="class raster (uint8, 0 unclassified, 255 nodata)")
    add_export_arguments(p)
    p.add_argument("--geotiff", metavar="OUT.tif",
                   help="rewrite the class map as a tiled, compressed GeoTIFF with colour table and class names")


def run(args) -> int:
    job = terminal_job()
    if not wants_exports(args) and not args.geotiff and not min_area_cleaning(args):
        print(format_area_table(class_areas_of_file(args.classes, job=job)))
        return 0
    check_outputs({"--geotiff": args.geotiff, **export_outputs(args)}, inputs=[args.classes])
    with atomic_batch():   # every output, or none of them
        result = run_exports(args, args.classes, job=job) if wants_exports(args) or min_area_cleaning(args) else None
        if args.geotiff:
            array, transform, crs, classes = read_class_raster(args.classes)
            if result is not None and result["cleaned"] is not None:
                array = result["cleaned"]   # the same cleaned map as the vectors and the report
            export_class_geotiff(args.geotiff, array, transform, crs, classes)
    if args.geotiff:
        print(args.geotiff)
    if result is not None and not wants_exports(args) and not args.geotiff:
        print(format_area_table(result["areas"]))   # the area table of the cleaned map
    if result is not None:
        print_exports(result)
        for warning in result["areas"].warnings + result["warnings"]:
            print(f"warning: {cli_text(warning)}")
    return 0
